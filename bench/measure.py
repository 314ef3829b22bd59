"""The two measurements, on the same broker and the same input topics."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import GroupCoordinatorNotAvailableError

from bench import load
from bench.load import INPUT_TOPICS
from streams.broker.local import free_port
from streams.settings import Settings
from streams.worker_process import worker_process

# Lines of the worker's log shown when it exits before the end of a measurement.
LOG_TAIL = 40
# No measurement waits longer than this for the worker.
WAIT_SECONDS = 600


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


async def worker(settings: Settings, total: int, log: Path, count: int = 1) -> Throughput:
    """Worker processes: from the first forwarded input to the last ledger entry."""
    bootstrap = settings.bootstrap_servers[0]
    internal = f"{settings.app_id}-account-inputs"
    with workers(settings, log, count) as processes:
        inputs = [settings.topic(topic) for topic in INPUT_TOPICS] + [internal]
        await until_consumed(bootstrap, settings.app_id, inputs, processes, log)
    first = min(await _timestamps(bootstrap, internal))
    last = max(await _timestamps(bootstrap, settings.topic("credits.ledger")))
    return Throughput(total, (last - first) / 1000)


@dataclass(frozen=True)
class Latency:
    events: int
    p50_ms: float
    p99_ms: float
    max_ms: float


async def latency(
    settings: Settings, log: Path, accounts: int, rate: int, seconds: int
) -> tuple[Latency, float]:
    """Usage events offered at ``rate`` per second: from each one's produce time until a
    read_committed consumer of the ledger receives its entry. Also the worker's start to
    its first output with empty tables, in seconds."""
    bootstrap = settings.bootstrap_servers[0]
    ledger = settings.topic("credits.ledger")
    await load.produce(bootstrap, settings.topic_prefix, load.commands(accounts))
    with workers(settings, log, 1) as processes:
        started = time.monotonic()
        async with LedgerTail(bootstrap, ledger, from_start=True) as funded:
            await funded.until({f"acct-{accounts - 1}-funds"}, processes, log)
        cold_start = time.monotonic() - started
        events = load.usage(seed=7, accounts=accounts, events=rate * seconds)
        ids = {orjson.loads(value)["event_id"] for _, _, value in events}
        async with LedgerTail(bootstrap, ledger) as tail:
            watching = asyncio.ensure_future(tail.until(ids, processes, log))
            sent = await load.produce_at(bootstrap, settings.topic_prefix, events, rate)
            seen = await watching
    delays = sorted(seen[event_id] - sent[event_id] for event_id in sent)
    figure = Latency(
        len(delays),
        p50_ms=delays[len(delays) // 2],
        p99_ms=delays[min(len(delays) - 1, len(delays) * 99 // 100)],
        max_ms=delays[-1],
    )
    return figure, cold_start


@contextmanager
def workers(settings: Settings, log: Path, count: int) -> Iterator[list[subprocess.Popen]]:
    with ExitStack() as stack:
        processes = []
        for n in range(count):
            each = settings
            if n:
                each = settings.model_copy(
                    update={
                        "web_port": free_port(),
                        "data_dir": settings.data_dir.with_name(f"worker{n}"),
                    }
                )
            processes.append(stack.enter_context(worker_process(each, log.with_suffix(f".{n}"))))
        yield processes


def resident_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc: resident memory is measured on Linux only")


def _exited(processes: list[subprocess.Popen], log: Path) -> None:
    for n, process in enumerate(processes):
        if process.poll() is not None:
            path = log.with_suffix(f".{n}")
            tail = path.read_text(errors="replace").splitlines()[-LOG_TAIL:]
            status = f"the worker exited with status {process.returncode}"
            raise WorkerExited("\n".join([status, "the end of its log:", *tail]))


class LedgerTail:
    """A read_committed consumer of the ledger from its end (or start): when each entry
    arrives."""

    def __init__(self, bootstrap: str, topic: str, *, from_start: bool = False) -> None:
        self.bootstrap, self.topic, self.from_start = bootstrap, topic, from_start
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            isolation_level="read_committed",
            fetch_max_wait_ms=10,
        )

    async def __aenter__(self) -> LedgerTail:
        await self.consumer.start()
        numbers = await _partitions(self.bootstrap, self.topic)
        partitions = [TopicPartition(self.topic, p) for p in numbers]
        self.consumer.assign(partitions)
        if self.from_start:
            await self.consumer.seek_to_beginning(*partitions)
        else:
            await self.consumer.seek_to_end(*partitions)
        for partition in partitions:
            await self.consumer.position(partition)  # fixed now, before anything is produced
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def until(
        self,
        sources: set[str],
        processes: list[subprocess.Popen],
        log: Path,
        wait_seconds: float = WAIT_SECONDS,
    ) -> dict[str, float]:
        """When (ms since the epoch) the entry of each source id arrived."""
        arrived: dict[str, float] = {}
        deadline = time.monotonic() + wait_seconds
        while not sources <= arrived.keys():
            _exited(processes, log)
            if time.monotonic() > deadline:
                missing = len(sources - arrived.keys())
                raise TimeoutError(f"{missing} ledger entries did not arrive in {wait_seconds} s")
            batches = await self.consumer.getmany(timeout_ms=200)
            now = time.time() * 1000
            for records in batches.values():
                for record in records:
                    arrived.setdefault(orjson.loads(record.value)["source_id"], now)
        return arrived


async def until_consumed(
    bootstrap: str,
    group: str,
    topics: list[str],
    processes: list[subprocess.Popen],
    log: Path,
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
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            _exited(processes, log)
            ends = await reader.end_offsets(partitions)
            try:
                committed = await admin.list_consumer_group_offsets(group)
            except GroupCoordinatorNotAvailableError:
                committed = {}  # the group does not exist yet
            if all(_done(ends[tp], committed.get(tp)) for tp in partitions):
                return
            await asyncio.sleep(0.5)
        raise TimeoutError(f"the group did not consume {topics} in {WAIT_SECONDS} s")
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
