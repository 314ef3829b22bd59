"""exactly_once: each account-inputs partition writes its batches in Kafka transactions.

One transactional producer per owned partition, with the id ``<app_id>-accounts-<p>``.
A batch's outputs, dedupe records, states and the partition's next offset commit
together or not at all. When a partition moves, its new owner starts a producer with the
same id: Kafka then aborts the previous owner's open transaction and refuses its later
writes (a worker that lost the group without knowing it, a zombie, can no longer apply an
input a second time). Readers of the changelogs and outputs use read_committed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence

from aiokafka import TopicPartition

from streams.connection import KafkaConnection
from streams.pipeline.writes import RecordBatches, Where, Write, last_offsets

log = logging.getLogger(__name__)


class PartitionTransactions:
    def __init__(self, connection: KafkaConnection, app_id: str, inputs_topic: str) -> None:
        self.connection = connection
        self.app_id = app_id
        self.inputs_topic = inputs_topic
        self._producers: dict[int, RecordBatches] = {}
        self._lock = asyncio.Lock()

    def transactional_id(self, partition: int) -> str:
        return f"{self.app_id}-accounts-{partition}"

    async def own(self, partitions: Iterable[int]) -> None:
        """Hold a producer for exactly these partitions; a new one fences the old owner."""
        wanted = set(partitions)
        async with self._lock:
            released = [self._producers.pop(p) for p in sorted(set(self._producers) - wanted)]
            if released:
                # A producer stuck in a transaction the broker no longer answers for would
                # hold up the rebalance; the new owner fences it off in any case.
                stopping = [asyncio.ensure_future(p.producer.stop()) for p in released]
                await asyncio.wait(stopping, timeout=5)
            starting = sorted(wanted - set(self._producers))
            started = await asyncio.gather(*(self._new_producer(p) for p in starting))
            self._producers.update(zip(starting, started, strict=True))
        if starting:
            log.info("transactional producers started for account-inputs %s", starting)

    async def commit(
        self, partition: int, writes: Sequence[Write], next_offset: int
    ) -> dict[Where, int]:
        """Write ``writes`` and move the group past ``next_offset - 1``, atomically; the
        offset of the last record written to each partition."""
        batches = self._producers.get(partition)
        if batches is None:
            raise RuntimeError(f"account-inputs[{partition}] has no transactional producer")
        producer = batches.producer
        async with producer.transaction():
            receipts = await batches.send(writes)
            # One gather, so that a fenced producer's failed receipts are all retrieved.
            _, *metadata = await asyncio.gather(
                producer.send_offsets_to_transaction(
                    {TopicPartition(self.inputs_topic, partition): next_offset}, self.app_id
                ),
                *(receipt.future for receipt in receipts),
            )
        return last_offsets(receipts, metadata)

    async def close(self) -> None:
        await self.own(())

    async def _new_producer(self, partition: int) -> RecordBatches:
        return await RecordBatches.started(
            self.connection,
            transactional_id=self.transactional_id(partition),
            # The broker answers a batch sent while its previous transaction still ends
            # with a retriable error (KIP-890 verification): retry soon.
            retry_backoff_ms=20,
        )
