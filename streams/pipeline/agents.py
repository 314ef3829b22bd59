"""The Faust agents and tables of the metering pipeline. Thin: decode, route, call, send."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime

import faust
from faust.types import TP

from streams.domain import RateCard
from streams.pipeline.accounts import AccountBatch, Plan
from streams.pipeline.drain import Drain, exit_for_redelivery
from streams.pipeline.ingest import route
from streams.pipeline.records import Origin, Record, record_from
from streams.pipeline.topics import DEAD_LETTER, OUTPUTS, TopicNames
from streams.pipeline.transactions import PartitionTransactions
from streams.settings import Settings
from streams.wire.decode import Decoder

log = logging.getLogger(__name__)

# A batch is what one take_events call hands over: at most this many inputs, or what
# arrived within BATCH_WITHIN seconds. One flush and one state write per account per batch.
BATCH_MAX = 1000
BATCH_WITHIN = 0.05
# A batch whose writes Kafka has not acknowledged by then is given up: the worker exits
# without commit and, restarted, is delivered the batch again. The producer's own send
# futures can hang for minutes after the broker was killed and came back.
DELIVERY_TIMEOUT = 60.0


def _now() -> datetime:
    return datetime.now(UTC)


def register(
    app: faust.App, settings: Settings, rate_card: RateCard, decoder: Decoder, drain: Drain
) -> None:
    names = TopicNames.from_settings(settings)
    kinds = names.kind_of()
    inputs = app.topic(*kinds, key_type=bytes, value_type=bytes)
    account_inputs = app.topic(
        names.account_inputs,
        key_type=bytes,
        value_type=bytes,
        partitions=settings.partitions,
        internal=True,
    )
    topic_of = {name: names.contract(name) for name in OUTPUTS}
    accounts = app.Table(
        "accounts",
        key_type=bytes,
        value_type=bytes,
        partitions=settings.partitions,
        use_partitioner=True,
        help="Account state (balance, auto-recharge, pending request) by account id",
    )
    seen_inputs = app.Table(
        "seen-inputs",
        key_type=bytes,
        value_type=bytes,
        partitions=settings.partitions,
        use_partitioner=True,
        help="Offset at which each input id was first applied, by account id + input id",
    )
    batch = AccountBatch(
        rate_card=rate_card,
        default_currency=settings.currency,
        load_state=accounts.get,
        seen_at=seen_inputs.get,
    )

    async def forward(events: list[faust.EventT]) -> None:
        sends = []
        for event in events:
            message = event.message
            origin = Origin(message.topic, message.partition, message.offset, message.key)
            routed = route(decoder, kinds[message.topic], origin, message.value, _now())
            if routed.reason is None:
                sends.append(
                    send(inputs_topic, routed.key, routed.value, None, None, routed.headers)
                )
                continue
            log.warning(
                "dead letter from %s/%d@%d: %s",
                origin.topic,
                origin.partition,
                origin.offset,
                routed.reason,
            )
            sends.append(send(topic_of[DEAD_LETTER], routed.key, routed.value, None, None, None))
        await _delivered(sends)

    async def deliver(plan: Plan) -> None:
        await _delivered(
            [
                send(topic_of[topic], key, value, None, None, None)
                for topic, key, value in plan.sends
            ]
            + [send(seen_topic, key, value, None, None, None) for key, value in plan.seen.items()]
        )
        seen_inputs.raw_update(plan.seen)
        # Only now that its outputs and dedupe records are in Kafka, the new states.
        await _delivered(
            [
                send(accounts_topic, key, value, None, None, None)
                for key, value in plan.states.items()
            ]
        )
        accounts.raw_update(plan.states)

    # Straight to the producer: Faust's Topic.send (channel, message building, callbacks)
    # cost a quarter of the worker's time per forwarded input. The producer's partitioner
    # is the account partitioner, as for every topic here.
    send = app.producer.send
    inputs_topic = names.account_inputs
    seen_topic = seen_inputs.changelog_topic.get_topic_name()
    accounts_topic = accounts.changelog_topic.get_topic_name()

    async def apply_at_least_once(by_partition: dict[int, list[Record]]) -> None:
        records = [record for records in by_partition.values() for record in records]
        await deliver(batch.plan(records, _now()))

    transactions = PartitionTransactions(
        [url.authority for url in app.conf.broker_producer], app.conf.id, inputs_topic
    )

    async def apply_in_transactions(by_partition: dict[int, list[Record]]) -> None:
        now = _now()

        async def commit(partition: int, records: list[Record]) -> None:
            plan = batch.plan(records, now)
            writes = [(topic_of[topic], key, value) for topic, key, value in plan.sends]
            writes += [(seen_topic, key, value) for key, value in plan.seen.items()]
            writes += [(accounts_topic, key, value) for key, value in plan.states.items()]
            await transactions.commit(partition, writes, records[-1].offset + 1)
            seen_inputs.raw_update(plan.seen)
            accounts.raw_update(plan.states)

        await _within_timeout(
            asyncio.gather(*(commit(p, records) for p, records in by_partition.items())),
            what="a batch's transactions",
        )

    if settings.processing_guarantee == "exactly_once":
        apply = apply_in_transactions
        app.consumer.commit_in_transactions(inputs_topic)

        # Before table recovery: the new producers fence off the previous owner first, so
        # that recovery reads every transaction it committed and none that it may still.
        async def own_transactions(assigned: set[TP]) -> None:
            await transactions.own(tp.partition for tp in assigned if tp.topic == inputs_topic)

        app.consumer.before_assignment(own_transactions)
    else:
        apply = apply_at_least_once

    @app.agent(inputs, name="ingest")
    async def ingest(stream: faust.StreamT) -> None:
        async for taken in stream.take_events(BATCH_MAX, BATCH_WITHIN):
            with drain.batch(), _crash_on_error("ingest"):
                events = await app.consumer.admit(taken)
                await _finish(forward(events))

    @app.agent(account_inputs, name="accounts")
    async def apply_inputs(stream: faust.StreamT) -> None:
        async for taken in stream.take_events(BATCH_MAX, BATCH_WITHIN):
            with drain.batch(), _crash_on_error("accounts"):
                by_partition: dict[int, list[Record]] = {}
                for event in await app.consumer.admit(taken):
                    m = event.message
                    by_partition.setdefault(m.partition, []).append(
                        record_from(m.key, m.value, m.offset, m.headers)
                    )
                await _finish(apply(by_partition))


async def _delivered(sends: list[Awaitable[Awaitable[object]]]) -> None:
    """Hand each message to the producer, in order, then wait until the broker has all.

    Writes go straight to the Kafka client, not through Faust's buffer, whose flush may
    return before the buffer is empty.
    """
    receipts = [await send for send in sends]
    await _within_timeout(asyncio.gather(*receipts), what=f"a batch's {len(receipts)} writes")


async def _within_timeout(work: Awaitable[object], what: str) -> None:
    # Not wait_for: it waits for the cancelled work to end, and aborting a transaction
    # needs the broker that is not answering. The worker exits instead (_crash_on_error).
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=DELIVERY_TIMEOUT)
    if not done:
        raise TimeoutError(f"Kafka did not acknowledge {what} in {DELIVERY_TIMEOUT:.0f} s")
    task.result()


async def _finish(work: Awaitable[None]) -> None:
    """Write a batch to the end even if the agent is cancelled meanwhile.

    Leaving take_events acks the batch, and a commit may follow: every write of the
    batch must be in Kafka by then.
    """
    task = asyncio.ensure_future(work)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        log.warning("agent cancelled while writing a batch; finishing the batch first")
        await task
        raise


class _crash_on_error:
    """An unexpected error stops the process at once, before any offset is committed.

    Faust would otherwise restart the agent and ack the batch in hand; a crash instead
    makes Kafka redeliver everything since the last commit, which is always safe here.
    """

    def __init__(self, agent: str) -> None:
        self.agent = agent

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, _tb) -> bool:
        if error is not None and isinstance(error, Exception):
            exit_for_redelivery("agent %s failed", self.agent, error=error)
        return False
