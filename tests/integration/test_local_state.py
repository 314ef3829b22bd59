"""Tables on disk (STREAMS_STORE=rocksdb): a restarted worker with its data directory reads
only the changelog written since, and a worker killed around a commit leaves nothing in
its local stores that Kafka does not have.

Each test restarts a worker on the data directory of the one before (same name, same
directory) and closes the books: every minute charged once, no card twice.
"""

from __future__ import annotations

import aiohttp
import pytest

from tests.fixtures.books import Run, traffic
from tests.fixtures.broker import Kafka, announce
from tests.fixtures.kafka_io import end_offsets
from tests.fixtures.load import Load, generate
from tests.fixtures.scrape import totals
from tests.fixtures.waiting import wait_until
from tests.fixtures.workers import WorkerProcess, Workers

CRASHING = "tests.fixtures.apps.crashing_worker"
TABLES = ("accounts", "seen-inputs", "usage-windows")


async def _recovered(worker: WorkerProcess) -> int:
    """Changelog records the worker read into its tables, once they are recovered."""
    port = worker.env["STREAMS_WEB_PORT"]
    found: dict[str, float] = {}
    async with aiohttp.ClientSession() as session:

        async def recovered() -> bool:
            assert worker.alive, worker.log()[-3000:]
            found.update(await totals(session, port))
            return found.get("credits_tables_recovered") == 1

        await wait_until(recovered, timeout=120, what=f"{worker.name}'s tables recovered")
    return int(found.get("credits_changelog_records_recovered_total", 0))


async def _changelog_records(run: Run) -> int:
    """Offsets in the tables' changelogs (records, and transaction markers)."""
    names = [f"{run.app_id}-{table}-changelog" for table in TABLES]
    return sum((await end_offsets(run.bootstrap, names)).values())


async def test_a_restart_with_its_data_directory_reads_only_the_changelog_tail(
    kafka: Kafka, workers: Workers, request: pytest.FixtureRequest
) -> None:
    run = Run.new(kafka.bootstrap, "local")
    await run.create_inputs()
    env = run.env()
    load = generate(16, accounts=120, events=2000)
    half = len(load.usage) // 2
    first = workers.start("streams worker", env, name="w")
    await workers.wait_stable(run.app_id, members=1, timeout=120)  # it creates the outputs
    async with traffic(run, seed=16) as sent:
        await sent.send(load.commands + load.usage[:half])
        await sent.outputs.wait_for_counts({"credits.ledger": half}, timeout=120)
        assert first.stop() == 0
        written = await _changelog_records(run)

        again = workers.start("streams worker", env, name="w")  # the same data directory
        recovered = await _recovered(again)
        await sent.send(load.usage[half:])
        await sent.settle(load)
    sent.check_books(load)
    announce(
        request.config,
        f"local state: a restart with its data directory recovered {recovered} changelog "
        f"records of {written} offsets written",
    )
    assert recovered == 0  # it stopped cleanly: every batch it wrote had landed on disk
    assert written > 1000


async def _crash_and_restart(
    kafka: Kafka, workers: Workers, point: str, load: Load, seed: int
) -> tuple[int, int]:
    """A crashing worker dies at ``point``; a worker on its data directory takes over.
    The records the second recovered, and the offsets the changelogs had."""
    run = Run.new(kafka.bootstrap, "crash")
    await run.create_inputs()
    env = run.env()
    crashing = workers.start(CRASHING, {**env, "STREAMS_TEST_CRASH": point}, name="w")
    await workers.wait_stable(run.app_id, members=1, timeout=120)  # it creates the outputs
    async with traffic(run, seed=seed) as sent:
        await sent.send(load.commands + load.usage)

        async def died() -> bool:
            return not crashing.alive

        await wait_until(died, timeout=120, what=f"the worker to die {point}")
        assert crashing.process.returncode == 9, crashing.log()[-3000:]
        written = await _changelog_records(run)
        again = workers.start("streams worker", env, name="w")
        recovered = await _recovered(again)
        await sent.settle(load)
    sent.check_books(load)
    return recovered, written


@pytest.mark.parametrize(
    ("point", "seed"),
    [("after-commit:3", 17), ("in-transaction:3", 18)],
    ids=["killed-after-a-commit-before-its-local-write", "killed-mid-transaction"],
)
async def test_a_worker_killed_around_a_commit_recovers_exact(
    kafka: Kafka, workers: Workers, request: pytest.FixtureRequest, point: str, seed: int
) -> None:
    """After the commit, the batch that never landed locally is read back from the
    changelog; inside the transaction, its records are aborted and never applied
    (read_committed). Either way the books close exact."""
    load = generate(seed, accounts=120, events=2000)
    recovered, written = await _crash_and_restart(kafka, workers, point, load, seed)
    announce(request.config, f"killed {point}: recovered {recovered} of {written} offsets")
    assert recovered < written
    if point.startswith("after-commit"):
        assert recovered > 0
