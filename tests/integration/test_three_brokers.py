"""A broker of three is killed mid-stream and comes back: nothing lost, nothing twice.

The test runs its own three-node KRaft cluster (`streams broker --nodes 3`'s KafkaCluster),
not the session's broker. Its topics have three replicas and min.insync.replicas 2, and
every producer waits for all in-sync replicas, so one broker may die at any moment: the
pipeline goes on without it (the test waits for inputs applied while it is down), and it
catches up once back.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from streams.broker import KafkaDistribution
from streams.broker.cluster import KafkaCluster
from streams.settings import Settings
from tests.fixtures.books import INPUTS, Run, traffic
from tests.fixtures.broker import Kafka, announce
from tests.fixtures.kafka_io import own_topic_config
from tests.fixtures.load import generate
from tests.fixtures.outputs import OutputReader
from tests.fixtures.waiting import wait_until
from tests.fixtures.workers import Workers

SEED = 17
# Ledger inputs the pipeline must apply while the node is down: writes wait for every
# in-sync replica, so none is acknowledged until the controller has fenced the dead node
# (9 s without its heartbeat), dropped it from the in-sync replicas and moved its leaders.
APPLIED_WHILE_DOWN = 200


@pytest.fixture
def cluster(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[KafkaCluster]:
    """Three nodes of this test's own, started; each node's log tail is shown on failure."""
    nodes = KafkaCluster(KafkaDistribution(Settings().cache_dir), tmp_path / "cluster", nodes=3)
    try:
        nodes.start()
        announce(
            request.config,
            f"three-node cluster ready at {nodes.url} in {nodes.started_in:.1f} s, "
            f"{nodes.resident_bytes() / 2**20:.0f} MiB resident",
        )
        yield nodes
    finally:
        nodes.stop()


@pytest.fixture
def workers(cluster: KafkaCluster, tmp_path: Path) -> Iterator[Workers]:
    """Workers against the cluster (STREAMS_BROKER names all three nodes)."""
    pool = Workers(Kafka(cluster.url, None), tmp_path)
    try:
        yield pool
    finally:
        pool.close()


def _in_ledger(outputs: OutputReader, expected: set[str]) -> int:
    return len(expected & {entry["source_id"] for entry in outputs.of("credits.ledger")})


async def _partitions(bootstrap: str, run: Run) -> dict[str, list[dict]]:
    """Each topic of the run (its inputs and all the worker created): its partitions."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = [
            name
            for name in await admin.list_topics()
            if name.startswith((run.prefix, f"{run.app_id}-"))
        ]
        return {
            described["topic"]: described["partitions"]
            for described in await admin.describe_topics(names)
        }
    finally:
        await admin.close()


async def _busiest_node(bootstrap: str, run: Run) -> int:
    """The node that leads the most partitions of the run's topics: killing it moves most."""
    leaders = Counter(
        partition["leader"]
        for partitions in (await _partitions(bootstrap, run)).values()
        for partition in partitions
    )
    return leaders.most_common(1)[0][0]


@pytest.mark.chaos
async def test_a_broker_killed_mid_stream_loses_no_input_and_applies_none_twice(
    cluster: KafkaCluster, workers: Workers, request: pytest.FixtureRequest
) -> None:
    started = time.monotonic()
    run = Run.new(cluster.bootstrap, "replicas")
    await run.create_inputs(replicas=3)
    env = run.env(broker=cluster.url, replication_factor="3")
    live = [workers.start("streams worker", env, name=f"w{n}") for n in range(2)]
    await workers.wait_stable(run.app_id, members=2, timeout=120, bootstrap=cluster.bootstrap)
    victim = await _busiest_node(cluster.bootstrap, run)

    load = generate(SEED, accounts=100, events=3000)
    expected = set(load.charges) | load.funds_commands  # the inputs that write the ledger
    async with (
        traffic(run, SEED, linger_ms=10) as sent,
        workers.supervised(live, env) as supervisor,
    ):
        await sent.send(load.commands)
        await sent.send(load.usage)
        # All sent: from here what is not in the ledger is input in Kafka not yet applied.

        async def a_quarter_applied() -> bool:
            return _in_ledger(sent.outputs, expected) >= len(expected) // 4

        await wait_until(a_quarter_applied, timeout=120, what="a quarter of the load", every=0.05)
        at_kill = _in_ledger(sent.outputs, expected)
        cluster.kill(victim)
        killed = time.monotonic()
        assert 0 < at_kill < len(expected), f"the kill was not mid-stream: {at_kill} applied"
        goal = at_kill + min(APPLIED_WHILE_DOWN, len(expected) - at_kill)

        async def applied_while_down() -> bool:
            return _in_ledger(sent.outputs, expected) >= goal

        await wait_until(
            applied_while_down, timeout=90, what=f"{goal} inputs applied with node {victim} down"
        )
        at_restart, outage = _in_ledger(sent.outputs, expected), time.monotonic() - killed
        await cluster.restart(victim)
        await sent.settle(load)
    resident = cluster.resident_bytes()
    books = sent.check_books(load)

    # Every topic has three replicas, all in sync again once the node is back; those the
    # worker created ask for two of them in sync.
    async def all_in_sync() -> bool:
        partitions = await _partitions(cluster.bootstrap, run)
        return all(len(p["isr"]) == 3 for ps in partitions.values() for p in ps)

    await wait_until(all_in_sync, timeout=60, what="every replica back in sync")
    partitions = await _partitions(cluster.bootstrap, run)
    assert {len(p["replicas"]) for ps in partitions.values() for p in ps} == {3}
    created = sorted(set(partitions) - {run.prefix + topic for topic in INPUTS})
    assert f"{run.app_id}-accounts-changelog" in created
    assert f"{run.app_id}-__assignor-__leader" in created
    min_insync = await own_topic_config(cluster.bootstrap, created, "min.insync.replicas")
    assert min_insync == dict.fromkeys(created, "2")
    announce(
        request.config,
        f"node {victim} of 3 killed mid-stream for {outage:.1f} s ({at_kill} of "
        f"{len(expected)} ledger inputs applied; {at_restart} when it came back): "
        f"{len(load.usage)} usage events, 2 workers, none lost or doubled; "
        f"{books.repeated_outputs} repeated outputs dropped by id; restarted after exiting "
        f"on their own: {supervisor.restarts}; {len(created)} topics created with 3 "
        f"replicas, min.insync.replicas 2; cluster {resident / 2**20:.0f} MiB resident at "
        f"the end; {time.monotonic() - started:.1f} s",
    )
