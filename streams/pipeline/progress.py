"""How far a partition is processed: the only offset this worker ever commits.

A partition is delivered and processed in offset order, so what may be committed is a
single number: the first offset not processed yet. It starts where the consumer was
positioned (the group's committed offset, or the log start) and moves only through
offsets that were processed here, or that hold no message this worker needs (a hole).
An ack that does not continue the run is ignored: it was fetched before the partition
was positioned again, and the copy delivered after the seek will count instead.
"""

from __future__ import annotations


class PartitionProgress:
    __slots__ = ("_holes", "ahead_since", "committed", "done", "start")

    def __init__(self, start: int) -> None:
        self.start = start
        self.done = start  # every offset below was processed here or committed by the group
        self.committed = start  # the highest offset committed from this progress
        self.ahead_since: float | None = None  # when an ack first came past an unprocessed one
        self._holes: dict[int, int] = {}

    def positioned_at(self, position: int) -> PartitionProgress:
        """The progress after the consumer was sought to ``position``.

        A position inside this run (the usual rebalance, where the partition stays) keeps
        what was processed since: those offsets are processed, whoever commits them.
        """
        if self.start <= position <= self.done:
            return self
        return PartitionProgress(position)

    def processed(self, offset: int, now: float) -> None:
        if offset == self.done:
            self.done = offset + 1
        elif offset > self.done and self._holes.get(self.done) == offset:
            del self._holes[self.done]
            self.done = offset + 1
        else:
            if offset > self.done and self.ahead_since is None:
                self.ahead_since = now
            return
        self.ahead_since = None

    def continues(self, after: int, offset: int) -> bool:
        """Is ``offset`` the next to process once every offset below ``after`` is?"""
        return offset == after or self._holes.get(after) == offset

    def skip(self, start: int, end: int) -> None:
        """Offsets [start, end) hold nothing this worker needs: the run may go over them."""
        if start >= self.done:
            self._holes[start] = end

    def to_commit(self) -> int | None:
        return self.done if self.done > self.committed else None

    def stalled_for(self, now: float) -> float:
        """How long acks have been arriving past an offset that was never processed."""
        return 0.0 if self.ahead_since is None else now - self.ahead_since
