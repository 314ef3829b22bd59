"""Only acks of messages processed in the current generation, flow running, may be committed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from aiokafka.structs import ConsumerRecord
from faust.types import TP, Message
from mode import Service

from streams.faust_fixes import MeteringApp, ProcessedOnlyConsumer
from streams.faust_fixes.stream import AckedStream
from streams.pipeline.inbox import Inbox
from tests.fixtures.waiting import wait_until

TOPIC = "billing.recharge-results"
PARTITION = TP(TOPIC, 0)


@pytest.fixture
async def app() -> AsyncIterator[MeteringApp]:
    app = MeteringApp("ack-guard", broker="kafka://localhost:9", autodiscover=False)
    app.topics._acking_topics.add(TOPIC)  # what subscribing an agent to the topic does
    app.consumer_generation_id = 7
    app.flow_control.resume()  # as table recovery does once partitions are assigned
    app.consumer.positioned(PARTITION, 0)  # as the seek after the assignment does
    yield app
    app.consumer._thread.thread_loop.close()  # never started: no broker in a unit test


def _message(offset: int, generation: int) -> Message:
    return Message(
        TOPIC, 0, offset, 0.0, 0, None, b"k", b"v", None, tp=PARTITION, generation_id=generation
    )


def _committable(app: MeteringApp) -> dict[TP, int]:
    consumer = app.consumer
    return consumer._filter_committable_offsets(consumer._filter_tps_with_pending_acks())


async def test_the_worker_uses_the_guarded_consumer(app: MeteringApp) -> None:
    assert isinstance(app.consumer, ProcessedOnlyConsumer)


async def test_a_processed_message_of_this_generation_is_committable(app: MeteringApp) -> None:
    for offset in range(3):
        assert app.consumer.ack(_message(offset, generation=7))
    assert _committable(app) == {PARTITION: 3}


async def test_a_message_fetched_before_the_rebalance_is_never_committed(app: MeteringApp) -> None:
    stale = _message(0, generation=6)
    app.consumer._unacked_messages.add(stale)
    assert not app.consumer.ack(stale)
    assert stale.acked  # nothing waits on it any more
    assert stale not in app.consumer._unacked_messages
    assert _committable(app) == {}


async def test_nothing_acked_while_the_flow_is_suspended_is_committed(app: MeteringApp) -> None:
    app.flow_control.suspend()
    assert not app.consumer.ack(_message(0, generation=7))
    app.flow_control.resume()
    assert _committable(app) == {}
    # Once the flow runs again, the redelivered copy counts.
    assert app.consumer.ack(_message(0, generation=7))
    assert _committable(app) == {PARTITION: 1}


async def test_the_message_at_the_committed_offset_is_never_jumped(app: MeteringApp) -> None:
    app.consumer.positioned(PARTITION, 3)  # the group committed 3: the next to process
    for offset in (4, 5):
        assert app.consumer.ack(_message(offset, generation=7))
    assert _committable(app) == {}  # Faust alone would commit 6 and lose 3
    # 3 comes back only with a new seek, which delivers 4 and 5 again after it.
    for offset in (3, 4, 5):
        assert app.consumer.ack(_message(offset, generation=7))
    assert _committable(app) == {PARTITION: 6}


class _Broker:
    def __init__(self) -> None:
        self.asked = asyncio.Event()
        self.answers = asyncio.Event()

    async def commit(self, offsets: dict[TP, int]) -> bool:
        self.asked.set()
        await self.answers.wait()
        return True


@pytest.fixture
def broker(app: MeteringApp, monkeypatch: pytest.MonkeyPatch) -> _Broker:
    """Faust's _commit_offsets runs for real up to the broker, which answers when told."""
    consumer = app.consumer
    stand_in = _Broker()

    async def flushed() -> None:
        return None

    monkeypatch.setattr(consumer, "assignment", lambda: {PARTITION})
    monkeypatch.setattr(consumer, "_commit", stand_in.commit)
    monkeypatch.setattr(app.producer, "flush", flushed)
    return stand_in


