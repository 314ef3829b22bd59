"""A partition's dedupe window in the seen-inputs table: its stream time, the ids it
remembers by day, and the tombstones of the days that left the window.

Beside each remembered id (``account \\0 kind:id``), the table holds per partition:

- ``PARTITION_MARK p``: the partition's stream time (its newest input time) and the
  first day whose ids are still remembered;
- ``PARTITION_MARK p \\0 day \\0 offset``: the ids a batch remembered for inputs of that
  day, one record per batch and day (``offset``: the batch's first input), never
  rewritten.

When the stream time moves a day past the window, one read of the index records before
the new first day finds every id to forget: each id and each index record gets a
tombstone, in the same batch, so the changelog (and a recovery) forgets them too. The
rules (what is too late, which days are kept) are the domain's (``streams/domain/window``).
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson

from streams.domain.window import DedupeWindow
from streams.pipeline.partitioning import partition_key
from streams.state import Changes, PartitionStore

IDS_JOINED_BY = b"\n"  # ids hold no control characters


class PartitionWindow:
    """The dedupe window of one partition, as stored before a batch."""

    def __init__(self, window: DedupeWindow, partition: int, seen_inputs: PartitionStore) -> None:
        self.window = window
        self.partition = partition
        self.store = seen_inputs
        stored = seen_inputs.get(partition_key(partition))
        self.stream_time, self.kept_from = orjson.loads(stored) if stored else (None, None)

    def records(
        self, remembered: dict[str, list[bytes]], newest: str | None, first_offset: int
    ) -> Changes:
        """What a batch adds to the table beside its dedupe records: its index records
        (``remembered``: day -> the ids it remembered of that day), the stream time moved
        to ``newest``, and tombstones for the days that left the window."""
        changes: dict[bytes, bytes | None] = {
            partition_key(self.partition, day.encode(), str(first_offset).encode()): (
                IDS_JOINED_BY.join(keys)
            )
            for day, keys in remembered.items()
        }
        if newest is None or newest == self.stream_time:
            return changes
        kept_from = self.window.first_day_kept(newest)
        if self.kept_from is None or kept_from > self.kept_from:
            written = {key for keys in remembered.values() for key in keys}
            changes.update(self._forget_before(kept_from, written))
        changes[partition_key(self.partition)] = orjson.dumps([newest, kept_from])
        return changes

    def _forget_before(self, day: str, keep: set[bytes]) -> Iterable[tuple[bytes, None]]:
        """Tombstones for the index records of the days before ``day`` and their ids, but
        those the batch itself remembered (a replay of it must still find them)."""
        first, end = partition_key(self.partition, b""), partition_key(self.partition, day.encode())
        for index_key, ids in self.store.between(first, end):
            yield index_key, None
            for key in ids.split(IDS_JOINED_BY):
                if key not in keep:
                    yield key, None
