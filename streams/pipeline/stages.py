"""The two stages of the metering pipeline. Thin: decode, route, call, send.

Stage 1 (``IngestStage``) validates each input and forwards it to the account-inputs
topic keyed by account; stage 2 (``AccountsStage``) applies each account's inputs to its
state. Each runs in a ``StageLoop`` that takes its messages a batch at a time from the
consumer (``Inbox``), not through Faust agents: Faust's per-message hand-over was most of
the worker's time (docs/performance.md). ``register`` wires them into the app.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial

import faust
from faust.types import TP, Message

from streams.connection import KafkaConnection
from streams.domain import RateCard
from streams.domain.window import DedupeWindow
from streams.faust_fixes import ProcessedOnlyConsumer
from streams.observe.metrics import Metrics
from streams.pipeline.accounts import AccountBatch, Plan
from streams.pipeline.drain import Drain
from streams.pipeline.inbox import Inbox
from streams.pipeline.ingest import Ingest
from streams.pipeline.overdue import Lookout
from streams.pipeline.records import Origin, Record, record_from
from streams.pipeline.report import Report
from streams.pipeline.tables import Tables
from streams.pipeline.topics import DEAD_LETTER, OUTPUTS, TopicNames
from streams.pipeline.transactions import PartitionTransactions
from streams.pipeline.writer import Writer, crash_on_error, within_timeout
from streams.pipeline.writes import Where, Write
from streams.settings import Settings
from streams.wire.dead_letter import DeadLetters
from streams.wire.decode import Decoder

log = logging.getLogger(__name__)

# A batch is what a stage takes from its inbox: at most about this many inputs. One flush,
# one transaction per partition, and one state write per account per batch.
BATCH_MAX = 1000
# A stage's inbox holds this many fetched messages before the consumer waits.
INBOX_ROOM = 4 * BATCH_MAX

Handle = Callable[[list[Message]], Awaitable[None]]


def _now() -> datetime:
    return datetime.now(UTC)


class IngestStage:
    """Routes each input to the account-inputs topic, or to the dead letter."""

    def __init__(
        self,
        ingest: Ingest,
        kinds: dict[str, str],
        names: TopicNames,
        writer: Writer,
        report: Report,
    ) -> None:
        self.ingest = ingest
        self.kinds = kinds  # input topic -> message kind
        self.account_inputs = names.account_inputs
        self.dead_letter = names.contract(DEAD_LETTER)
        self.writer = writer
        self.report = report

    async def handle(self, messages: list[Message]) -> None:
        now = _now()
        writes: list[Write] = []
        refused = []
        route, kinds = self.ingest.route, self.kinds
        for message in messages:
            origin = Origin(message.topic, message.partition, message.offset, message.key)
            timestamp_ms = int(message.timestamp * 1000) if message.timestamp else 0
            routed = route(kinds[message.topic], origin, message.value, timestamp_ms, now)
            if routed.refusal is None:
                writes.append((self.account_inputs, routed.key, routed.value, routed.headers))
            else:
                refused.append((origin, routed.refusal))
                writes.append((self.dead_letter, routed.key, routed.value, None))
        await self.writer.write(writes)
        for origin, refusal in refused:
            key = None if origin.key is None else origin.key.decode(errors="replace")
            self.report.dead_lettered(origin, refusal, key)


class AccountsStage:
    """Applies a batch of account inputs; its plan's writes reach Kafka in the order of
    docs/idempotency.md, outside transactions (at_least_once) or in one per partition."""

    def __init__(
        self,
        batch: AccountBatch,
        tables: Tables,
        names: TopicNames,
        report: Report,
        writer: Writer,
        transactions: PartitionTransactions | None,
    ) -> None:
        self.batch = batch
        self.tables = tables
        self.topic_of = {name: names.contract(name) for name in OUTPUTS}
        self.report = report
        self.writer = writer
        self.transactions = transactions  # None: at_least_once

    async def handle(self, messages: list[Message]) -> None:
        by_partition: dict[int, list[Record]] = {}
        for m in messages:
            by_partition.setdefault(m.partition, []).append(
                record_from(m.topic, m.partition, m.offset, m.key, m.value, m.headers)
            )
        if self.transactions is None:
            await self._write_at_least_once(by_partition)
        else:
            await self._commit_each_partition(by_partition)

    async def _write_at_least_once(self, by_partition: dict[int, list[Record]]) -> None:
        now = _now()
        plans = [self.batch.plan(p, records, now) for p, records in by_partition.items()]
        tables = self.tables
        first = [w for plan in plans for w in self._outputs(plan) + tables.seen_writes(plan)]
        offsets = await self.writer.write(first)
        # Only now that their outputs and dedupe records are in Kafka, the new states.
        offsets |= await self.writer.write([w for p in plans for w in tables.state_writes(p)])
        for plan in plans:
            self._land(plan, offsets)

    async def _commit_each_partition(self, by_partition: dict[int, list[Record]]) -> None:
        now = _now()
        commits = (self._commit(p, records, now) for p, records in by_partition.items())
        await within_timeout(asyncio.gather(*commits), what="a batch's transactions")

    async def _commit(self, partition: int, records: list[Record], now: datetime) -> None:
        assert self.transactions is not None
        plan = self.batch.plan(partition, records, now)
        tables = self.tables
        writes = self._outputs(plan) + tables.seen_writes(plan) + tables.state_writes(plan)
        offsets = await self.transactions.commit(partition, writes, records[-1].offset + 1)
        # After the commit only: the local stores never hold an aborted transaction's
        # records, and a crash before this line leaves them to recovery.
        self._land(plan, offsets)

    def _outputs(self, plan: Plan) -> list[Write]:
        topic_of = self.topic_of
        return [(topic_of[topic], key, value, None) for topic, key, value in plan.sends]

    def _land(self, plan: Plan, offsets: dict[Where, int]) -> None:
        self.tables.land(plan, offsets)
        self.report.planned(plan)


class StageLoop:
    """Runs ``handle`` on each batch a stage's inbox gathers: what was fetched while the
    previous batch was written, up to BATCH_MAX."""

    def __init__(
        self, name: str, consumer: ProcessedOnlyConsumer, drain: Drain, metrics: Metrics
    ) -> None:
        self.name = name
        self.consumer = consumer
        self.drain = drain
        self.inbox = Inbox(room=INBOX_ROOM)
        self.consumed = metrics.consumed
        self.observe_latency = metrics.latency.labels(name).observe

    async def run(self, handle: Handle) -> None:
        while True:
            admitted = await self._one_batch(handle)
            if admitted:
                self._count(admitted)

    async def _one_batch(self, handle: Handle) -> list[Message]:
        messages = await self.inbox.take(BATCH_MAX)
        try:
            with self.drain.batch(), crash_on_error(self.name):
                admitted = await self.consumer.admit(messages)
                if admitted:
                    await _finish(handle(admitted))
            # Only what was applied; what admit left out comes again.
            self.consumer.ack_all(admitted)
        finally:
            self.inbox.done()
        return admitted

    def _count(self, admitted: list[Message]) -> None:
        per_topic: dict[str, int] = {}
        oldest = admitted[0].timestamp
        for message in admitted:
            per_topic[message.topic] = per_topic.get(message.topic, 0) + 1
            if message.timestamp < oldest:
                oldest = message.timestamp
        for topic, count in per_topic.items():
            self.consumed.labels(topic).inc(count)
        # One figure per batch, its oldest input's: a histogram observation per event
        # cost more than the rest of the metrics together.
        self.observe_latency(time.time() - oldest)


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


def register(
    app: faust.App,
    settings: Settings,
    rate_card: RateCard,
    decoder: Decoder,
    drain: Drain,
    metrics: Metrics,
) -> None:
    """Declare the topics and tables, build both stages, and run them as an app task."""
    names = TopicNames.from_settings(settings)
    kinds = names.kind_of()
    tables = Tables.declare(app, settings.partitions, settings.store)
    letters = DeadLetters(settings.dead_letter_max_bytes)
    report = Report(metrics)
    # Not Faust's producer: its Topic.send (channel, message building, callbacks) cost a
    # quarter of the worker's time, and aiokafka's per-message send most of the rest.
    connection = KafkaConnection.from_settings(settings)
    writer = Writer(connection)
    transactions = None
    if settings.processing_guarantee == "exactly_once":
        transactions = _transactions(app, connection, names.account_inputs)
    batch = AccountBatch(
        rate_card=rate_card,
        default_currency=settings.currency,
        letters=letters,
        window=DedupeWindow(settings.dedupe_window),
        tables=tables.partition,
        recharge_timeout=settings.recharge_timeout,
    )
    accounts = AccountsStage(batch, tables, names, report, writer, transactions)
    lookout = Lookout(settings.recharge_timeout, metrics)
    _look_for_overdue(app, tables, writer, names.account_inputs, lookout)
    ingest = IngestStage(Ingest(decoder, letters), kinds, names, writer, report)
    inputs = app.topic(*kinds, key_type=bytes, value_type=bytes)
    account_inputs = app.topic(
        names.account_inputs, key_type=bytes, value_type=bytes, internal=True
    )
    runs = [
        _subscribe(app, drain, metrics, "ingest", inputs, ingest.handle),
        _subscribe(app, drain, metrics, "accounts", account_inputs, accounts.handle),
    ]

    @app.task
    async def run() -> None:
        # Faust would log a failed task and go on, a worker that processes nothing.
        with crash_on_error("start"):
            await writer.start()
        await asyncio.gather(*(run() for run in runs))


def _look_for_overdue(
    app: faust.App, tables: Tables, writer: Writer, account_inputs: str, lookout: Lookout
) -> None:
    """A Faust timer: now and then, an overdue check for each late recharge request of
    this worker's partitions (streams/pipeline/overdue.py)."""

    @app.timer(lookout.interval)
    async def look_for_overdue_requests() -> None:
        if not writer.started:
            return
        try:
            checks = lookout.checks(tables.held_accounts(), account_inputs)
            if checks:
                await writer.write(checks)
        except Exception:
            # Best effort: a check not written now is written at the next look.
            log.warning("looking for overdue recharge requests failed", exc_info=True)


def _subscribe(
    app: faust.App, drain: Drain, metrics: Metrics, name: str, topic: faust.TopicT, handle: Handle
) -> Callable[[], Awaitable[None]]:
    """Subscribe to ``topic``, its fetched runs going to a new stage loop; the loop's run."""
    loop = StageLoop(name, app.consumer, drain, metrics)
    app.topics.add(topic)  # subscribed, as an agent's topic would be
    app.consumer.hand_runs_to(topic.topics, loop.inbox)
    return partial(loop.run, handle)


def _transactions(
    app: faust.App, connection: KafkaConnection, inputs_topic: str
) -> PartitionTransactions:
    """One transactional producer per account-inputs partition; offsets commit with them."""
    transactions = PartitionTransactions(connection, app.conf.id, inputs_topic)
    app.consumer.commit_in_transactions(inputs_topic)

    # Before table recovery: the new producers fence off the previous owner first, so
    # that recovery reads every transaction it committed and none that it may still.
    async def own_transactions(assigned: set[TP]) -> None:
        await transactions.own(tp.partition for tp in assigned if tp.topic == inputs_topic)

    app.consumer.before_assignment(own_transactions)
    return transactions
