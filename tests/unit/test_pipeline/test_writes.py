"""A batch's writes reach Kafka as one record batch per topic and partition, in order."""

from __future__ import annotations

import asyncio

from streams.pipeline.partitioning import account_partition
from streams.pipeline.writes import RecordBatches


class _Batch:
    def __init__(self, room: int) -> None:
        self.room = room
        self.messages: list[tuple[bytes, bytes, object]] = []

    def append(self, *, timestamp: object, key: bytes, value: bytes, headers: object) -> object:
        if len(self.messages) == self.room:
            return None  # full, as aiokafka's BatchBuilder says
        self.messages.append((key, value, headers))
        return object()

    def record_count(self) -> int:
        return len(self.messages)


class _Producer:
    def __init__(self, room: int = 100) -> None:
        self.room = room
        self.sent: list[tuple[str, int, list]] = []

    def create_batch(self) -> _Batch:
        return _Batch(self.room)

    async def send_batch(self, batch: _Batch, topic: str, *, partition: int) -> asyncio.Future:
        self.sent.append((topic, partition, batch.messages))
        receipt = asyncio.get_running_loop().create_future()
        receipt.set_result(None)
        return receipt

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(8))


async def test_writes_are_grouped_by_partition_in_their_order() -> None:
    producer = _Producer()
    accounts = [f"org-{n}".encode() for n in range(20)]
    writes = [("ledger", a, b"%d" % n, None) for n in range(3) for a in accounts]
    receipts = await RecordBatches(producer).send(writes)

    assert len(receipts) == len(producer.sent)
    for topic, partition, messages in producer.sent:
        assert topic == "ledger"
        assert all(account_partition(key, 8) == partition for key, _, _ in messages)
    for account in accounts:
        values = [v for _, _, m in producer.sent for k, v, _ in m if k == account]
        assert values == [b"0", b"1", b"2"]  # an account's writes keep their order
    assert len({partition for _, partition, _ in producer.sent}) == len(producer.sent)


async def test_a_full_record_batch_is_sent_and_the_next_one_continues() -> None:
    producer = _Producer(room=2)
    writes = [("ledger", b"org-1", b"%d" % n, [("kind", b"usage")]) for n in range(5)]
    await RecordBatches(producer).send(writes)

    assert [[v for _, v, _ in messages] for _, _, messages in producer.sent] == [
        [b"0", b"1"],
        [b"2", b"3"],
        [b"4"],
    ]
    assert producer.sent[0][2][0][2] == [("kind", b"usage")]
