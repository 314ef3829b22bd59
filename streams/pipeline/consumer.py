"""A Faust consumer that never commits past a message the agents did not process.

Faust 0.15.3 did, around rebalances, in four ways the reliability tests found:

1. It acks the messages its streams skip while a rebalance is under way, and acks are
   what it commits. Here an ack counts only for a message of the current generation
   with the flow running; a refused ack costs a redelivery, which the dedupe absorbs.
2. It rewinds with aiokafka's ``seek_to_committed``, which does not move a partition
   without a commit, so records Faust fetched and dropped there were never processed.
   Such partitions are sought to their log start, the group's position without a commit.
3. It commits past the message at the committed offset when only that one was not acked.
4. A commit begun before a rebalance and ended after it writes older offsets over those
   just read from Kafka, and Faust then waits forever for acks below them.

Safety nets, each an exit without commit so that the restarted worker is delivered the
messages again: a message handed to an agent must continue its partition (a hole the
group already committed over, or holding no record, is fine), and a partition must be
able to commit within COMMIT_STALL_SECONDS.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping

import faust
from aiokafka import AIOKafkaConsumer
from aiokafka import TopicPartition as KafkaTopicPartition
from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types import TP, Message
from faust.types.transports import TransportT

from streams.pipeline.drain import exit_for_redelivery

log = logging.getLogger(__name__)

# One-second reads of a hole before giving up on telling a real hole from an empty one.
READ_ATTEMPTS = 30
# A partition with processed messages it cannot commit for this long (one of its messages
# was never acked) is handed back to Kafka: the worker exits and the restart redelivers.
COMMIT_STALL_SECONDS = 60.0


class ProcessedOnlyConsumer(aiokafka_driver.Consumer):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._next_offset: dict[TP, int] = {}  # where each partition must continue
        self._stuck_since: dict[TP, float] = {}
        self._commit_floor: dict[TP, int] = {}  # where the group stood at the last seek
        deliver = self.callback
        acking = self.app.topics.acks_enabled_for
        next_offset = self._next_offset

        async def deliver_in_order(message: Message) -> None:
            # Checked when the delivery runs, not when Faust creates it: Faust cancels a
            # delivery that a rebalance overtakes, and that message was not handed over.
            tp, offset = message.tp, message.offset
            expected = next_offset.get(tp)
            if expected is not None and offset > expected and acking(tp.topic):
                await self._check_hole(message, expected)
            if expected is None or offset >= expected:
                next_offset[tp] = offset + 1
            await deliver(message)

        self.callback: Callable[[Message], Awaitable[None]] = deliver_in_order

    async def _commit_offsets(
        self, offsets: Mapping[TP, int], start_new_transaction: bool = True
    ) -> bool:
        try:
            return await super()._commit_offsets(offsets, start_new_transaction)
        finally:
            # A commit that was under way when a rebalance started finishes after it and
            # writes its older offsets over those just read from Kafka; Faust would then
            # wait for acks below what it already processed, forever.
            for tp in offsets:
                floor = self._commit_floor.get(tp)
                if floor is not None and (self._committed_offset[tp] or 0) < floor:
                    self._committed_offset[tp] = floor

    def _new_offset(self, tp: TP) -> int | None:
        acked, committed = self._acked[tp], self._committed_offset[tp]
        if acked and committed and min(acked) > committed and not self._gap[tp].overlaps(committed):
            # Faust would commit past the message at the committed offset, never acked.
            offset = None
        else:
            offset = super()._new_offset(tp)
        self._watch_for_stall(tp, stuck=offset is None and bool(self._acked[tp]))
        return offset

    def _watch_for_stall(self, tp: TP, *, stuck: bool) -> None:
        if not stuck:
            self._stuck_since.pop(tp, None)
            return
        since = self._stuck_since.setdefault(tp, time.monotonic())
        if time.monotonic() - since > COMMIT_STALL_SECONDS:
            exit_for_redelivery(
                "%s[%d]: processed messages could not be committed for %.0f s (offset %s was "
                "never acked)",
                tp.topic,
                tp.partition,
                COMMIT_STALL_SECONDS,
                self._committed_offset[tp],
            )

    def ack(self, message: Message) -> bool:
        app = self.app
        if message.generation_id != app.consumer_generation_id or not app.flow_control.is_active():
            message.acked = True
            self._unacked_messages.discard(message)
            return False
        return super().ack(message)

    async def perform_seek(self) -> None:
        """After Faust positions the partitions, note where each must continue from."""
        before = dict(self._next_offset)
        await super().perform_seek()
        # Changelog partitions are positioned by table recovery, not by the group.
        assigned = {tp for tp in self.assignment() if self.app.topics.acks_enabled_for(tp.topic)}
        starts = {tp: offset for tp, offset in self._committed_offset.items() if offset}
        never_committed = [tp for tp in assigned if tp not in starts]
        if never_committed:
            earliest = await self.earliest_offsets(*never_committed)
            # aiokafka's seek_to_committed leaves a partition without a commit where its
            # fetcher was; after a rebalance that is past messages Faust fetched and then
            # dropped. Without a commit, the group's position is the log start.
            for tp, offset in earliest.items():
                await self._seek(tp, offset)
            starts.update(earliest)
        for tp in list(self._next_offset):
            if tp not in assigned:
                del self._next_offset[tp]
        self._stuck_since = {tp: t for tp, t in self._stuck_since.items() if tp in assigned}
        self._commit_floor = {tp: offset for tp, offset in starts.items() if tp in assigned}
        for tp, offset in starts.items():
            # Faust may hand messages over while this runs (it can run twice at once):
            # a partition that moved on meanwhile is further along than the baseline.
            if tp in assigned and self._next_offset.get(tp) == before.get(tp):
                self._next_offset[tp] = offset

    async def _check_hole(self, message: Message, expected: int) -> None:
        tp = message.tp
        skipped = await self._records_between(tp, expected, message.offset)
        if skipped:
            exit_for_redelivery(
                "%s[%d]: offsets %s (of %d) were fetched but never handed to an agent "
                "(next handed: %d, generation %s)",
                tp.topic,
                tp.partition,
                skipped[:10],
                len(skipped),
                message.offset,
                message.generation_id,
            )
        # Nothing in the hole needs this worker: count it as done, or Faust would wait
        # for acks of those offsets forever and never commit this partition again.
        gap = self._gap[tp]
        gap.addi(expected, message.offset)
        gap.merge_overlaps()

    async def _records_between(self, tp: TP, start: int, end: int) -> list[int]:
        """Offsets in [start, end) of ``tp`` that hold a record a consumer would see."""
        reader = AIOKafkaConsumer(
            bootstrap_servers=[url.authority for url in self.app.conf.broker_consumer],
            group_id=self.app.conf.id,  # only to read the group's committed offset
            enable_auto_commit=False,
            isolation_level="read_committed" if self.in_transaction else "read_uncommitted",
        )
        await reader.start()
        try:
            partition = KafkaTopicPartition(tp.topic, tp.partition)
            reader.assign([partition])
            # The previous owner may have committed past the hole after this worker read
            # the committed offsets: then those messages were processed there.
            committed = await reader.committed(partition)
            if committed is not None and committed >= end:
                self._committed_offset[tp] = committed  # commits go on from there
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


class _Transport(aiokafka_driver.Transport):
    Consumer = ProcessedOnlyConsumer


class MeteringApp(faust.App):
    def _new_transport(self) -> TransportT:
        return _Transport(self.conf.broker_consumer, self)
