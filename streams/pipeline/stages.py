"""The two stages and the tables of the metering pipeline. Thin: decode, route, call, send.

Stage 1 (ingest) validates each input and forwards it to the account-inputs topic keyed by
account; stage 2 (accounts) applies each account's inputs to its state. A stage takes its
messages a batch at a time from the consumer (``Inbox``), not through Faust agents: Faust's
per-message delivery was most of the worker's time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import faust
from faust.types import TP, Message

from streams.domain import RateCard
from streams.faust_fixes import exit_for_redelivery, store_reader
from streams.observe import logs
from streams.observe.metrics import Metrics
from streams.pipeline.accounts import AccountBatch, Plan
from streams.pipeline.drain import Drain
from streams.pipeline.inbox import Inbox
from streams.pipeline.ingest import Ingest, Routed
from streams.pipeline.records import Origin, Record, record_from
from streams.pipeline.tables import Tables
from streams.pipeline.topics import DEAD_LETTER, OUTPUTS, TopicNames
from streams.pipeline.transactions import PartitionTransactions
from streams.pipeline.writes import RecordBatches, Write
from streams.settings import Settings
from streams.wire.dead_letter import DeadLetters
from streams.wire.decode import Decoder

log = logging.getLogger(__name__)

# A batch is what a stage takes from its inbox: at most about this many inputs. One flush,
# one transaction per partition, and one state write per account per batch.
BATCH_MAX = 1000
# A stage's inbox holds this many fetched messages before the consumer waits.
INBOX_ROOM = 4 * BATCH_MAX
# A batch whose writes Kafka has not acknowledged by then is given up: the worker exits
# without commit and, restarted, is delivered the batch again. The producer's own send
# futures can hang for minutes after the broker was killed and came back.
DELIVERY_TIMEOUT = 60.0


def _now() -> datetime:
    return datetime.now(UTC)


def register(
    app: faust.App,
    settings: Settings,
    rate_card: RateCard,
    decoder: Decoder,
    drain: Drain,
    metrics: Metrics,
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
    tables = Tables.declare(app, settings.partitions)
    letters = DeadLetters(settings.dead_letter_max_bytes)
    ingest = Ingest(decoder, letters)
    batch = AccountBatch(
        rate_card=rate_card,
        default_currency=settings.currency,
        letters=letters,
        load_state=store_reader(tables.accounts),
        seen_at=store_reader(tables.seen_inputs),
        load_windows=store_reader(tables.usage_windows),
    )

    async def forward(messages: list[Message]) -> None:
        now = _now()
        writes: list[Write] = []
        refused: list[tuple[Origin, Routed]] = []
        for message in messages:
            origin = Origin(message.topic, message.partition, message.offset, message.key)
            timestamp_ms = int(message.timestamp * 1000) if message.timestamp else 0
            routed = ingest.route(kinds[message.topic], origin, message.value, timestamp_ms, now)
            if routed.reason is None:
                writes.append((inputs_topic, routed.key, routed.value, routed.headers))
                continue
            refused.append((origin, routed))
            writes.append((topic_of[DEAD_LETTER], routed.key, routed.value, None))
        await _delivered(writer.batches, writes)
        for origin, routed in refused:
            key = None if origin.key is None else origin.key.decode(errors="replace")
            dead_lettered(origin, routed.code, routed.reason, key)

    def dead_lettered(
        origin: Origin, code: str, reason: str, account_id: str | None, input_id: str | None = None
    ) -> None:
        metrics.dead_letters.labels(code).inc()
        logs.dead_letter(
            origin.topic, origin.partition, origin.offset, code, reason, account_id, input_id
        )

    async def deliver(plan: Plan) -> None:
        writes = outputs(plan) + tables.seen_writes(plan)
        await _delivered(writer.batches, writes)
        # Only now that its outputs and dedupe records are in Kafka, the new states.
        await _delivered(writer.batches, tables.state_writes(plan))
        tables.land(plan)
        report(plan)

    def outputs(plan: Plan) -> list[Write]:
        return [(topic_of[topic], key, value, None) for topic, key, value in plan.sends]

    def report(plan: Plan) -> None:
        """Count and log what a batch did, once its writes are in Kafka."""
        metrics.applied.inc(plan.applied)
        metrics.duplicates.inc(plan.duplicates)
        for item in plan.letters:
            dead_lettered(item.origin, item.code, item.reason, item.account_id, item.input_id)
        for request in plan.requests:
            metrics.recharge_requests.inc()
            logs.recharge_requested(request)

    # Not Faust's producer: its Topic.send (channel, message building, callbacks) cost a
    # quarter of the worker's time, and aiokafka's per-message send most of the rest.
    bootstrap = [url.authority for url in app.conf.broker_producer]
    writer = _Writer()
    inputs_topic = names.account_inputs

    async def apply_at_least_once(by_partition: dict[int, list[Record]]) -> None:
        records = [record for records in by_partition.values() for record in records]
        await deliver(batch.plan(records, _now()))

    transactions = PartitionTransactions(bootstrap, app.conf.id, inputs_topic)

    async def apply_in_transactions(by_partition: dict[int, list[Record]]) -> None:
        now = _now()

        async def commit(partition: int, records: list[Record]) -> None:
            plan = batch.plan(records, now)
            writes = outputs(plan) + tables.seen_writes(plan) + tables.state_writes(plan)
            await transactions.commit(partition, writes, records[-1].offset + 1)
            tables.land(plan)
            report(plan)

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

    async def apply_account_inputs(messages: list[Message]) -> None:
        by_partition: dict[int, list[Record]] = {}
        for m in messages:
            by_partition.setdefault(m.partition, []).append(
                record_from(m.topic, m.partition, m.offset, m.key, m.value, m.headers)
            )
        await apply(by_partition)

    run_ingest = stage(app, drain, metrics, "ingest", inputs, forward)
    run_accounts = stage(app, drain, metrics, "accounts", account_inputs, apply_account_inputs)

    @app.task
    async def run() -> None:
        # Faust would log a failed task and go on, a worker that processes nothing.
        with _crash_on_error("start"):
            writer.batches = await RecordBatches.started(bootstrap, enable_idempotence=True)
        await asyncio.gather(run_ingest(), run_accounts())


class _Writer:
    """The stages' producer for writes outside transactions, started with the stages."""

    batches: RecordBatches


