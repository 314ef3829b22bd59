"""The two measurements, on the same broker and the same input topics."""

from __future__ import annotations

import asyncio
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import GroupCoordinatorNotAvailableError

from bench.load import INPUT_TOPICS
from streams.settings import Settings
from streams.worker_process import worker_process

# Lines of the worker's log shown when it exits before the end of a measurement.
LOG_TAIL = 40


class WorkerExited(RuntimeError):
    pass


@dataclass(frozen=True)
class Throughput:
    events: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.events / self.seconds


async def ceiling(bootstrap: str, prefix: str, total: int, out_topic: str) -> Throughput:
    """Plain aiokafka: consume, orjson decode, aggregate per account, one output per event."""
    consumer = AIOKafkaConsumer(
        *(prefix + topic for topic in INPUT_TOPICS),
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=2000,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all")
    await consumer.start()
    await producer.start()
    totals: dict[str, list[int]] = {}
    receipts = []
    started: float | None = None
    try:
        seen = 0
        while seen < total:
            batches = await consumer.getmany(timeout_ms=1000)
            if started is None and batches:
                started = time.monotonic()
            for records in batches.values():
                for record in records:
                    message = orjson.loads(record.value)
                    tally = totals.setdefault(message["account_id"], [0, 0])
                    tally[0] += 1
                    tally[1] += message.get("duration_seconds", 0)
                    receipts.append(
                        await producer.send(out_topic, orjson.dumps(tally), key=record.key)
                    )
                    seen += 1
        await asyncio.gather(*receipts)
        assert started is not None
        return Throughput(seen, time.monotonic() - started)
    finally:
        await consumer.stop()
        await producer.stop()


async def worker(settings: Settings, total: int, log: Path) -> Throughput:
    """One worker process: from its first forwarded input to its last ledger entry."""
    bootstrap = settings.bootstrap_servers[0]
    internal = f"{settings.app_id}-account-inputs"
    with worker_process(settings, log) as process:
        inputs = [settings.topic(topic) for topic in INPUT_TOPICS] + [internal]
        try:
            await _until_consumed(bootstrap, settings.app_id, inputs, process)
        except WorkerExited as exited:
            tail = log.read_text(errors="replace").splitlines()[-LOG_TAIL:]
            raise WorkerExited("\n".join([str(exited), "the end of its log:", *tail])) from None
    first = min(await _timestamps(bootstrap, internal))
    last = max(await _timestamps(bootstrap, settings.topic("credits.ledger")))
    return Throughput(total, (last - first) / 1000)


async def _until_consumed(
    bootstrap: str, group: str, topics: list[str], process: subprocess.Popen
) -> None:
    """Until the group has committed the end of every partition of `topics`."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed")
    await admin.start()
    await reader.start()
    try:
        partitions = []
        for topic in topics:
            partitions += [TopicPartition(topic, p) for p in await _partitions(bootstrap, topic)]
        while True:
            if process.poll() is not None:
                raise WorkerExited(f"the worker exited with status {process.returncode}")
            ends = await reader.end_offsets(partitions)
            try:
                committed = await admin.list_consumer_group_offsets(group)
            except GroupCoordinatorNotAvailableError:
                committed = {}  # the group does not exist yet
            if all(_done(ends[tp], committed.get(tp)) for tp in partitions):
                return
            await asyncio.sleep(0.5)
    finally:
        await reader.stop()
        await admin.close()


def _done(end: int, committed: object) -> bool:
    return end == 0 or (committed is not None and committed.offset >= end)  # type: ignore[attr-defined]


async def _partitions(bootstrap: str, topic: str) -> list[int]:
    """The partitions of `topic`, once it exists (the worker creates its own topics)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        for _ in range(60):
            (described,) = await admin.describe_topics([topic])
            if described["error_code"] == 0 and described["partitions"]:
                return [p["partition"] for p in described["partitions"]]
            await asyncio.sleep(0.5)
    finally:
        await admin.close()
    raise RuntimeError(f"topic {topic} never appeared")


async def _timestamps(bootstrap: str, topic: str) -> list[int]:
    """Every record's timestamp (ms), read to the end of `topic`."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in await _partitions(bootstrap, topic)]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        stamps: list[int] = []
        left = [tp for tp in partitions if ends[tp]]
        while left:
            for records in (await consumer.getmany(timeout_ms=1000, max_records=5000)).values():
                stamps.extend(record.timestamp for record in records)
            left = [tp for tp in left if await consumer.position(tp) < ends[tp]]
        return stamps
    finally:
        await consumer.stop()
