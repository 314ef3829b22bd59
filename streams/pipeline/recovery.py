"""Table recovery that knows changelogs end in transaction markers, and misses no record.

With exactly_once, every batch ends its transaction with a commit marker in each
changelog partition it wrote, so a changelog's last offset is a marker, never a record:
Faust's recovery waits for a record at that offset that never comes. Faust's own way out
(for its own transactions) counts a partition as recovered once the consumer's position
is past the end, after two 5-second waits, without checking that every record before the
end reached the table. The scale-out test caught it: records fetched around a rebalance
and dropped on their way, then a worker that took the partitions over with blank
accounts, its ledger restarted at seq 1.

``MarkerAwareRecovery`` checks twice a second instead: a partition whose consumer read
past the end while its table is short of it is either done (only markers, or aborted
writes, remain: read_committed skips them) or was dropped records, and then it reads
them again.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka.errors import IllegalStateError
from faust.tables import TableManager
from faust.tables.recovery import Recovery
from faust.types import TP
from mode import Service

log = logging.getLogger(__name__)

# How often a recovery checks whether only end markers remain.
MARKER_CHECK_SECONDS = 0.5


class MarkerAwareRecovery(Recovery):
    @Service.task
    async def _end_at_markers(self) -> None:
        queue = self.tables.changelog_queue
        while not self.should_stop:
            await self.sleep(MARKER_CHECK_SECONDS)
            if self.in_recovery and queue.empty():
                try:
                    await self._check_partition_ends()
                except (IllegalStateError, TimeoutError) as error:
                    # A partition moved meanwhile; the next check sees the new assignment.
                    log.info("recovery check of the changelog ends gave up: %r", error)

    async def _check_partition_ends(self) -> None:
        consumer = self.app.consumer
        read_past: dict[TP, tuple[int, int]] = {}
        for tp, highwater in list(self.active_highwaters.items()):
            offset = self.active_offsets.get(tp)
            # Faust's highwater is the last offset (a marker here); offset the last record
            # applied, -1 for none.
            if highwater is None or offset is None or offset >= highwater:
                continue
            position = await consumer.position(tp)
            if position is not None and position > highwater:
                read_past[tp] = (offset, highwater)
        checks = [
            consumer.records_between(tp, start + 1, end + 1)
            for tp, (start, end) in read_past.items()
        ]
        for (tp, (_, highwater)), missed in zip(
            read_past.items(), await asyncio.gather(*checks), strict=True
        ):
            applied = self.active_offsets.get(tp)
            if not self.in_recovery or applied is None:
                return  # a rebalance began meanwhile: its recovery starts over
            missed = [each for each in missed if each > applied]
            if missed:
                await self._read_again(tp, missed)
            else:
                self.active_offsets[tp] = max(applied, highwater)
        if read_past and self.in_recovery and not self.need_recovery():
            # As Faust's own loop ends a recovery.
            self.flush_buffers()
            self._set_recovery_ended()
            self.signal_recovery_end.set()

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
    @property
    def recovery(self) -> Recovery:
        if self._recovery is None:
            self._recovery = MarkerAwareRecovery(self.app, self, beacon=self.beacon, loop=self.loop)
        return self._recovery
