"""Stop workers at random moments: no minute is lost, none charged twice, no card twice.

Each stop lands mid-stream, and the test checks that it did: the victim had applied inputs
(its `credits_events_applied_total`) and inputs were still waiting for the ledger.

Seeded: `--crash-seed N` replays a run. Its length is set by `--crash-events`,
`--crash-accounts`, `--crash-kills` and `--crash-workers`; the defaults are the short run
CI makes, the README gives the longer one for release checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
from dataclasses import dataclass

import aiohttp
import orjson
import pytest

from tests.fixtures.books import Run, Traffic, traffic
from tests.fixtures.broker import Kafka, announce
from tests.fixtures.load import Load, generate
from tests.fixtures.outputs import OutputReader
from tests.fixtures.scrape import totals
from tests.fixtures.waiting import wait_until
from tests.fixtures.workers import WorkerProcess, Workers

Message = tuple[str, bytes | None, bytes]  # topic, key, value


@dataclass(frozen=True)
class Stop:
    """One stop, as seen just before the signal: what the victim had done, what was left."""

    victim: str
    applied: int  # inputs the victim had applied (credits_events_applied_total, last read)
    victim_lag: int  # messages in the victim's partitions it had not processed (last read)
    in_ledger: int  # the load's inputs in the ledger, of `expected`
    backlog: int  # the load's inputs not in the ledger yet: expected - in_ledger

    def __str__(self) -> str:
        return (
            f"{self.victim}: applied {self.applied}, own lag {self.victim_lag}, "
            f"ledger {self.in_ledger}, backlog {self.backlog}"
        )


class Scrapes:
    """Reads each live worker's /metrics over and over in the background, each worker on its
    own (a busy worker answers late), and keeps the latest answer of each: a stop need not
    wait for an answer before it strikes."""

    def __init__(self, session: aiohttp.ClientSession, live: list[WorkerProcess]) -> None:
        self.session, self.live = session, live
        self.latest: dict[str, dict[str, float]] = {}  # worker name -> its samples

    def applied(self, worker: WorkerProcess) -> int:
        return int(self.latest.get(worker.name, {}).get("credits_events_applied_total", 0))

    def lag(self, worker: WorkerProcess) -> int:
        """Messages in the worker's partitions it had not processed, at its last answer."""
        return int(self.latest.get(worker.name, {}).get("credits_consumer_lag", 0))

    async def run(self) -> None:
        readers: dict[str, asyncio.Task] = {}
        try:
            while True:
                for worker in list(self.live):
                    if worker.name not in readers:
                        readers[worker.name] = asyncio.create_task(self._read(worker))
                await asyncio.sleep(0.05)
        finally:
            for reader in readers.values():
                reader.cancel()
            await asyncio.gather(*readers.values(), return_exceptions=True)

    async def _read(self, worker: WorkerProcess) -> None:
        while worker in self.live:
            samples = await totals(self.session, worker.env["STREAMS_WEB_PORT"])
            if samples:
                self.latest[worker.name] = samples
            await asyncio.sleep(0.05)


def _in_ledger(outputs: OutputReader, expected: set[str]) -> int:
    """How many of the load's ledger-writing inputs the ledger has (read_committed)."""
    return len(expected & {entry["source_id"] for entry in outputs.of("credits.ledger")})


# The most inputs a stage takes in one batch (BATCH_MAX of the pipeline's stages): a worker
# may apply this many between two looks at the ledger, the ledger grows by up to this much
# per worker at once.
BATCH = 1000


