"""A Faust consumer that commits only what the stages processed.

Faust 0.15.3 commits what its streams ack, from its own bookkeeping of acked offsets,
gaps and committed offsets. Around rebalances the reliability tests found it commit past
messages nobody processed, and stall forever:

1. Its streams ack the messages they skip while a rebalance is under way.
2. It rewinds with aiokafka's ``seek_to_committed``, which does not move a partition
   without a commit, so records Faust fetched and dropped there were never processed.
3. It commits past the message at the committed offset when only that one was not acked.
4. A commit begun before a rebalance and ended after it writes older offsets over those
   just read from Kafka, and Faust then waits forever for acks below them.

So this consumer keeps its own: per partition, the first offset not processed since it
was positioned (``PartitionProgress``), moved only by acks of the current generation
with the flow running, and commits that. Partitions without a commit are sought to their
log start, the group's position without a commit.

Safety nets, each an exit without commit so that the restarted worker is delivered the
messages again: a message handed to a stage must continue its partition (a hole the
group already committed over, or holding no record, is fine), and acks must not keep
arriving past an unprocessed offset for COMMIT_STALL_SECONDS.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka import TopicPartition as KafkaTopicPartition
from aiokafka.errors import IllegalStateError
from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types import TP, Message
from faust.types.tuples import ack_lock
from mode import ServiceT
from mode.utils.futures import notify

from streams.faust_fixes.exit import exit_for_redelivery
from streams.faust_fixes.stores import kept_here
from streams.pipeline.inbox import Inbox
from streams.pipeline.progress import PartitionProgress

log = logging.getLogger(__name__)

# One-second reads of a hole before giving up on telling a real hole from an empty one.
READ_ATTEMPTS = 30
# A partition whose acks arrive past an offset never processed, for this long, is handed
# back to Kafka: the worker exits and the restart is delivered the partition again.
COMMIT_STALL_SECONDS = 60.0


class ProcessedOnlyConsumer(aiokafka_driver.Consumer):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._next_offset: dict[TP, int] = {}  # where each partition must continue
        self._progress: dict[TP, PartitionProgress] = {}  # what may be committed
        self._group_offsets: Mapping[TP, int | None] = {}  # read at the last seek
        self._early_acks: dict[TP, list[int]] = {}  # acks that came before the position
        self._rewound_at: dict[TP, int] = {}  # where the last seek back went, per partition
        self._committed_elsewhere: set[str] = set()  # topics whose offsets go in transactions
        self._inboxes: dict[str, Inbox] = {}  # topics whose messages go to a stage in runs
        self._changelogs: set[str] = set()  # topics whose runs go to the table recovery
        self._assignment_hooks: list[Callable[[set[TP]], Awaitable[None]]] = []
        # Held by the fetch loop from a fetch until its messages are handed over, and by
        # every seek: a fetch never returns messages from before a seek that ran meanwhile.
        self._fetching = asyncio.Lock()

    def hand_runs_to(self, topics: Iterable[str], inbox: Inbox) -> None:
        """Hand the messages of ``topics`` to ``inbox``, a fetched run at a time.

        Changelogs of tables in this project's store go to the recovery a run at a time;
        other topics (Faust agents, other tables) keep Faust's per-message hand-over.
        """
        for topic in topics:
            self._inboxes[topic] = inbox

    async def _drain_messages(self, fetcher: ServiceT) -> None:
        """Faust's fetch loop, with each partition's run for a stage put in one step.

        Replaces: ``faust.transport.consumer.Consumer._drain_messages``, which hands every
        message over on its own (most of the worker's time, and most of a recovery's), and
        logs a crash of itself while the worker stays in the group fetching nothing.
        """
        consumer_stopped = self._stopped.is_set
        fetcher_stopped = fetcher._stopped.is_set  # type: ignore[attr-defined]
        inboxes = self._inboxes
        app = self.app
        # The changelogs of this project's tables: their runs go to the recovery whole.
        self._changelogs = {t.changelog_topic_name for t in app.tables.values() if kept_here(t)}
        try:
            while not (consumer_stopped() or fetcher_stopped()):
                for inbox in inboxes.values():
                    await inbox.wait_for_room()
                async with self._fetching:
                    generation = app.consumer_generation_id
                    records, active = await self._wait_next_records(1.0)
                    if not records or self.should_stop:
                        continue
                    for tp, fetched in records.items():
                        # A rebalance began meanwhile: these were fetched for the old one.
                        if app.consumer_generation_id != generation or not self.flow_active:
                            break
                        paused = active is not None and tp not in active
                        if not paused or tp in self._buffered_partitions:
                            await self._hand_over_run(tp, fetched)
        except self.consumer_stopped_errors:
            if not self.transport.app.should_stop:
                raise
        except asyncio.CancelledError:
            if not self.transport.app.should_stop:
                raise
        except Exception as error:
            # Faust would log the fetcher as crashed and keep the worker in the group,
            # holding its partitions and fetching nothing, for good.
            exit_for_redelivery("fetching from Kafka failed", error=error)

    async def _hand_over_run(self, tp: TP, fetched: list[ConsumerRecord]) -> None:
        """A partition's fetched records to the recovery, a stage's inbox, or Faust."""
        if tp.topic in self._changelogs:
            self.app.tables.recovery.apply_run(tp, fetched)
            return
        inbox = self._inboxes.get(tp.topic)
        if inbox is None:
            for record in fetched:
                await self._hand_over_one(self._to_message(tp, record))
            return
        run = [self._to_message(tp, record) for record in fetched]
        await self._check_continuity(tp, run)
        inbox.put(run)

    async def _hand_over_one(self, message: Message) -> None:
        """Faust's own hand-over of one message, for topics without an inbox (changelogs)."""
        offset, tp = message.offset, message.tp
        read_offset = self._read_offset[tp]
        if read_offset is None or offset >= read_offset:
            await self.wait_first(self._hand_over(message), self.suspend_flow.wait())
            self._read_offset[tp] = offset

    async def _hand_over(self, message: Message) -> None:
        # Checked when the delivery runs: wait_first cancels one that a rebalance overtakes.
        await self._check_continuity(message.tp, [message])
        await self.callback(message)

    async def _check_continuity(self, tp: TP, messages: list[Message]) -> None:
        """Messages of an acked topic must continue what was handed over before.

        After a seek back the same offsets come again (``admit`` drops what was done).
        """
        expected = self._next_offset.get(tp)
        if expected is not None and self.app.topics.acks_enabled_for(tp.topic):
            for message in messages:
                offset = message.offset
                if offset > expected:
                    await self._check_hole(message, expected)
                if offset >= expected:
                    expected = offset + 1
            self._next_offset[tp] = expected
        else:
            self._next_offset[tp] = messages[-1].offset + 1

    async def wait_empty(self) -> None:
        """Before a rebalance goes on: the stages finish the batches in hand.

        Extends: ``Consumer.wait_empty``, which waits only for Faust's unacked messages.
        """
        for inbox in self._inboxes.values():
            await inbox.wait_idle()
        await super().wait_empty()

    @contextlib.asynccontextmanager
    async def between_fetches(self) -> AsyncIterator[None]:
        """Meanwhile no fetch is in flight, and what was fetched has been handed over."""
        async with self._fetching:
            yield

    def leave_group(self, timeout: float) -> None:
        """Leave the consumer group now, waiting up to ``timeout`` seconds (blocking).

        For a worker about to exit: the others take its partitions over at once instead
        of after the session timeout. aiokafka has no public call for it (``stop`` also
        commits); its coordinator's ``_maybe_leave_group`` is what ``stop`` calls. The
        consumer runs in Faust's consumer thread, on that thread's event loop.
        """
        thread = self._thread
        coordinator = thread._ensure_consumer()._coordinator
        leaving = asyncio.run_coroutine_threadsafe(
            coordinator._maybe_leave_group(), thread.thread_loop
        )
        leaving.result(timeout)

    def lag(self) -> Iterator[tuple[str, int, int | None]]:
        """(topic, partition, messages not processed yet) of each assigned partition a stage
        reads; None until its end and position are known."""
        for tp in self.assignment():
            if tp.topic not in self._inboxes:
                continue
            progress = self._progress.get(tp)
            highwater = self.highwater(tp)
            behind = None
            if progress is not None and highwater is not None:
                behind = max(0, highwater - progress.done)
            yield tp.topic, tp.partition, behind

    def _new_consumer_thread(self) -> aiokafka_driver.AIOKafkaConsumerThread:
        """Replaces: ``aiokafka_driver.Consumer._new_consumer_thread`` (Faust's thread)."""
        return ReadCommittedConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def positioned(self, tp: TP, offset: int) -> None:
        """The consumer was sought to ``offset``: messages of ``tp`` continue from there."""
        progress = self._progress.get(tp)
        progress = PartitionProgress(offset) if progress is None else progress.positioned_at(offset)
        self._progress[tp] = progress
        now = time.monotonic()
        for early in self._early_acks.pop(tp, ()):
            progress.processed(early, now)

    def ack(self, message: Message) -> bool:
        """Called by the stream once a message's batch is fully written, or skipped.

        Replaces: ``faust.transport.consumer.Consumer.ack``, whose bookkeeping of acked
        offsets counts the acks of skipped messages. Under Faust's ``ack_lock``, as there:
        agents may ack from other threads, and the stages' acks must not interleave.
        """
        with ack_lock:
            return self._ack(message)

    def _ack(self, message: Message) -> bool:
        message.acked = True
        self._unacked_messages.discard(message)
        notify(self._waiting_for_ack)
        app = self.app
        # A message a stream skips is acked too: in a rebalance (flow stopped) or fetched
        # in an earlier generation. Neither counts; the redelivered copy will.
        if message.generation_id != app.consumer_generation_id or not app.flow_control.is_active():
            return False
        progress = self._progress.get(message.tp)
        if progress is None:
            # Processed while Faust was still positioning the partition: the fetch began
            # where the seek will say, so these count once the position is known.
            self._early_acks.setdefault(message.tp, []).append(message.offset)
            return True
        progress.processed(message.offset, time.monotonic())
        return True

    def ack_all(self, messages: Iterable[Message]) -> None:
        """The stage has written or skipped ``messages``."""
        ack = self._ack
        with ack_lock:
            for message in messages:
                ack(message)

    async def admit(self, messages: list[Message]) -> list[Message]:
        """The messages of a batch that continue their partitions' processed runs.

        A message can go missing between the fetch and the stage: Faust's fetch loop is
        stopped and restarted around a rebalance and two seeks can run at once. (With
        Faust's agents it was worse: their queues are cleared when the flow resumes.)
        Messages past such a loss are left out and the partition is read again from the
        first lost offset, so that a stage never applies an input before one that precedes
        it; a run read again that is already in the same batch is admitted as it comes.
        Messages below that offset were processed already, and those of an earlier
        generation are read again since: both are left out too.

        Only the admitted messages may be acked (``ack_all``): a left-out message that
        happens to continue the processed run, like the start of a run read again behind
        the gap, would otherwise count as processed without being applied.
        """
        app = self.app
        if not app.flow_control.is_active():
            return []  # a rebalance is under way
        generation = app.consumer_generation_id
        admitted: list[Message] = []
        after: dict[TP, int] = {}
        for message in messages:
            if message.generation_id != generation:
                continue  # fetched before the last rebalance: read again since
            tp, offset = message.tp, message.offset
            progress = self._progress.get(tp)
            if progress is None:
                admitted.append(message)
                continue
            expected = after.get(tp, progress.done)
            if offset < expected:
                continue
            if progress.continues(expected, offset):
                after[tp] = offset + 1
                admitted.append(message)
            elif self._rewound_at.get(tp) != expected:  # not sought there since
                await self._rewind(tp, expected, offset)
        return admitted

    async def _rewind(self, tp: TP, offset: int, seen: int) -> None:
        log.warning(
            "%s[%d]: offsets %d-%d never reached the stage; reading them again",
            tp.topic,
            tp.partition,
            offset,
            seen - 1,
        )
        async with self._fetching:
            try:
                await self._seek_in_consumer_thread({tp: offset})
            except IllegalStateError:
                return  # no longer assigned: the next owner reads it
            self._next_offset[tp] = offset
            self._rewound_at[tp] = offset

    def before_assignment(self, hook: Callable[[set[TP]], Awaitable[None]]) -> None:
        """Run ``hook(assigned)`` on each assignment before tables recover or streams run."""
        self._assignment_hooks.append(hook)

    async def on_partitions_assigned(self, assigned: set[TP], generation_id: int = 0) -> None:
        for hook in self._assignment_hooks:
            await hook(assigned)
        await super().on_partitions_assigned(assigned, generation_id)

    def commit_in_transactions(self, topic: str) -> None:
        """``topic``'s offsets are committed with the writes they caused, not by Faust.

        Its messages are still acked, so that batches are admitted in order.
        """
        self._committed_elsewhere.add(topic)

    def _filter_tps_with_pending_acks(self, topics: object = None) -> Iterator[TP]:
        """The partitions with processed offsets to commit.

        Replaces: ``Consumer._filter_tps_with_pending_acks`` (partitions with acks in
        Faust's bookkeeping); also where a commit that stalls ends the worker.
        """
        now = time.monotonic()
        for tp, progress in self._progress.items():
            if progress.stalled_for(now) > COMMIT_STALL_SECONDS:
                exit_for_redelivery(
                    "%s[%d]: processed messages could not be committed for %.0f s (offset %d "
                    "was never processed)",
                    tp.topic,
                    tp.partition,
                    COMMIT_STALL_SECONDS,
                    progress.done,
                )
            if tp.topic in self._committed_elsewhere:
                continue
            if progress.to_commit() is not None and (
                topics is None or tp in topics or tp.topic in topics  # type: ignore[operator]
            ):
                yield tp

    def _filter_committable_offsets(self, tps: Iterable[TP]) -> dict[TP, int]:
        """Replaces: ``Consumer._filter_committable_offsets``, which commits past the
        message at the committed offset when only that one was not acked."""
        offsets = {}
        for tp in tps:
            progress = self._progress.get(tp)
            offset = None if progress is None else progress.to_commit()
            if offset is not None:
                offsets[tp] = offset
        return offsets

    async def _commit_offsets(
        self, offsets: Mapping[TP, int], start_new_transaction: bool = True
    ) -> bool:
        """Faust's ``Consumer._commit_offsets``, noting in each partition's progress what
        was committed (it returns whether the commit went through)."""
        progress = {tp: self._progress[tp] for tp in offsets if tp in self._progress}
        committed = await super()._commit_offsets(offsets, start_new_transaction)
        if committed:
            for tp, each in progress.items():
                each.committed = max(each.committed, offsets[tp])
        return committed

    async def seek_to_committed(self) -> Mapping[TP, int]:
        """Faust's, keeping the group's offsets it read for ``perform_seek``."""
        self._group_offsets = await super().seek_to_committed()
        return self._group_offsets

    async def perform_seek(self) -> None:
        """After Faust positions the partitions, note where each continues from.

        Extends: ``Consumer.perform_seek``, which leaves a partition without a commit
        where aiokafka's fetcher was (see ``seek_to_committed`` there).
        """
        async with self._fetching:
            await super().perform_seek()
            # Changelog partitions are positioned by table recovery, not by the group.
            assigned = {
                tp for tp in self.assignment() if self.app.topics.acks_enabled_for(tp.topic)
            }
            starts = {tp: offset for tp, offset in self._group_offsets.items() if offset}
            never_committed = [tp for tp in assigned if tp not in starts]
            if never_committed:
                earliest = await self.earliest_offsets(*never_committed)
                # aiokafka's seek_to_committed leaves a partition without a commit where
                # its fetcher was; after a rebalance that is past messages Faust fetched
                # and then dropped. Without a commit, the group's position is the log start.
                await self._seek_in_consumer_thread(earliest)
                starts.update(earliest)
            for tp in set(self._next_offset) - assigned:
                del self._next_offset[tp]
            for tp in set(self._progress) - assigned:
                del self._progress[tp]
            self._rewound_at.clear()
            for tp, offset in starts.items():
                if tp in assigned:
                    self.positioned(tp, offset)
                    self._next_offset[tp] = offset
            self._early_acks.clear()  # of partitions no longer assigned

    async def _seek_in_consumer_thread(self, offsets: Mapping[TP, int]) -> None:
        """Seek where aiokafka's consumer runs (its fetcher is not thread-safe)."""
        with contextlib.suppress(TimeoutError):  # only reading the new position timed out
            await self.seek_wait(offsets)

    async def _check_hole(self, message: Message, expected: int) -> None:
        tp = message.tp
        skipped = await self.records_between(tp, expected, message.offset)
        if skipped:
            exit_for_redelivery(
                "%s[%d]: offsets %s (of %d) were fetched but never handed to a stage "
                "(next handed: %d, generation %s)",
                tp.topic,
                tp.partition,
                skipped[:10],
                len(skipped),
                message.offset,
                message.generation_id,
            )
        # Nothing in the hole needs this worker: the processed run may go over it.
        progress = self._progress.get(tp)
        if progress is not None:
            progress.skip(expected, message.offset)

    async def records_between(self, tp: TP, start: int, end: int) -> list[int]:
        """Offsets in [start, end) of ``tp`` that hold a record a consumer would see, and
        that this group has not committed past."""
        conf = self.app.conf
        reader = AIOKafkaConsumer(
            bootstrap_servers=[url.authority for url in conf.broker_consumer],
            # As Faust's own consumer connects (streams.connection makes the credentials).
            **aiokafka_driver.credentials_to_aiokafka_auth(
                conf.broker_credentials, conf.ssl_context
            ),
            group_id=conf.id,  # only to read the group's committed offset
            enable_auto_commit=False,
            isolation_level="read_committed",
        )
        await reader.start()
        try:
            partition = KafkaTopicPartition(tp.topic, tp.partition)
            reader.assign([partition])
            # The previous owner may have committed past the hole after this worker read
            # the committed offsets: then those messages were processed there.
            committed = await reader.committed(partition)
            if committed is not None and committed >= end:
                return []
            reader.seek(partition, max(start, committed or 0))
            found: list[int] = []
            for _ in range(READ_ATTEMPTS):
                if await reader.position(partition) >= end:
                    return found
                batch = await reader.getmany(partition, timeout_ms=1000)
                found += [r.offset for r in batch.get(partition, []) if r.offset < end]
            return found or [start]  # the log could not be read: assume the worst
        finally:
            await reader.stop()


class ReadCommittedConsumerThread(aiokafka_driver.AIOKafkaConsumerThread):
    """Faust's consumer thread, whose aiokafka consumer reads committed records only.

    Replaces: ``AIOKafkaConsumerThread._create_worker_consumer`` building the consumer
    with ``isolation_level="read_uncommitted"`` unless Faust's own exactly_once is on
    (unused here, see ``streams.app``); aiokafka takes the level only in its constructor,
    so it is set on the built consumer (``AIOKafkaConsumer._isolation_level``).
    """

    def _create_worker_consumer(self, transport: aiokafka_driver.Transport) -> AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        # Table recovery must not read what an aborted transaction wrote (a fenced-off
        # worker's batch). Faust reads committed only with its own exactly_once, unused here.
        assert hasattr(consumer, "_isolation_level"), "aiokafka renamed _isolation_level"
        consumer._isolation_level = "read_committed"
        return consumer


class ProcessedOnlyTransport(aiokafka_driver.Transport):
    """Faust's aiokafka transport with ``ProcessedOnlyConsumer`` as its consumer."""

    Consumer = ProcessedOnlyConsumer
