"""A batch's writes, handed to Kafka as one record batch per topic and partition.

aiokafka's ``send`` costs a coroutine, a partitioner call and a future per message, and
resolving those futures alone took a fifth of the worker's time. A stage's writes go out
with ``send_batch`` instead: one future per topic and partition, in the order written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiokafka import AIOKafkaProducer

from streams.pipeline.partitioning import account_partition
from streams.pipeline.records import Headers

Write = tuple[str, bytes, bytes, Headers | None]  # topic, key (account first), value, headers

# Batches as large as this (the producer's max_batch_size) make fewer produce requests.
MAX_BATCH_BYTES = 256 * 1024


class RecordBatches:
    """Writes through one producer, each on its account's partition."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer
        self._partitions: dict[str, int] = {}  # partition count per topic

    @classmethod
    async def started(cls, bootstrap: list[str], **options: object) -> RecordBatches:
        """A new producer (aiokafka creates one only in a running event loop), started."""
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            linger_ms=5,
            max_batch_size=MAX_BATCH_BYTES,
            **options,
        )
        await producer.start()
        return cls(producer)

    async def send(self, writes: Iterable[Write]) -> list[asyncio.Future]:
        """Hand ``writes`` over, in order per partition; one receipt per record batch."""
        producer = self.producer
        builders = {}
        receipts = []
        for topic, key, value, headers in writes:
            count = self._partitions.get(topic) or await self._count(topic)
            where = (topic, account_partition(key, count))
            builder = builders.get(where)
            if builder is None:
                builder = builders[where] = producer.create_batch()
            if builder.append(timestamp=None, key=key, value=value, headers=headers) is None:
                receipts.append(await producer.send_batch(builder, topic, partition=where[1]))
                builder = builders[where] = producer.create_batch()
                if builder.append(timestamp=None, key=key, value=value, headers=headers) is None:
                    raise ValueError(f"a message for {topic} is larger than a record batch")
        for (topic, partition), builder in builders.items():
            receipts.append(await producer.send_batch(builder, topic, partition=partition))
        return receipts

    async def _count(self, topic: str) -> int:
        count = len(await self.producer.partitions_for(topic))
        self._partitions[topic] = count
        return count
