"""The stages' writes outside transactions, and what happens when Kafka does not take them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from streams.connection import KafkaConnection
from streams.faust_fixes import exit_for_redelivery
from streams.pipeline.writes import RecordBatches, Where, Write, acknowledged

# A batch whose writes Kafka has not acknowledged by then is given up: the worker exits
# without commit and, restarted, is delivered the batch again. The producer's own send
# futures can hang for minutes after the broker was killed and came back.
WRITE_TIMEOUT = 60.0

T = TypeVar("T")


class Writer:
    """One idempotent producer, started with the stages (aiokafka needs a running loop)."""

    def __init__(self, connection: KafkaConnection) -> None:
        self.connection = connection
        self._batches: RecordBatches | None = None

    async def start(self) -> None:
        self._batches = await RecordBatches.started(self.connection, enable_idempotence=True)

    @property
    def started(self) -> bool:
        return self._batches is not None

    async def write(self, writes: list[Write]) -> dict[Where, int]:
        """Hand the writes to the producer, in order, then wait until the broker has all;
        the offset of the last record written to each partition."""
        assert self._batches is not None, "Writer.start first"
        receipts = await self._batches.send(writes)
        return await within_timeout(acknowledged(receipts), what=f"a batch's {len(writes)} writes")


async def within_timeout(work: Awaitable[T], what: str) -> T:
    # Not wait_for: it waits for the cancelled work to end, and aborting a transaction
    # needs the broker that is not answering. The worker exits instead (crash_on_error).
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=WRITE_TIMEOUT)
    if not done:
        raise TimeoutError(f"Kafka did not acknowledge {what} in {WRITE_TIMEOUT:.0f} s")
    return task.result()


class crash_on_error:
    """An unexpected error stops the process at once, before any offset is committed.

    Faust would restart the task and the batch would be acked; a crash instead makes
    Kafka redeliver everything since the last commit, which is always safe here. Only
    faults of Kafka get here: the stages dead-letter whatever a message holds.
    """

    def __init__(self, stage: str) -> None:
        self.stage = stage

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, _tb) -> bool:
        if error is not None and isinstance(error, Exception):
            exit_for_redelivery("stage %s failed", self.stage, error=error)
        return False
