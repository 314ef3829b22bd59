"""The broker goes away and comes back: workers wait, reconnect and catch up, losing nothing.

Each test runs its own broker (the project's LocalBroker), so stopping it disturbs no
other test. The outage lasts longer than the group's session timeout on purpose.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.broker import KafkaDistribution, LocalBroker
from streams.settings import Settings
from tests.fixtures.books import Run, traffic
from tests.fixtures.broker import announce
from tests.fixtures.load import generate
from tests.fixtures.waiting import wait_until
from tests.fixtures.workers import Workers

OUTAGE_SECONDS = 10.0  # longer than the workers' 6 s session timeout


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalBroker]:
    """A broker of this test's own, not yet started."""
    local = LocalBroker(KafkaDistribution(Settings().cache_dir), tmp_path / "kafka", heap="512m")
    try:
        yield local
    finally:
        local.stop()


async def test_a_worker_started_before_the_broker_waits_for_it(
    broker: LocalBroker, workers: Workers, request: pytest.FixtureRequest
) -> None:
    run = Run.new(broker.bootstrap, "early")
    worker = workers.start("streams worker", run.env(broker=broker.url, log_level="INFO"))

    async def waiting() -> bool:
        assert worker.alive, f"the worker exited while the broker was down:\n{worker.log()}"
        return f"waiting for Kafka at {broker.url}" in worker.log()

    await wait_until(waiting, timeout=60, what="the worker to say it waits for Kafka")
    await asyncio.to_thread(broker.start)
    await workers.wait_stable(run.app_id, members=1, timeout=120, bootstrap=broker.bootstrap)
    tries = worker.log().count("waiting for Kafka at")

    load = generate(7, accounts=20, events=300)
    async with traffic(run, seed=7) as sent:
        await sent.send(load.commands)
        await sent.send(load.usage)
        await sent.settle(load)
    sent.check_books(load)
    assert worker.alive  # one process that waited, not a crash loop
    announce(request.config, f"a worker started before the broker tried {tries} times, then ran")


@pytest.mark.chaos
@pytest.mark.parametrize("fault", ["stop", "kill"])
async def test_workers_ride_out_a_broker_outage_mid_stream(
    broker: LocalBroker, workers: Workers, request: pytest.FixtureRequest, fault: str
) -> None:
    await asyncio.to_thread(broker.start)
    run = Run.new(broker.bootstrap, "outage")
    await run.create_inputs()
    env = run.env(broker=broker.url)
    live = [workers.start("streams worker", env, name=f"w{n}") for n in range(2)]
    await workers.wait_stable(run.app_id, members=2, timeout=120, bootstrap=broker.bootstrap)

    load = generate(11, accounts=100, events=2000)
    half = len(load.usage) // 2
    started = time.monotonic()
    async with traffic(run, seed=11) as sent, workers.supervised(live, env) as supervisor:
        await sent.send(load.commands)
        await sent.send(load.usage[:half])
        await sent.outputs.wait_for_counts({"credits.ledger": 200}, timeout=60)

        await asyncio.to_thread(broker.stop if fault == "stop" else broker.kill)
        await asyncio.sleep(OUTAGE_SECONDS)  # the outage itself, not a wait on a condition
        await asyncio.to_thread(broker.start)

        await sent.send(load.usage[half:])
        await sent.settle(load)
    elapsed = time.monotonic() - started
    books = sent.check_books(load)
    announce(
        request.config,
        f"broker {fault} for {OUTAGE_SECONDS:.0f} s mid-stream: {len(load.usage)} usage events, "
        f"2 workers, none lost or doubled; {books.repeated_outputs} repeated outputs dropped "
        f"by id; restarted after exiting on their own: {supervisor.restarts}; {elapsed:.1f} s",
    )
