"""Only acks of messages processed in the current generation, flow running, may be committed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from faust.types import TP, Message

from streams.pipeline.consumer import AckedStream, MeteringApp, ProcessedOnlyConsumer

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


async def test_a_commit_that_ends_after_a_new_position_does_not_hold_the_partition(
    app: MeteringApp,
) -> None:
    for offset in range(3):
        app.consumer.ack(_message(offset, generation=7))
    # A rebalance: the previous owner committed 30, and this worker continues from there.
    app.consumer.positioned(PARTITION, 30)
    app.consumer._filter_committable_offsets([PARTITION])  # the commit of 3, late
    for offset in range(30, 32):
        assert app.consumer.ack(_message(offset, generation=7))
    assert _committable(app) == {PARTITION: 32}


class _Event:
    def __init__(self, offset: int) -> None:
        self.message = _message(offset, generation=7)


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
    events = [_Event(offset) for offset in range(3)]
    assert await app.consumer.admit(events) == events
    assert seeks == []


async def test_events_past_a_lost_message_wait_for_it_to_be_read_again(
    app: MeteringApp, seeks: list[tuple[TP, int]]
) -> None:
    first = [_Event(0), _Event(1), _Event(3), _Event(4)]  # 2 never reached the agent
    assert [e.message.offset for e in await app.consumer.admit(first)] == [0, 1]
    assert seeks == [(PARTITION, 2)]
    for event in first:  # take_events acks the whole batch; 3 and 4 count for nothing
        app.consumer.ack(event.message)
    assert _committable(app) == {PARTITION: 2}

    again = [_Event(offset) for offset in range(1, 5)]  # a stale 1, then 2-4 read again
    assert [e.message.offset for e in await app.consumer.admit(again)] == [2, 3, 4]
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


async def test_a_partition_being_read_again_keeps_faust_from_skipping_the_re_read(
    app: MeteringApp, seeks: list[tuple[TP, int]]
) -> None:
    await app.consumer.admit([_Event(0), _Event(5)])  # 1-4 lost: read again from 1
    read_offset = app.consumer._read_offset
    read_offset[PARTITION] = 9  # Faust hands over 9, fetched before the rewind, and moves on
    assert read_offset[PARTITION] == 1  # so that 1 and what follows still pass its filter