async def _stop_point(
    scrapes: Scrapes,
    live: list[WorkerProcess],
    outputs: OutputReader,
    expected: set[str],
    target: int,
) -> list[WorkerProcess]:
    """Wait for a moment to stop a worker; the live workers that may be stopped then.

    A worker may be stopped once it has applied inputs and its last /metrics showed messages
    it had not processed yet. The moment: once `target` of `expected` are in the ledger, or
    at once if what is left could be applied in a round of full batches, one per worker:
    waiting for the target could outlast what was sent.
    Near the end a worker that took partitions over may apply all that is left in one or
    two batches, its lag never seen above 0 between two reads of /metrics (a fresh-clone
    run stopped a worker only once the ledger was complete): then any worker that applied
    inputs may be stopped, while inputs are still waiting.
    If all that was sent is in the ledger, every live worker that applied inputs, so that the stop
    is made and recorded with nothing left, and fails the test."""
    candidates: list[WorkerProcess] = []

    async def ready() -> bool:
        in_ledger = _in_ledger(outputs, expected)
        left = len(expected) - in_ledger
        applied = [worker for worker in live if scrapes.applied(worker) > 0]
        if left == 0:
            candidates[:] = applied or list(live)
            return True
        near_end = left <= BATCH * len(live)
        busy = [worker for worker in applied if scrapes.lag(worker) > 0]
        candidates[:] = busy or (applied if near_end else [])
        return bool(candidates) and (near_end or in_ledger >= target)

    await wait_until(
        ready,
        timeout=120,
        what=f"{target} of the load's inputs in the ledger and a live worker that applied "
        "inputs and has more to process",
        every=0.05,
    )
    return candidates


async def _chaos(
    workers: Workers,
    live: list[WorkerProcess],
    env: dict,
    rng: random.Random,
    kills: int,
    how: str,
    load: Load,
    sent: Traffic,
) -> list[Stop]:
    """Stop a random live worker that applied inputs and has more to process (SIGKILL, or
    SIGTERM and a bounded wait for it to exit), and start a new one a moment later, on
    the victim's data directory every other time; `kills` times. Each stop has its part of
    the usage, sent just before it, so that inputs are waiting when it comes however fast
    the workers caught up (sent all at once, a fresh-clone run found the ledger complete
    before the last stop); it aims at a random point 20-80 % into what is left of what was
    sent; see `_stop_point`. The pause before the replacement starts is the chaos itself."""
    outputs = sent.outputs
    expected = set(load.funds_commands)  # the inputs sent that write the ledger
    parts = _parts(load.usage, kills)
    stops: list[Stop] = []
    async with aiohttp.ClientSession() as session:
        scrapes = Scrapes(session, live)
        scraping = asyncio.create_task(scrapes.run())
        try:
            for round_, part in enumerate(parts):
                await sent.send(part)
                expected |= _charged(load, part)
                now = _in_ledger(outputs, expected)
                target = now + math.ceil((len(expected) - now) * rng.uniform(0.2, 0.8))
                candidates = await _stop_point(scrapes, live, outputs, expected, target)
                victim = rng.choice(candidates)
                in_ledger = _in_ledger(outputs, expected)  # just before the signal
                live.remove(victim)  # first, so that the supervisor leaves it alone
                if how == "sigkill":
                    victim.kill()
                else:
                    assert await asyncio.to_thread(victim.stop, 30.0) == 0, (
                        f"{victim.name} on SIGTERM"
                    )
                stops.append(
                    Stop(
                        victim=victim.name,
                        applied=scrapes.applied(victim),
                        victim_lag=scrapes.lag(victim),
                        in_ledger=in_ledger,
                        backlog=len(expected) - in_ledger,
                    )
                )
                await asyncio.sleep(rng.uniform(0.2, 2.0))
                # Every other replacement starts on the victim's data directory (its
                # tables on disk, as a restart on the same machine), the others on none.
                same_machine = victim if round_ % 2 == 0 else None
                name = f"{victim.name}-r{round_}"
                live.append(workers.start("streams worker", env, name, data_of=same_machine))
        finally:
            scraping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await scraping
    return stops


def _parts(usage: list[Message], count: int) -> list[list[Message]]:
    """``usage`` in ``count`` consecutive parts (each account's events stay in order)."""
    size = math.ceil(len(usage) / count)
    return [usage[start : start + size] for start in range(0, len(usage), size)]


