"""Stop workers at random moments: no minute is lost, none charged twice, no card twice.

Seeded: `--crash-seed N` replays a run. Its length is set by `--crash-events`,
`--crash-accounts`, `--crash-kills` and `--crash-workers`; the defaults are the short run
CI makes, the README gives the longer one for release checks.
"""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from tests.fixtures.books import Run, traffic
from tests.fixtures.broker import Kafka, announce
from tests.fixtures.load import generate
from tests.fixtures.workers import WorkerProcess, Workers


async def _chaos(
    workers: Workers,
    live: list[WorkerProcess],
    env: dict,
    rng: random.Random,
    kills: int,
    how: str,
) -> int:
    """Stop a random live worker (SIGKILL, or SIGTERM and a bounded wait for it to exit),
    and start a new one a moment later; `kills` times. The pauses are the chaos itself."""
    done = 0
    for round_ in range(kills):
        await asyncio.sleep(rng.uniform(1.0, 4.0))
        victim = rng.choice(live)
        live.remove(victim)  # first, so that the supervisor leaves it alone
        if how == "sigkill":
            victim.kill()
        else:
            assert await asyncio.to_thread(victim.stop, 30.0) == 0, f"{victim.name} on SIGTERM"
        done += 1
        await asyncio.sleep(rng.uniform(0.2, 2.0))
        live.append(workers.start("streams worker", env, name=f"{victim.name}-r{round_}"))
    return done


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
        traffic(run, seed, linger_ms=10) as sent,
        workers.supervised(live, env) as supervisor,
    ):
        chaos = asyncio.create_task(_chaos(workers, live, env, random.Random(seed), kills, how))
        await sent.send(load.commands)
        await sent.send(load.usage)
        stopped = await chaos
        await sent.settle(load)
    elapsed = time.monotonic() - started
    books = sent.check_books(load)
    announce(
        request.config,
        f"crash test ({guarantee}, {how}, seed {seed}): {len(load.usage)} usage events and "
        f"{len(load.commands)} commands over {len(load.funds)} accounts, {len(live)} workers, "
        f"{stopped} stopped and replaced; {books.requests} recharge requests "
        f"({books.declined} declined); {books.repeated_outputs} repeated outputs seen and "
        f"dropped by id; {len(supervisor.restarts)} restarted after exiting on their own "
        f"{supervisor.restarts}; {elapsed:.1f} s, "
        f"{(len(load.usage) + len(load.commands)) / elapsed:.0f} inputs/s",
    )
