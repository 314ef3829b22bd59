"""State over time: one worker's memory as usage piles up inside a short dedupe window,
and restarts of a worker holding many accounts, with its data directory and without."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench import load
from bench.measure import LedgerTail, resident_mib, until_consumed, workers
from streams.observe.metrics import scrape_totals
from streams.settings import Settings

# A restarted worker that has not written its first output by then is reported as such
# instead of failing the run (see docs/performance.md: once, on the agents pipeline).
RESTART_WAIT_SECONDS = 300


@dataclass(frozen=True)
class Memory:
    events: int
    days: float  # the usage's times span this many days
    resident_mib: float


async def memory(
    settings: Settings, log: Path, accounts: int, steps: list[int], per_day: int
) -> list[Memory]:
    """One worker with a dedupe window of a day: its resident memory once it has applied
    each step's number of usage events over the same accounts, ``per_day`` a day of
    input time (so a step of five days' events spans the window five times)."""
    bootstrap = settings.bootstrap_servers[0]
    settings = settings.model_copy(update={"dedupe_window": 86400})
    time_of = load.spread(per_day, steps[-1] / per_day)
    # Funded at the usage's first moment: a later time would make it all too late.
    await load.produce(bootstrap, settings.topic_prefix, load.funds(accounts, time_of(0)))
    topics = [settings.topic(t) for t in load.INPUT_TOPICS]
    topics.append(f"{settings.app_id}-account-inputs")
    figures, done = [], 0
    with workers(settings, log, 1) as processes:
        for step in steps:
            usage = load.usage_over_time(3, accounts, range(done, step), time_of)
            await load.produce(bootstrap, settings.topic_prefix, usage)
            await until_consumed(bootstrap, settings.app_id, topics, processes, log)
            figures.append(Memory(step, step / per_day, resident_mib(processes[0].pid)))
            done = step
    return figures


@dataclass(frozen=True)
class Restart:
    seconds: float | None  # from start to first output; None: none in RESTART_WAIT_SECONDS
    records: int  # changelog records read into the tables
    records_per_second: float | None  # while the tables were recovered


@dataclass(frozen=True)
class Restarts:
    accounts: int
    resident_mib: float  # of the worker that applied them
    intact: Restart  # a new worker with the data directory of the first
    empty: Restart  # a new worker with an empty data directory (a new machine)


async def restarts(settings: Settings, log: Path, accounts: int) -> Restarts:
    """A worker applies one add_funds for each of ``accounts`` accounts and stops; then a
    worker starts on its data directory, and another on an empty one."""
    bootstrap = settings.bootstrap_servers[0]
    await load.produce(bootstrap, settings.topic_prefix, load.funds(accounts))
    inputs = [settings.topic("credits.commands"), f"{settings.app_id}-account-inputs"]
    with workers(settings, log, 1) as processes:
        await until_consumed(bootstrap, settings.app_id, inputs, processes, log)
        resident = resident_mib(processes[0].pid)
    intact = await _restart(settings, log, 1)
    empty = settings.model_copy(update={"data_dir": settings.data_dir.with_name("new-machine")})
    return Restarts(accounts, resident, intact, await _restart(empty, log, 2))


async def _restart(settings: Settings, log: Path, n: int) -> Restart:
    """Start a worker; from its start until the ledger entry of a probe sent just after."""
    bootstrap = settings.bootstrap_servers[0]
    probe = load.probe(n)
    seconds = None
    with workers(settings, log, 1) as processes:
        started = time.monotonic()
        recovery = asyncio.ensure_future(_recovery(settings.web_port))
        async with LedgerTail(bootstrap, settings.topic("credits.ledger")) as tail:
            await load.produce(bootstrap, settings.topic_prefix, [probe.message])
            with contextlib.suppress(TimeoutError):
                await tail.until({probe.command_id}, processes, log, RESTART_WAIT_SECONDS)
                seconds = time.monotonic() - started
        records, rate = await recovery
    return Restart(seconds, records, rate)


async def _recovery(port: int) -> tuple[int, float | None]:
    """The records a starting worker recovers, and how fast: read from its /metrics, from
    its first answer (before its recovery reads a record, or as it does) until its tables
    are recovered: a rate that errs low, if anything."""
    answered = None
    async with aiohttp.ClientSession() as session:
        while True:
            figures = await scrape_totals(session, f"http://127.0.0.1:{port}/metrics")
            now = time.monotonic()
            if figures and answered is None:
                answered = now
            if figures.get("credits_tables_recovered") == 1:
                records = int(figures.get("credits_changelog_records_recovered_total", 0))
                if answered is None or now == answered or records < 10_000:
                    return records, None  # too few to time
                return records, records / (now - answered)
            await asyncio.sleep(0.1)
