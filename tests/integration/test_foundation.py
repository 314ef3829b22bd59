"""The foundation against the real broker: clients, transactions, a worker and its table."""

from __future__ import annotations

import uuid

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from tests.fixtures.broker import Kafka
from tests.fixtures.kafka_io import create_topics, produce, read_topic
from tests.fixtures.workers import Workers

TALLY = "tests.fixtures.apps.tally"


async def test_transactions_commit_and_abort(kafka: Kafka) -> None:
    topic = f"tx-{uuid.uuid4().hex}"
    await create_topics(kafka.bootstrap, [topic], partitions=1)
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap, transactional_id=f"tx-{uuid.uuid4().hex}"
    )
    await producer.start()
    try:
        await producer.begin_transaction()
        await producer.send_and_wait(topic, b"aborted")
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send_and_wait(topic, b"committed")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka.bootstrap,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=10_000)
        values = [record.value for records in batches.values() for record in records]
    finally:
        await consumer.stop()
    assert values == [b"committed"]


def _events(amounts: dict[str, list[int]]) -> list[tuple[bytes, bytes]]:
    rounds = max(len(values) for values in amounts.values())
    return [
        (account.encode(), orjson.dumps({"account_id": account, "amount": values[i]}))
        for i in range(rounds)
        for account, values in amounts.items()
        if i < len(values)
    ]


def _last_totals(records) -> dict[str, tuple[int, int]]:
    totals: dict[str, tuple[int, int]] = {}
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        message = orjson.loads(record.value)
        totals[message["account_id"]] = (message["total"], message["count"])
    return totals


async def test_table_survives_a_new_worker_through_its_changelog(
    kafka: Kafka, workers: Workers
) -> None:
    run = uuid.uuid4().hex[:12]
    prefix, app_id = f"t{run}.", f"tally-{run}"
    env = {"STREAMS_TOPIC_PREFIX": prefix, "STREAMS_APP_ID": app_id, "STREAMS_PARTITIONS": "4"}
    # Faust creates this app's topics itself, with STREAMS_REPLICATION_FACTOR replicas and
    # no cap (the worker's provisioning caps it at the brokers): one fits any broker.
    env["STREAMS_REPLICATION_FACTOR"] = "1"
    await create_topics(kafka.bootstrap, [f"{prefix}tally.in", f"{prefix}tally.out"], 4)
    amounts = {f"org-{n}": [n + 1, 10 * n, 7] for n in range(8)}

    first = workers.start(TALLY, env, name="first")
    await workers.wait_stable(app_id, members=1)
    await produce(kafka.bootstrap, f"{prefix}tally.in", _events(amounts))
    outputs = await read_topic(kafka.bootstrap, f"{prefix}tally.out", count=24)
    assert _last_totals(outputs) == {
        account: (sum(values), len(values)) for account, values in amounts.items()
    }
    assert first.stop() == 0

    # A new worker with an empty data directory: only the changelog can tell it the totals.
    workers.start(TALLY, env, name="second")
    await workers.wait_stable(app_id, members=1)
    await produce(kafka.bootstrap, f"{prefix}tally.in", _events({a: [1000] for a in amounts}))
    outputs = await read_topic(kafka.bootstrap, f"{prefix}tally.out", count=32)
    assert _last_totals(outputs) == {
        account: (sum(values) + 1000, len(values) + 1) for account, values in amounts.items()
    }
