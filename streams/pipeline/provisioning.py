"""Create the topics a worker needs before it joins its group; existing ones are kept as is.

Faust subscribes to its internal topics when it joins the group; one that the broker has
not fully created by then is ignored until the next rebalance, which may never come. So
every topic is created, and seen in the cluster's metadata, before the worker starts.

Each gets ``STREAMS_REPLICATION_FACTOR`` replicas, at most as many as the cluster has
brokers, and ``min.insync.replicas`` one below that: with the producers' ``acks=all``, a
write is acknowledged once it is on two brokers of three, and one broker may fail.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import faust
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from streams.connection import KafkaConnection, KafkaRefused, diagnose
from streams.faust_fixes import leader_topic_name
from streams.pipeline.topics import TopicNames
from streams.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Replication:
    """Replicas of each created topic, and how many must have a write before it counts."""

    factor: int
    min_insync: int

    @classmethod
    def for_cluster(cls, wanted: int, brokers: int) -> Replication:
        """``wanted`` replicas, at most one per broker; ``min.insync.replicas`` one below."""
        factor = max(1, min(wanted, brokers))
        return cls(factor, max(1, factor - 1))

    @property
    def config(self) -> dict[str, str]:
        return {"min.insync.replicas": str(self.min_insync)}


def topic_specs(app: faust.App, settings: Settings) -> list[TopicSpec]:
    names = TopicNames.from_settings(settings)
    compact, compacted = {"cleanup.policy": "compact"}, names.compacted()
    specs = [
        TopicSpec(name, settings.partitions, compact if name in compacted else {})
        for name in names.all_contract_topics()
    ]
    specs.append(TopicSpec(names.account_inputs, settings.partitions))
    # Faust's leader assignor's one-partition topic: created here, it gets the replication
    # of the others (see leader_topic_name).
    specs.append(TopicSpec(leader_topic_name(app), 1))
    specs += [
        TopicSpec(table.changelog_topic.get_topic_name(), settings.partitions, compact)
        for table in app.tables.values()
    ]
    return specs


async def ensure_topics(
    settings: Settings, specs: list[TopicSpec], *, max_backoff_seconds: float = 10.0
) -> list[str]:
    """Create the missing topics and wait until all are in the metadata.

    While the broker cannot be reached it waits, logging why, and tries again. A broker
    that refuses the credentials or the certificate is not waited for: KafkaRefused.
    """
    connection = KafkaConnection.from_settings(settings)
    delay = 0.5
    while True:
        admin = AIOKafkaAdminClient(**connection.client_options(), request_timeout_ms=10_000)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [spec for spec in specs if spec.name not in existing]
            if missing:
                replication = await _replication(admin, settings.replication_factor)
                await _create(admin, missing, replication)
            await _wait_for_metadata(admin, [spec.name for spec in specs])
            return [spec.name for spec in missing]
        except KafkaConnectionError as error:
            # aiokafka says only "Unable to bootstrap": a connection of our own says why.
            problem = await diagnose(connection)
            if problem is not None and problem.refused:
                raise KafkaRefused(str(problem)) from None
            log.warning(
                "waiting for Kafka at %s (%s); next try in %.1f s",
                settings.broker,
                f"{problem.server} {problem.reason}" if problem else error,
                delay,
            )
        finally:
            await admin.close()
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_backoff_seconds)


async def _replication(admin: AIOKafkaAdminClient, wanted: int) -> Replication:
    brokers = len((await admin.describe_cluster())["brokers"])
    replication = Replication.for_cluster(wanted, brokers)
    if replication.factor < wanted:
        log.warning(
            "STREAMS_REPLICATION_FACTOR is %d but the cluster reports %d broker(s): "
            "new topics get %d replica(s)",
            wanted,
            brokers,
            replication.factor,
        )
    return replication


def new_topics(specs: list[TopicSpec], replication: Replication) -> list[NewTopic]:
    """What to ask Kafka for: a spec's own config wins over the replication's."""
    return [
        NewTopic(
            spec.name,
            num_partitions=spec.partitions,
            replication_factor=replication.factor,
            topic_configs={**replication.config, **spec.config},
        )
        for spec in specs
    ]


async def _create(
    admin: AIOKafkaAdminClient, specs: list[TopicSpec], replication: Replication
) -> None:
    response = await admin.create_topics(new_topics(specs, replication))
    for name, code, message in response.topic_errors:
        # Another worker may have created it first: that is as good as creating it.
        if code not in (0, TopicAlreadyExistsError.errno):
            raise RuntimeError(f"could not create topic {name}: error {code} {message}")
    log.info(
        "created topics %s (%d replica(s), min.insync.replicas %d)",
        ", ".join(spec.name for spec in specs),
        replication.factor,
        replication.min_insync,
    )


async def _wait_for_metadata(
    admin: AIOKafkaAdminClient, names: list[str], timeout: float = 30.0
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        described = await admin.describe_topics(names)
        ready = {
            topic["topic"]
            for topic in described
            if topic["error_code"] == 0
            and topic["partitions"]
            and all(partition["leader"] >= 0 for partition in topic["partitions"])
        }
        if ready >= set(names):
            return
        if loop.time() > deadline:
            raise TimeoutError(f"topics not ready after {timeout:.0f} s: {set(names) - ready}")
        await asyncio.sleep(0.2)