async def test_what_was_committed_is_not_committed_again(app: MeteringApp, broker: _Broker) -> None:
    broker.answers.set()
    for offset in range(3):
        app.consumer.ack(_message(offset, generation=7))
    assert await app.consumer._commit_offsets(_committable(app))
    assert _committable(app) == {}
    app.consumer.ack(_message(3, generation=7))
    assert _committable(app) == {PARTITION: 4}


async def test_a_commit_that_ends_after_a_new_position_counts_for_the_old_one_only(
    app: MeteringApp, broker: _Broker
) -> None:
    consumer = app.consumer
    for offset in range(40):
        consumer.ack(_message(offset, generation=7))
    commit = asyncio.create_task(consumer._commit_offsets(_committable(app)))  # of 40
    await asyncio.wait_for(broker.asked.wait(), 5)
    # Meanwhile a rebalance: another worker had the partition and committed 50.
    consumer.positioned(PARTITION, 50)
    broker.answers.set()
    assert await commit
    for offset in range(50, 52):
        assert consumer.ack(_message(offset, generation=7))
    assert _committable(app) == {PARTITION: 52}
    assert await consumer._commit_offsets(_committable(app))
    assert _committable(app) == {}


def _fetched(*offsets: int) -> list[Message]:
    return [_message(offset, generation=7) for offset in offsets]


@pytest.fixture
def seeks(app: MeteringApp) -> list[tuple[TP, int]]:
    sought: list[tuple[TP, int]] = []

    async def seek(offsets: dict[TP, int]) -> None:
        sought.extend(offsets.items())

    app.consumer._seek_in_consumer_thread = seek  # no consumer thread in a unit test
    return sought


async def test_a_batch_that_continues_the_partition_is_admitted_whole(
    app: MeteringApp, seeks: list[tuple[TP, int]]
) -> None:
    messages = _fetched(0, 1, 2)
    assert await app.consumer.admit(messages) == messages
    assert seeks == []


async def test_events_past_a_lost_message_wait_for_it_to_be_read_again(
    app: MeteringApp, seeks: list[tuple[TP, int]]
) -> None:
    first = _fetched(0, 1, 3, 4)  # 2 never reached the stage
    admitted = await app.consumer.admit(first)
    assert [m.offset for m in admitted] == [0, 1]
    assert seeks == [(PARTITION, 2)]
    app.consumer.ack_all(admitted)
    assert _committable(app) == {PARTITION: 2}

    again = _fetched(1, 2, 3, 4)  # a stale 1, then 2-4 read again
    assert [m.offset for m in await app.consumer.admit(again)] == [2, 3, 4]
    assert len(seeks) == 1


async def test_streams_ack_through_the_consumer_not_faust_compiled_shortcut(
    app: MeteringApp,
) -> None:
    """Faust's compiled iterator would write acks into its own bookkeeping, unchecked."""
    assert isinstance(app.stream([]), AckedStream)


async def test_acks_that_come_before_the_partition_is_positioned_count_once_it_is(
    app: MeteringApp,
) -> None:
    fresh = TP(TOPIC, 1)
    for offset in range(3):  # Faust delivers while it still seeks, after the flow resumed
        message = _message(offset, generation=7)
        message.tp = fresh
        assert app.consumer.ack(message)
    assert fresh not in _committable(app)
    app.consumer.positioned(fresh, 0)
    assert _committable(app)[fresh] == 3


async def test_messages_fetched_before_a_seek_back_do_not_seek_again(
    app: MeteringApp, seeks: list[tuple[TP, int]]
) -> None:
    admitted = await app.consumer.admit(_fetched(0, 5, 6))  # 1-4 lost
    assert [m.offset for m in admitted] == [0]
    app.consumer.ack_all(admitted)
    # The inbox still held more of what was fetched before the seek back to 1.
    assert await app.consumer.admit(_fetched(7, 8)) == []
    assert seeks == [(PARTITION, 1)]
    assert [m.offset for m in await app.consumer.admit(_fetched(1, 2, 3))] == [1, 2, 3]


