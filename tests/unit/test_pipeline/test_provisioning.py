"""Replication of the topics a worker creates: the factor asked for, capped at the brokers
the cluster reports, and min.insync.replicas one below it. No broker: a stand-in admin."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiokafka.admin import NewTopic

from streams.app import create_app
from streams.connection import KafkaConnection
from streams.pipeline import provisioning, writes
from streams.pipeline.provisioning import (
    Replication,
    TopicSpec,
    ensure_topics,
    new_topics,
    topic_specs,
)
from streams.pipeline.tables import Tables
from streams.pipeline.transactions import PartitionTransactions
from streams.pipeline.writer import Writer
from streams.settings import Settings


@pytest.mark.parametrize(
    ("wanted", "brokers", "factor", "min_insync"),
    [
        (3, 3, 3, 2),
        (3, 5, 3, 2),
        (3, 2, 2, 1),
        (3, 1, 1, 1),
        (1, 3, 1, 1),
        (2, 3, 2, 1),
        (5, 7, 5, 4),
    ],
)
def test_the_factor_is_capped_at_the_brokers_and_min_insync_is_one_below(
    wanted: int, brokers: int, factor: int, min_insync: int
) -> None:
    assert Replication.for_cluster(wanted, brokers) == Replication(factor, min_insync)


def test_each_new_topic_gets_the_replication_and_keeps_its_own_config() -> None:
    specs = [
        TopicSpec("ledger", 8),
        TopicSpec("accounts-changelog", 8, {"cleanup.policy": "compact"}),
    ]
    topics = new_topics(specs, Replication(3, 2))
    assert [(t.name, t.num_partitions, t.replication_factor) for t in topics] == [
        ("ledger", 8, 3),
        ("accounts-changelog", 8, 3),
    ]
    assert topics[0].topic_configs == {"min.insync.replicas": "2"}
    assert topics[1].topic_configs == {"min.insync.replicas": "2", "cleanup.policy": "compact"}


@dataclass
class _Created:
    topic_errors: list[tuple[str, int, str]]


@dataclass
class FakeAdmin:
    """What ensure_topics asks of AIOKafkaAdminClient, for a cluster of ``brokers``."""

    brokers: int
    existing: set[str] = field(default_factory=set)
    created: list[NewTopic] = field(default_factory=list)

    def __call__(self, **_options: object) -> FakeAdmin:  # stands in for the class
        return self

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def list_topics(self) -> list[str]:
        return sorted(self.existing)

    async def describe_cluster(self) -> dict:
        return {"brokers": [{"node_id": n} for n in range(1, self.brokers + 1)]}

    async def create_topics(self, topics: list[NewTopic]) -> _Created:
        self.created += topics
        self.existing |= {topic.name for topic in topics}
        return _Created([(topic.name, 0, "") for topic in topics])

    async def describe_topics(self, names: list[str]) -> list[dict]:
        partition = {"partition": 0, "leader": 1}
        return [{"topic": name, "error_code": 0, "partitions": [partition]} for name in names]


@pytest.mark.parametrize(("brokers", "factor", "min_insync"), [(1, 1, 1), (2, 2, 1), (3, 3, 2)])
async def test_ensure_topics_asks_the_cluster_how_many_brokers_it_has(
    monkeypatch: pytest.MonkeyPatch, brokers: int, factor: int, min_insync: int
) -> None:
    admin = FakeAdmin(brokers, existing={"kept"})
    monkeypatch.setattr(provisioning, "AIOKafkaAdminClient", admin)
    specs = [TopicSpec("kept", 8), TopicSpec("new", 8)]
    created = await ensure_topics(Settings(replication_factor=3), specs)
    assert created == ["new"]  # an existing topic is left as it is
    assert [(t.name, t.replication_factor) for t in admin.created] == [("new", factor)]
    assert admin.created[0].topic_configs == {"min.insync.replicas": str(min_insync)}


def test_the_worker_creates_faust_s_leader_topic_too(tmp_path: Path) -> None:
    """Faust's own topics, created by the worker before Faust could: the changelogs and the
    leader assignor's topic. Faust would create them without min.insync.replicas."""
    settings = Settings(data_dir=tmp_path, app_id="metering", partitions=4)
    app = create_app(settings)
    Tables.declare(app, settings.partitions, settings.store)
    specs = {spec.name: spec for spec in topic_specs(app, settings)}
    assert specs["metering-__assignor-__leader"] == TopicSpec("metering-__assignor-__leader", 1)
    changelogs = [spec for name, spec in specs.items() if name.endswith("-changelog")]
    assert {spec.name for spec in changelogs} == {
        "metering-accounts-changelog",
        "metering-seen-inputs-changelog",
        "metering-usage-windows-changelog",
    }
    assert all(spec.config == {"cleanup.policy": "compact"} for spec in changelogs)


def test_faust_s_own_producer_waits_for_every_in_sync_replica(tmp_path: Path) -> None:
    """The app's producer (commands from the HTTP API) uses acks=all (-1); Faust's replica
    count for a topic it would create itself follows the setting."""
    app = create_app(Settings(data_dir=tmp_path, replication_factor=3))
    assert app.conf.producer_acks == -1
    assert app.conf.topic_replication_factor == 3


class _Producer:
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


async def test_the_stages_producers_wait_for_every_in_sync_replica(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The outputs and changelogs go through the Writer (idempotent) or a transactional
    producer per partition: both with acks=all, so min.insync.replicas holds for them."""
    made: list[dict] = []
    monkeypatch.setattr(writes, "AIOKafkaProducer", lambda **o: made.append(o) or _Producer())
    connection = KafkaConnection.plaintext("127.0.0.1:9092")
    await Writer(connection).start()
    await PartitionTransactions(connection, "metering", "metering-account-inputs").own([0, 1])
    assert [options["acks"] for options in made] == ["all", "all", "all"]
    assert made[0]["enable_idempotence"] is True
    assert [options.get("transactional_id") for options in made[1:]] == [
        "metering-accounts-0",
        "metering-accounts-1",
    ]