def stage(
    app: faust.App,
    drain: Drain,
    metrics: Metrics,
    name: str,
    topic: faust.TopicT,
    handle: Callable[[list[Message]], Awaitable[None]],
) -> Callable[[], Awaitable[None]]:
    """Subscribe to ``topic``; the loop that runs ``handle`` on each batch of its messages.

    A batch is what was fetched while the previous one was written, up to BATCH_MAX.
    """
    inbox = Inbox(room=INBOX_ROOM)
    app.topics.add(topic)  # subscribed, as an agent's topic would be
    app.consumer.hand_runs_to(topic.topics, inbox)

    consumed = metrics.consumed
    observe_latency = metrics.latency.labels(name).observe

    async def run() -> None:
        consumer = app.consumer
        while True:
            messages = await inbox.take(BATCH_MAX)
            try:
                with drain.batch(), _crash_on_error(name):
                    admitted = await consumer.admit(messages)
                    if admitted:
                        await _finish(handle(admitted))
                # Only what was applied; what admit left out comes again.
                consumer.ack_all(admitted)
            finally:
                inbox.done()
            if not admitted:
                continue
            per_topic: dict[str, int] = {}
            oldest = admitted[0].timestamp
            for message in admitted:
                per_topic[message.topic] = per_topic.get(message.topic, 0) + 1
                if message.timestamp < oldest:
                    oldest = message.timestamp
            for topic, count in per_topic.items():
                consumed.labels(topic).inc(count)
            # One figure per batch, its oldest input's: a histogram observation per event
            # cost more than the rest of the metrics together.
            observe_latency(time.time() - oldest)

    return run


async def _delivered(batches: RecordBatches, writes: list[Write]) -> None:
    """Hand the writes to the producer, in order, then wait until the broker has all."""
    receipts = await batches.send(writes)
    await _within_timeout(asyncio.gather(*receipts), what=f"a batch's {len(writes)} writes")


async def _within_timeout(work: Awaitable[object], what: str) -> None:
    # Not wait_for: it waits for the cancelled work to end, and aborting a transaction
    # needs the broker that is not answering. The worker exits instead (_crash_on_error).
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=DELIVERY_TIMEOUT)
    if not done:
        raise TimeoutError(f"Kafka did not acknowledge {what} in {DELIVERY_TIMEOUT:.0f} s")
    task.result()


async def _finish(work: Awaitable[None]) -> None:
    """Write a batch to the end even if the stage is cancelled meanwhile.

    A rebalance waits for the batch in hand, and a commit may follow: every write of the
    batch must be in Kafka by then.
    """
    task = asyncio.ensure_future(work)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        log.warning("stage cancelled while writing a batch; finishing the batch first")
        await task
        raise


class _crash_on_error:
    """An unexpected error stops the process at once, before any offset is committed.

    Faust would restart the task and the batch would be acked; a crash instead
    makes Kafka redeliver everything since the last commit, which is always safe here.
    """

    def __init__(self, stage: str) -> None:
        self.stage = stage

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, _tb) -> bool:
        if error is not None and isinstance(error, Exception):
            exit_for_redelivery("stage %s failed", self.stage, error=error)
        return False