async def test_a_run_read_again_in_the_same_batch_as_the_gap_is_applied_in_order(
    app: MeteringApp, seeks: list[tuple[TP, int]]
) -> None:
    """The loss the broker-kill test found: the stale run past a gap and the run read
    again behind it were taken in one batch; the re-read was left out but acked, so the
    processed offset passed inputs that were never applied."""
    app.consumer.ack_all(await app.consumer.admit(_fetched(0, 1)))
    batch = _fetched(5, 6, 2, 3, 4, 5, 6)  # 2-4 lost before 5-6; then read again from 2
    admitted = await app.consumer.admit(batch)
    assert [m.offset for m in admitted] == [2, 3, 4, 5, 6]
    app.consumer.ack_all(admitted)
    assert _committable(app) == {PARTITION: 7}


async def test_a_message_left_out_never_counts_as_processed(
    app: MeteringApp, seeks: list[tuple[TP, int]]
) -> None:
    admitted = await app.consumer.admit(_fetched(0, 3, 4))  # 1-2 lost
    app.consumer.ack_all(admitted)
    assert _committable(app) == {PARTITION: 1}
    # Only 1 arrives (2 is still on its way): 1 is applied, 3 and 4 wait behind 2.
    admitted = await app.consumer.admit(_fetched(1, 3, 4))
    assert [m.offset for m in admitted] == [1]
    app.consumer.ack_all(admitted)
    assert _committable(app) == {PARTITION: 2}


class _Fetches:
    """Stands in for the consumer thread's fetches: each returns when released."""

    def __init__(self, app: MeteringApp) -> None:
        self.pending: asyncio.Queue[dict[TP, list[ConsumerRecord]]] = asyncio.Queue()
        self.started = asyncio.Event()
        app.consumer._wait_next_records = self.next_records
        app.consumer.flow_active = True

    async def next_records(self, timeout: float) -> tuple[dict, None]:
        self.started.set()
        return await self.pending.get(), None

    def release(self, *offsets: int, topic: str = TOPIC) -> None:
        tp = TP(topic, 0)
        self.pending.put_nowait(
            {tp: [ConsumerRecord(topic, 0, o, 0, 0, b"k", b"v", None, 1, 1, []) for o in offsets]}
        )


@pytest.fixture
async def fetching(app: MeteringApp) -> AsyncIterator[tuple[_Fetches, Inbox]]:
    fetches, inbox = _Fetches(app), Inbox(room=100)
    app.consumer.hand_runs_to([TOPIC], inbox)
    fetcher = Service()
    loop = asyncio.create_task(app.consumer._drain_messages(fetcher))
    yield fetches, inbox
    loop.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await loop


async def test_each_fetched_run_reaches_the_inbox_whole(
    app: MeteringApp, fetching: tuple[_Fetches, Inbox]
) -> None:
    fetches, inbox = fetching
    fetches.release(0, 1, 2)
    fetches.release(3, 4)

    async def all_arrived() -> bool:
        return inbox.waiting == 5

    await wait_until(all_arrived, timeout=5, what="both runs in the inbox", every=0.01)
    assert [[m.offset for m in run] for run in inbox._runs] == [[0, 1, 2], [3, 4]]
    # A stage takes what has gathered, whole runs up to its limit.
    assert [m.offset for m in await inbox.take(limit=4)] == [0, 1, 2]
    assert [m.offset for m in await inbox.take(limit=4)] == [3, 4]


async def test_a_seek_waits_for_the_fetch_in_flight_to_be_handed_over(
    app: MeteringApp, fetching: tuple[_Fetches, Inbox], seeks: list[tuple[TP, int]]
) -> None:
    fetches, inbox = fetching
    await asyncio.wait_for(fetches.started.wait(), 5)  # a fetch is in flight
    rewind = asyncio.create_task(app.consumer._rewind(PARTITION, 0, 5))

    async def rewind_waits_for_the_lock() -> bool:
        return bool(app.consumer._fetching._waiters)  # asyncio.Lock's queue of waiters

    await wait_until(rewind_waits_for_the_lock, timeout=5, what="the seek to wait", every=0.01)
    assert seeks == []  # its messages may predate the seek: they are handed over first
    fetches.release(5, 6)
    await asyncio.wait_for(rewind, 5)
    assert seeks == [(PARTITION, 0)]
    assert [m.offset for m in inbox._runs[0]] == [5, 6]
    assert app.consumer._next_offset[PARTITION] == 0  # what the seek fetches next
