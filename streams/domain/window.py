"""The dedupe window: how long an input's id is remembered, in the stream's own time.

Time here is the inputs' time (``occurred_at``, ``issued_at``, ``completed_at``), and
"now" is the newest input time a partition has seen (its stream time), never a clock: a
replay of the same inputs forgets the same ids. With a window of 30 days:

- an input older than 30 days before the newest is too late: it could repeat an id
  already forgotten, so it is refused (``too_late``) rather than risk applying it twice;
- ids are forgotten a whole day at a time, once every moment of that day is older than
  the window. An id is therefore remembered for at least the window, and at most a day
  longer, which keeps the promise: a repeat that is not too late finds its first input.

Times are the schemas' UTC strings, compared as text to the second.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from streams.domain.inputs import time_of

__all__ = ["DedupeWindow", "newest_of", "time_of"]

_SECOND = "%Y-%m-%dT%H:%M:%S"


@dataclass(frozen=True, slots=True)
class DedupeWindow:
    seconds: int

    def __str__(self) -> str:
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            if self.seconds % size == 0:
                return f"{self.seconds // size}{unit}"
        return f"{self.seconds}s"

    def too_late(self, at: str, newest: str | None) -> bool:
        """Whether an input at ``at`` is older than the window, the newest being ``newest``."""
        return newest is not None and at[:19] < _cutoff(newest[:19], self.seconds)

    def first_day_kept(self, newest: str) -> str:
        """The oldest day ("2026-11-24") whose ids are still remembered: every moment of the
        days before it is older than the window."""
        return _cutoff(newest[:19], self.seconds)[:10]


def newest_of(newest: str | None, times: list[str]) -> str | None:
    """The stream time after inputs at ``times``: the newest of all, to the second."""
    latest = max((at[:19] for at in times), default=None)
    if latest is None or (newest is not None and newest >= latest):
        return newest
    return latest


@lru_cache(maxsize=64)
def _cutoff(newest: str, seconds: int) -> str:
    """The oldest time inside the window, as text to the second."""
    return (datetime.strptime(newest, _SECOND) - timedelta(seconds=seconds)).strftime(_SECOND)
