"""Scale out and back in mid-stream: account state moves with its partitions.

A second worker joins while traffic flows, then the first leaves (SIGTERM, and it leaves
the consumer group as it exits). Each move
hands partitions, and their table state, to the other worker through the changelog.
If a worker started an account from a blank state instead, its ledger would restart at
seq 1 and its balance would be wrong, which the books check catches.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from streams.admin import group_size
from tests.fixtures.books import Run, traffic
from tests.fixtures.broker import Kafka, announce
from tests.fixtures.load import generate
from tests.fixtures.workers import Workers


@pytest.mark.chaos
async def test_state_follows_partitions_when_workers_join_and_leave(
    kafka: Kafka, workers: Workers, request: pytest.FixtureRequest
) -> None:
    run = Run.new(kafka.bootstrap, "scale")
    await run.create_inputs()
    env = run.env()
    first = workers.start("streams worker", env, name="first")
    await workers.wait_stable(run.app_id, members=1, timeout=120)

    load = generate(5, accounts=150, events=3000)
    third = len(load.usage) // 3
    started = time.monotonic()
    live = [first]
    async with traffic(run, seed=5) as sent, workers.supervised(live, env) as supervisor:
        await sent.send(load.commands)
        await sent.send(load.usage[:third])
        await sent.outputs.wait_for_counts({"credits.ledger": third // 2}, timeout=120)

        second = workers.start("streams worker", env, name="second")
        live.append(second)
        await sent.send(load.usage[third : 2 * third])
        await workers.wait_stable(run.app_id, members=2, timeout=120)
        await sent.outputs.wait_for_counts({"credits.ledger": third + third // 2}, timeout=120)

        live.remove(first)
        assert await asyncio.to_thread(first.stop, 60) == 0, "first did not drain and exit"
        # It left the group on its way out: second need not wait for its session to expire.
        assert await group_size(kafka.bootstrap, run.app_id) == 1
        await sent.send(load.usage[2 * third :])
        await workers.wait_stable(run.app_id, members=1, timeout=120)
        await sent.settle(load)
    books = sent.check_books(load)
    announce(
        request.config,
        f"scale out and in: {len(load.usage)} usage events over {len(load.funds)} accounts, "
        f"1 -> 2 -> 1 workers; {books.requests} recharge requests; "
        f"{books.repeated_outputs} repeated outputs dropped by id; "
        f"restarted after exiting on their own: {supervisor.restarts}; "
        f"{time.monotonic() - started:.1f} s",
    )
