"""Create the contract's topics that are missing; existing ones are used as they are."""

from __future__ import annotations

import asyncio
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError

from streams.pipeline.topics import TopicNames
from streams.settings import Settings

log = logging.getLogger(__name__)


async def ensure_topics(settings: Settings, *, max_wait: float = 10.0) -> list[str]:
    """Create missing contract topics; wait (logging why) while the broker is unreachable."""
    wanted = TopicNames.from_settings(settings).all_contract_topics()
    delay = 0.5
    while True:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=settings.bootstrap_servers, request_timeout_ms=10_000
        )
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [name for name in wanted if name not in existing]
            if missing:
                await _create(admin, missing, settings.partitions)
            return missing
        except KafkaConnectionError as error:
            log.warning(
                "waiting for Kafka at %s (%s); retrying in %.1f s", settings.broker, error, delay
            )
        finally:
            await admin.close()
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_wait)


async def _create(admin: AIOKafkaAdminClient, names: list[str], partitions: int) -> None:
    topics = [NewTopic(name, num_partitions=partitions, replication_factor=1) for name in names]
    try:
        await admin.create_topics(topics)
    except TopicAlreadyExistsError:
        pass  # another worker created them first
    except KafkaError as error:
        raise RuntimeError(f"could not create topics {names}: {error}") from error
    log.info("created topics %s with %d partitions", ", ".join(names), partitions)
