"""Table recovery that knows changelogs end in transaction markers, and misses no record.

With exactly_once, every batch ends its transaction with a commit marker in each
changelog partition it wrote, so a changelog's last offset is a marker, never a record:
Faust's recovery waits for a record at that offset that never comes. Faust's own way out
(for its own transactions) counts a partition as recovered once the consumer's position
is past the end, after two 5-second waits, without checking that every record before the
end reached the table.

``MarkerAwareRecovery`` checks twice a second instead, between fetches: a partition whose
consumer read past the end while its table is short of it is either done (only markers,
or aborted writes, remain: read_committed skips them) or was dropped records on their
way, and then it reads them again.

Records are applied a fetched run at a time (``apply_run``), not one by one: Faust hands
each changelog record over on its own (a Faust message, an event, a queue, a wait with a
timeout, its own task per record), about 6,000 records a second here.

A changelog's end as Faust reads it (the last stable offset, read_committed) can lag
what the table already holds: the accounts stage lands a batch in its store once its
transaction's commit returns, and Kafka writes the commit markers to the partitions just
after. A rebalance in that moment read an end of 0 for a partition whose store held
offset 618, and Faust's consistency check stopped the worker (``ConsistencyError``, in
the benchmark's scale-out part). The recovery reads the end again until it reaches what
the store holds, for as long as a transaction may stay open; only a changelog that stays
short (emptied or recreated under a kept data directory) reaches Faust's check. A crash
of the recovery exits 70, so that a supervisor restarts the worker: mode's own shutdown
after a crash exited 0.

An end must also belong to the recovery it ends. Faust signals it whenever no partition
has records left, which is also true in the moment after a rebalance revoked every
partition and before the new highwaters are read; the next recovery then found the signal
set and ended at once, unread. The scale-out test caught it: a worker that took partitions
over started their accounts blank, its ledgers restarted at seq 1. So a check that
overlapped a rebalance ends nothing, and each recovery clears an earlier signal as it
starts.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence, Set

from aiokafka.errors import IllegalStateError
from aiokafka.structs import ConsumerRecord
from faust.tables import TableManager
from faust.tables.recovery import Recovery
from faust.types import TP, ConsumerT
from mode import Service

from streams.faust_fixes.exit import exit_for_redelivery
from streams.faust_fixes.stores import table_state

log = logging.getLogger(__name__)

# How often a recovery checks whether only end markers remain.
MARKER_CHECK_SECONDS = 0.5
# How long a changelog's end may stay short of what its store holds: a transaction's
# markers, at most its timeout (aiokafka's default, 60 s) later.
END_BEHIND_STORE_SECONDS = 60.0


class MarkerAwareRecovery(Recovery):
    """Faust's table recovery, fed by ``apply_run`` and ended by ``_end_at_markers`` as the
    module says."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.recovered: Counter[str] = Counter()  # changelog records applied, by table

    def apply_run(self, tp: TP, records: Sequence[ConsumerRecord]) -> None:
        """Apply a fetched run of a changelog partition to its table in one write.

        Replaces: the per-record loop of ``Recovery._slurp_changelogs`` (fed through the
        conductor and ``TableManager.changelog_queue``), for the tables of this project's
        store; like it, it skips what was applied, moves the partition's offset, and
        signals the end of a recovery when nothing is left.
        """
        offsets = self.active_offsets if tp in self.active_tps else self.standby_offsets
        table = self.tp_to_table.get(tp)
        state = None if table is None else table_state(table)
        if tp not in offsets or state is None or tp.partition not in state.partitions:
            return  # revoked meanwhile
        applied = -1 if offsets[tp] is None else offsets[tp]
        changes = {r.key: r.value for r in records if r.offset > applied}
        if not changes:
            return
        last = records[-1].offset
        state.write(tp.partition, changes, last)
        offsets[tp] = last
        self.recovered[table.name] += sum(1 for r in records if r.offset > applied)
        if self.in_recovery and not self.need_recovery():
            self.flush_buffers()
            self._set_recovery_ended()
            self.signal_recovery_end.set()
        if not self.tables.standbys_ready and not self.standby_remaining_total():
            self.tables.on_standbys_ready()

    def _set_recovery_started(self) -> None:
        """Extends: ``Recovery._set_recovery_started``, clearing an earlier end signal."""
        # Faust calls this as each recovery starts, and again just before it waits for the
        # end: an end signalled earlier (for a generation a rebalance has since replaced,
        # when the changelogs had no highwaters yet) must not end this one unread.
        self.signal_recovery_end.clear()
        super()._set_recovery_started()

    async def _build_highwaters(
        self, consumer: ConsumerT, tps: Set[TP], destination: Counter[TP], title: str
    ) -> None:
        """Extends: ``Recovery._build_highwaters``, reading the ends of active partitions
        again while one is short of what its store holds, as the module says."""
        deadline = asyncio.get_running_loop().time() + END_BEHIND_STORE_SECONDS
        while True:
            await super()._build_highwaters(consumer, tps, destination, title)
            short = {tp: destination[tp] for tp in tps if self._stored(tp) > destination[tp]}
            if title != "active" or not short or asyncio.get_running_loop().time() > deadline:
                return
            log.info("changelog ends %s short of the stores' offsets: reading them again", short)
            await self.sleep(MARKER_CHECK_SECONDS)

    def _stored(self, tp: TP) -> int:
        """The offset of the last record of ``tp`` in its table's store, -1 for none."""
        table = self.tp_to_table.get(tp)
        offset = None if table is None else table.persisted_offset(tp)
        return -1 if offset is None else offset

    async def crash(self, reason: BaseException) -> None:
        """Replaces: ``mode.Service.crash`` of the recovery, after which the worker shut
        down and exited 0; it exits 70 instead, committing nothing."""
        exit_for_redelivery("table recovery failed", error=reason)

    @Service.task
    async def _end_at_markers(self) -> None:
        while not self.should_stop:
            await self.sleep(MARKER_CHECK_SECONDS)
            if self.in_recovery:
                try:
                    await self._check_partition_ends()
                except (IllegalStateError, TimeoutError) as error:
                    # A partition moved meanwhile; the next check sees the new assignment.
                    log.info("recovery check of the changelog ends gave up: %r", error)

    async def _check_partition_ends(self) -> None:
        consumer = self.app.consumer
        generation = self.app.consumer_generation_id
        highwaters = dict(self.active_highwaters)
        read_past: dict[TP, tuple[int, int]] = {}
        # Between fetches, every record the consumer has read is in the changelog queue.
        async with consumer.between_fetches():
            if not self.tables.changelog_queue.empty():
                return
            for tp, highwater in highwaters.items():
                offset = self.active_offsets.get(tp)
                # Faust's highwater is the last offset (a marker here); offset the last
                # record applied, -1 for none.
                if highwater is None or offset is None or offset >= highwater:
                    continue
                position = await consumer.position(tp)
                if position is not None and position > highwater:
                    read_past[tp] = (offset, highwater)
        if not read_past:
            return
        checks = [
            consumer.records_between(tp, offset + 1, highwater + 1)
            for tp, (offset, highwater) in read_past.items()
        ]
        found = await asyncio.gather(*checks)
        if (
            not self.in_recovery
            or self.signal_recovery_start.is_set()
            or self.app.consumer_generation_id != generation
            or dict(self.active_highwaters) != highwaters
        ):
            return  # a rebalance began meanwhile: its recovery starts over
        for (tp, (offset, highwater)), missed in zip(read_past.items(), found, strict=True):
            if self.active_offsets.get(tp) != offset:
                continue  # records arrived meanwhile: not the end yet
            if missed:
                await self._read_again(tp, missed)
            else:
                self.active_offsets[tp] = highwater
        if not self.need_recovery():
            # As Faust's own loop ends a recovery.
            self.flush_buffers()
            self._set_recovery_ended()
            self.signal_recovery_end.set()

    async def _seek_offsets(
        self, consumer: ConsumerT, tps: Set[TP], offsets: Counter[TP], title: str
    ) -> None:
        """Extends: ``Recovery._seek_offsets``, reading a partition with an offset that
        means nothing known (below -1) from its start."""
        # Faust turns -1 ("nothing read yet") into 0, but once, with the broker killed
        # during a recovery, a standby offset that was neither reached aiokafka's seek,
        # which raised and crashed the worker. Such an offset means nothing known: read
        # the partition from its start (applying a changelog again is harmless).
        for tp in tps:
            offset = offsets[tp]
            if offset is None or offset < -1:
                log.warning("%s[%d]: %s offset %r, reading from the start", *tp, title, offset)
                offsets[tp] = -1
        await super()._seek_offsets(consumer, tps, offsets, title)

    async def _read_again(self, tp: TP, missed: list[int]) -> None:
        log.warning(
            "%s[%d]: recovery read past offsets %s (of %d) without applying them; "
            "reading them again",
            tp.topic,
            tp.partition,
            missed[:10],
            len(missed),
        )
        await self.app.consumer.seek_wait({tp: missed[0]})


class MarkerAwareTables(TableManager):
    """Faust's table manager with ``MarkerAwareRecovery``.

    Replaces: ``TableManager.recovery``, which builds Faust's ``Recovery`` into
    ``_recovery``; the manager has no option for the class.
    """

    @property
    def recovery(self) -> Recovery:
        if self._recovery is None:
            self._recovery = MarkerAwareRecovery(self.app, self, beacon=self.beacon, loop=self.loop)
        return self._recovery
