"""Only acks of messages processed in the current generation, flow running, may be committed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from faust.types import TP, Message

from streams.pipeline.consumer import MeteringApp, ProcessedOnlyConsumer

TOPIC = "billing.recharge-results"
PARTITION = TP(TOPIC, 0)


@pytest.fixture
async def app() -> AsyncIterator[MeteringApp]:
    app = MeteringApp("ack-guard", broker="kafka://localhost:9", autodiscover=False)
    app.topics._acking_topics.add(TOPIC)  # what subscribing an agent to the topic does
    app.consumer_generation_id = 7
    app.flow_control.resume()  # as table recovery does once partitions are assigned
    yield app
    app.consumer._thread.thread_loop.close()  # never started: no broker in a unit test


def _message(offset: int, generation: int) -> Message:
    return Message(
        TOPIC, 0, offset, 0.0, 0, None, b"k", b"v", None, tp=PARTITION, generation_id=generation
    )


def _committable(app: MeteringApp) -> dict[TP, int]:
    consumer = app.consumer
    return consumer._filter_committable_offsets(list(consumer._acked))


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
    app.consumer._committed_offset[PARTITION] = 3  # the next message to process is 3
    for offset in (4, 5):
        assert app.consumer.ack(_message(offset, generation=7))
    assert _committable(app) == {}  # Faust alone would commit 6 and lose 3
    assert app.consumer.ack(_message(3, generation=7))
    assert _committable(app) == {PARTITION: 6}
