"""exactly_once on the real broker: a batch and its input offset commit together, and a
new owner of a partition fences off the old one."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from streams.connection import KafkaConnection
from streams.pipeline.transactions import PartitionTransactions
from tests.fixtures.broker import Kafka
from tests.fixtures.kafka_io import create_topics, read_topic


async def _committed(bootstrap: str, group: str, partition: TopicPartition) -> int | None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        return await consumer.committed(partition)
    finally:
        await consumer.stop()


async def test_a_batch_and_its_input_offset_commit_together(kafka: Kafka) -> None:
    run = uuid.uuid4().hex[:12]
    inputs, ledger, app_id = f"in-{run}", f"ledger-{run}", f"app-{run}"
    await create_topics(kafka.bootstrap, [inputs, ledger], partitions=2)
    transactions = PartitionTransactions(KafkaConnection.plaintext(kafka.bootstrap), app_id, inputs)
    await transactions.own([1])
    try:
        await transactions.commit(
            1, [(ledger, b"org-1", b"entry 1", None), (ledger, b"org-1", b"2", None)], 8
        )
    finally:
        await transactions.close()
    assert [r.value for r in await read_topic(kafka.bootstrap, ledger, count=2)] == [
        b"entry 1",
        b"2",
    ]
    assert await _committed(kafka.bootstrap, app_id, TopicPartition(inputs, 1)) == 8


async def test_the_new_owner_of_a_partition_fences_off_the_old_one(kafka: Kafka) -> None:
    run = uuid.uuid4().hex[:12]
    inputs, ledger, app_id = f"in-{run}", f"ledger-{run}", f"app-{run}"
    await create_topics(kafka.bootstrap, [inputs, ledger], partitions=1)
    connection = KafkaConnection.plaintext(kafka.bootstrap)
    old, new = (PartitionTransactions(connection, app_id, inputs) for _ in range(2))
    await old.own([0])
    await new.own([0])  # the partition moved while the old owner still runs
    try:
        with pytest.raises(KafkaError):
            await old.commit(0, [(ledger, b"org-1", b"from the zombie", None)], 5)
        await new.commit(0, [(ledger, b"org-1", b"from the owner", None)], 5)
    finally:
        await old.close()
        await new.close()
    assert [r.value for r in await read_topic(kafka.bootstrap, ledger, count=1)] == [
        b"from the owner"
    ]
