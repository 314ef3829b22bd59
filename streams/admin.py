"""Questions an operator asks Kafka about a deployment: is the group up, is it caught up?

Each takes the connection to ask through, or the ``host:port`` of a plaintext listener.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import GroupCoordinatorNotAvailableError

from streams.connection import KafkaConnection

Kafka = KafkaConnection | str


async def group_members(kafka: Kafka, group_id: str) -> int:
    """How many members the consumer group has while it is Stable (0 otherwise)."""
    state, members = await _group(kafka, group_id)
    return members if state == "Stable" else 0


async def group_size(kafka: Kafka, group_id: str) -> int:
    """How many members the consumer group has in any state: a member that left is gone
    at once, one that died stays until its session times out."""
    _state, members = await _group(kafka, group_id)
    return members


async def _group(kafka: Kafka, group_id: str) -> tuple[str, int]:
    admin = AIOKafkaAdminClient(**_options(kafka))
    await admin.start()
    try:
        (description,) = await admin.describe_consumer_groups([group_id])
    except GroupCoordinatorNotAvailableError:  # the broker is still creating __consumer_offsets
        return "Unknown", 0
    finally:
        await admin.close()
    (group,) = description.groups
    _error, _group_id, state, _protocol_type, _protocol, members, *_ = group
    return state, len(members)


async def wait_for_group(
    kafka: Kafka, group_id: str, members: int = 1, *, timeout: float = 60.0
) -> None:
    deadline = time.monotonic() + timeout
    while await group_members(kafka, group_id) != members:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{group_id} did not reach {members} member(s) in {timeout:.0f} s")
        await asyncio.sleep(0.2)


async def group_lag(kafka: Kafka, group_id: str, topics: Iterable[str]) -> int:
    """Messages in ``topics`` the group has not committed yet."""
    consumer = AIOKafkaConsumer(**_options(kafka))
    admin = AIOKafkaAdminClient(**_options(kafka))
    await consumer.start()
    await admin.start()
    try:
        partitions = [
            TopicPartition(described["topic"], partition["partition"])
            for described in await admin.describe_topics(list(topics))
            for partition in described["partitions"]
        ]
        ends = await consumer.end_offsets(partitions)
        committed = await admin.list_consumer_group_offsets(group_id, partitions=partitions)
    finally:
        await admin.close()
        await consumer.stop()
    return sum(
        end - max(committed[tp].offset, 0) if tp in committed else end for tp, end in ends.items()
    )


def _options(kafka: Kafka) -> dict[str, object]:
    connection = KafkaConnection.plaintext(kafka) if isinstance(kafka, str) else kafka
    return connection.client_options()
