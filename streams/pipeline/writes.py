"""A batch's writes, handed to Kafka as one record batch per topic and partition.

aiokafka's ``send`` costs a coroutine, a partitioner call and a future per message, and
resolving those futures alone took a fifth of the worker's time. A stage's writes go out
with ``send_batch`` instead: one future per topic and partition, in the order written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer

from streams.connection import KafkaConnection
from streams.pipeline.partitioning import account_partition
from streams.pipeline.records import Headers

Write = tuple[str, bytes, bytes, Headers | None]  # topic, key (account first), value, headers

# Batches as large as this (the producer's max_batch_size) make fewer produce requests.
MAX_BATCH_BYTES = 256 * 1024

Where = tuple[str, int]  # topic, partition


@dataclass(frozen=True, slots=True)
class Receipt:
    """A record batch handed to the producer: where it goes, how many records it holds,
    and the future of its metadata (the offset of its first record)."""

    where: Where
    records: int
    future: asyncio.Future


async def acknowledged(receipts: list[Receipt]) -> dict[Where, int]:
    """Wait for every batch; the offset of the last record written to each partition."""
    return last_offsets(receipts, await asyncio.gather(*(r.future for r in receipts)))


def last_offsets(receipts: list[Receipt], metadata: list) -> dict[Where, int]:
    """The offset of the last record of each partition, from the batches' metadata."""
    last: dict[Where, int] = {}
    for receipt, written in zip(receipts, metadata, strict=True):
        end = written.offset + receipt.records - 1
        if end > last.get(receipt.where, -1):
            last[receipt.where] = end
    return last


class RecordBatches:
    """Writes through one producer, each on its account's partition."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer
        self._partitions: dict[str, int] = {}  # partition count per topic

    @classmethod
    async def started(cls, connection: KafkaConnection, **options: object) -> RecordBatches:
        """A new producer (aiokafka creates one only in a running event loop), started."""
        producer = AIOKafkaProducer(
            **connection.client_options(),
            acks="all",
            linger_ms=5,
            max_batch_size=MAX_BATCH_BYTES,
            **options,
        )
        await producer.start()
        return cls(producer)

    async def send(self, writes: Iterable[Write]) -> list[Receipt]:
        """Hand ``writes`` over, in order per partition; one receipt per record batch."""
        builders = {}
        receipts = []
        for topic, key, value, headers in writes:
            count = self._partitions.get(topic) or await self._count(topic)
            where = (topic, account_partition(key, count))
            builder = builders.get(where)
            if builder is None:
                builder = builders[where] = self.producer.create_batch()
            if builder.append(timestamp=None, key=key, value=value, headers=headers) is None:
                receipts.append(await self._send(where, builder))
                builder = builders[where] = self.producer.create_batch()
                if builder.append(timestamp=None, key=key, value=value, headers=headers) is None:
                    raise ValueError(f"a message for {topic} is larger than a record batch")
        for where, builder in builders.items():
            receipts.append(await self._send(where, builder))
        return receipts

    async def _send(self, where: Where, builder: object) -> Receipt:
        topic, partition = where
        future = await self.producer.send_batch(builder, topic, partition=partition)
        return Receipt(where, builder.record_count(), future)

    async def _count(self, topic: str) -> int:
        count = len(await self.producer.partitions_for(topic))
        self._partitions[topic] = count
        return count
