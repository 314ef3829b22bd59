"""Which input times are believable: from 2000 to a day past the message's Kafka time.

Times are the schemas' RFC 3339 UTC strings, fixed width up to the second, so they are
compared as text, to the second, without parsing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

EARLIEST = "2000-01-01T00:00:00"
AHEAD_SECONDS = 24 * 3600


def in_range(at: str, reference_ms: int) -> bool:
    """Whether ``at`` lies between 2000-01-01T00:00:00Z and 24 hours after
    ``reference_ms`` (milliseconds since the epoch: the message's Kafka time)."""
    second = at[:19]
    return EARLIEST <= second <= latest(reference_ms // 1000)


@lru_cache(maxsize=1024)
def latest(reference_second: int) -> str:
    """The latest believable time for a reference, to the second, as the schemas write it."""
    moment = datetime.fromtimestamp(reference_second + AHEAD_SECONDS, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def seconds_between(earlier: str, later: str) -> float:
    """Seconds from ``earlier`` to ``later`` (schema times, to the second)."""
    first = datetime.strptime(earlier[:19], "%Y-%m-%dT%H:%M:%S")
    return (datetime.strptime(later[:19], "%Y-%m-%dT%H:%M:%S") - first).total_seconds()
