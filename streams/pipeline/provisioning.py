"""Create the topics a worker needs before it joins its group; existing ones are kept as is.

Faust subscribes to its internal topics when it joins the group; one that the broker has
not fully created by then is ignored until the next rebalance, which may never come. So
every topic is created, and seen in the cluster's metadata, before the worker starts.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import faust
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from streams.pipeline.topics import TopicNames
from streams.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


def topic_specs(app: faust.App, settings: Settings) -> list[TopicSpec]:
    names = TopicNames.from_settings(settings)
    specs = [TopicSpec(name, settings.partitions) for name in names.all_contract_topics()]
    specs.append(TopicSpec(names.account_inputs, settings.partitions))
    specs += [
        TopicSpec(
            table.changelog_topic.get_topic_name(),
            settings.partitions,
            {"cleanup.policy": "compact"},
        )
        for table in app.tables.values()
    ]
    return specs


async def ensure_topics(
    settings: Settings, specs: list[TopicSpec], *, max_backoff_seconds: float = 10.0
) -> list[str]:
    """Create the missing topics and wait until all are in the metadata.

    While the broker cannot be reached it waits, logging why, and tries again.
    """
    delay = 0.5
    while True:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=settings.bootstrap_servers, request_timeout_ms=10_000
        )
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [spec for spec in specs if spec.name not in existing]
            if missing:
                await _create(admin, missing)
            await _wait_for_metadata(admin, [spec.name for spec in specs])
            return [spec.name for spec in missing]
        except KafkaConnectionError as error:
            log.warning(
                "waiting for Kafka at %s (%s); next try in %.1f s", settings.broker, error, delay
            )
        finally:
            await admin.close()
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_backoff_seconds)


async def _create(admin: AIOKafkaAdminClient, specs: list[TopicSpec]) -> None:
    topics = [
        NewTopic(
            spec.name,
            num_partitions=spec.partitions,
            replication_factor=1,
            topic_configs=spec.config,
        )
        for spec in specs
    ]
    response = await admin.create_topics(topics)
    for name, code, message in response.topic_errors:
        # Another worker may have created it first: that is as good as creating it.
        if code not in (0, TopicAlreadyExistsError.errno):
            raise RuntimeError(f"could not create topic {name}: error {code} {message}")
    log.info("created topics %s", ", ".join(spec.name for spec in specs))


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
