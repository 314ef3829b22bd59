"""exactly_once: each account-inputs partition writes its batches in Kafka transactions.

One transactional producer per owned partition, with the id ``<app_id>-accounts-<p>``.
A batch's outputs, dedupe records, states and the partition's next offset commit
together or not at all. When a partition moves, its new owner starts a producer with the
same id: Kafka then aborts the previous owner's open transaction and refuses its later
writes (a worker that lost the group without knowing it, a zombie, can no longer apply an
input a second time). Readers of the changelogs and outputs use read_committed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence

from aiokafka import AIOKafkaProducer, TopicPartition

from streams.pipeline.partitioning import account_partitioner

log = logging.getLogger(__name__)

Write = tuple[str, bytes, bytes]  # topic, key, value


class PartitionTransactions:
    def __init__(self, bootstrap: Sequence[str], app_id: str, inputs_topic: str) -> None:
        self.bootstrap = list(bootstrap)
        self.app_id = app_id
        self.inputs_topic = inputs_topic
        self._producers: dict[int, AIOKafkaProducer] = {}
        self._lock = asyncio.Lock()

    def transactional_id(self, partition: int) -> str:
        return f"{self.app_id}-accounts-{partition}"

    async def own(self, partitions: Iterable[int]) -> None:
        """Hold a producer for exactly these partitions; a new one fences the old owner."""
        wanted = set(partitions)
        async with self._lock:
            released = [self._producers.pop(p) for p in sorted(set(self._producers) - wanted)]
            if released:
                # A producer stuck in a transaction the broker no longer answers for would
                # hold up the rebalance; the new owner fences it off in any case.
                await asyncio.wait([asyncio.ensure_future(p.stop()) for p in released], timeout=5)
            starting = sorted(wanted - set(self._producers))
            producers = {p: self._new_producer(p) for p in starting}
            await asyncio.gather(*(producer.start() for producer in producers.values()))
            self._producers.update(producers)
        if starting:
            log.info("transactional producers started for account-inputs %s", starting)

    async def commit(self, partition: int, writes: Sequence[Write], next_offset: int) -> None:
        """Write ``writes`` and move the group past ``next_offset - 1``, atomically."""
        producer = self._producers.get(partition)
        if producer is None:
            raise RuntimeError(f"account-inputs[{partition}] has no transactional producer")
        async with producer.transaction():
            receipts = [await producer.send(topic, value, key=key) for topic, key, value in writes]
            await producer.send_offsets_to_transaction(
                {TopicPartition(self.inputs_topic, partition): next_offset}, self.app_id
            )
            await asyncio.gather(*receipts)

    async def close(self) -> None:
        await self.own(())

    def _new_producer(self, partition: int) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            transactional_id=self.transactional_id(partition),
            partitioner=account_partitioner,
            acks="all",
            linger_ms=5,
            # The broker answers a batch sent while its previous transaction still ends
            # with a retriable error (KIP-890 verification): retry soon.
            retry_backoff_ms=20,
        )