def _charged(load: Load, usage: list[Message]) -> set[str]:
    """The events of ``usage`` that write the ledger."""
    return {orjson.loads(value)["event_id"] for _, _, value in usage} & set(load.charges)


async def _statuses_agree(outputs: OutputReader, worker: WorkerProcess, accounts: set[str]) -> None:
    port = worker.env["STREAMS_WEB_PORT"]
    answers: dict[str, dict] = {}
    async with aiohttp.ClientSession() as session:
        for account in sorted(accounts):
            url = f"http://127.0.0.1:{port}/accounts/{account}/status"
            async with session.get(url) as response:
                assert response.status == 200, (account, await response.text())
                answers[account] = await response.json()

    def topic() -> dict[str, dict]:
        return {s["account_id"]: s for s in outputs.of("credits.account-status")}

    async def agree() -> bool:
        return {a: topic().get(a) for a in accounts} == answers

    with contextlib.suppress(TimeoutError):
        await wait_until(agree, timeout=30, what="the status topic to catch up")
    assert {a: topic().get(a) for a in accounts} == answers


@pytest.mark.chaos
@pytest.mark.parametrize("guarantee", ["exactly_once", "at_least_once"])
@pytest.mark.parametrize("how", ["sigkill", "sigterm"])
async def test_no_minute_is_lost_or_charged_twice_when_workers_stop(
    kafka: Kafka, workers: Workers, request: pytest.FixtureRequest, how: str, guarantee: str
) -> None:
    option = request.config.getoption
    seed, kills = option("--crash-seed"), option("--crash-kills")
    load = generate(seed, option("--crash-accounts"), option("--crash-events"))
    run = Run.new(kafka.bootstrap, "crash")
    await run.create_inputs()
    env = run.env(processing_guarantee=guarantee)
    live = [
        workers.start("streams worker", env, name=f"w{n}") for n in range(option("--crash-workers"))
    ]
    await workers.wait_stable(run.app_id, members=len(live), timeout=120)
    started = time.monotonic()

    async with (
        traffic(run, seed, always_charged=load.always_charged, linger_ms=10) as sent,
        workers.supervised(live, env) as supervisor,
    ):
        await sent.send(load.commands)
        # The usage goes in parts, one before each stop: what is sent and not in the
        # ledger is input in Kafka not yet applied.
        stops = await _chaos(workers, live, env, random.Random(seed), kills, how, load, sent)
        announce(
            request.config, f"crash test ({guarantee}, {how}) stops: " + "; ".join(map(str, stops))
        )
        await sent.settle(load)
        # Telephony's view: the compacted status topic, read from its start, says what
        # the API says of every account.
        await _statuses_agree(sent.outputs, live[0], set(load.funds))
    elapsed = time.monotonic() - started
    books = sent.check_books(load)
    # Each stop hit a worker that had applied inputs, while inputs were still unapplied.
    assert len(stops) == kills
    assert all(stop.applied > 0 and stop.backlog > 0 for stop in stops), (
        "a stop did not land mid-stream: " + "; ".join(map(str, stops))
    )
    announce(
        request.config,
        f"crash test ({guarantee}, {how}, seed {seed}): {len(load.usage)} usage events and "
        f"{len(load.commands)} commands over {len(load.funds)} accounts, {len(live)} workers, "
        f"{len(stops)} stopped and replaced; {books.requests} recharge requests "
        f"({books.declined} declined; {books.limited} account-days at their daily limit); "
        f"{books.repeated_outputs} repeated outputs seen and "
        f"dropped by id; {len(supervisor.restarts)} restarted after exiting on their own "
        f"{supervisor.restarts}; {elapsed:.1f} s, "
        f"{(len(load.usage) + len(load.commands)) / elapsed:.0f} inputs/s",
    )
