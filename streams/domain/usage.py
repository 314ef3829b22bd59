"""Consumption windows: billable minutes and spend per service, by day and calendar month.

A fold over the ledger's usage entries, in event time: an entry counts in the windows of
its ``occurred_at``, however late it arrives. Windows are kept relative to the newest one
the account has (its stream time), not a wall clock, so the same inputs always give the
same windows; a window that old is dropped, and a late entry for it is not counted (its
charge is, in the ledger).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from streams.domain.outputs import LedgerEntry

DAY = "day"
MONTH = "month"
PERIODS = (DAY, MONTH)
# The newest day and the 31 before it: a month of days. A year of months and the current.
DAYS_KEPT = 32
MONTHS_KEPT = 13

# window start ("2026-11-24" or "2026-11") -> service ("call:domestic", ...) -> totals
Windows = dict[str, dict[str, list[int]]]  # [billable seconds, spend in micros]


@dataclass(slots=True)
class UsageWindows:
    days: Windows = field(default_factory=dict)
    months: Windows = field(default_factory=dict)

    def of(self, period: str) -> Windows:
        return self.days if period == DAY else self.months


def record_usage(windows: UsageWindows, entries: Iterable[LedgerEntry]) -> None:
    """Count each usage entry in its day and month, then drop windows past keeping."""
    days, months = windows.days, windows.months
    opened = False
    for entry in entries:
        if entry.service is None:
            continue  # not usage: funds or a recharge
        at = entry.occurred_at
        opened |= _add(days, at[:10], entry)
        _add(months, at[:7], entry)  # a new month is a new day too
    if opened:  # only a new window can push an old one out
        _expire(days, _oldest_day_kept(max(days)))
        _expire(months, _oldest_month_kept(max(months)))


def _add(windows: Windows, start: str, entry: LedgerEntry) -> bool:
    """Count ``entry`` in the window at ``start``; True if that window is new."""
    services = windows.get(start)
    opened = services is None
    if opened:
        services = windows[start] = {}
    totals = services.get(entry.service)
    if totals is None:
        services[entry.service] = [entry.billable_seconds or 0, -entry.amount]
    else:
        totals[0] += entry.billable_seconds or 0
        totals[1] -= entry.amount
    return opened


def _expire(windows: Windows, oldest_kept: str) -> None:
    for start in [start for start in windows if start < oldest_kept]:
        del windows[start]


def _oldest_day_kept(newest: str) -> str:
    return (date.fromisoformat(newest) - timedelta(days=DAYS_KEPT - 1)).isoformat()


def _oldest_month_kept(newest: str) -> str:
    year, month = int(newest[:4]), int(newest[5:7])
    index = year * 12 + month - 1 - (MONTHS_KEPT - 1)
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def window_bounds(period: str, start: str) -> tuple[date, date]:
    """The first day of a window and the first day after it."""
    if period == DAY:
        first = date.fromisoformat(start)
        return first, first + timedelta(days=1)
    year, month = int(start[:4]), int(start[5:7])
    following = date(year + month // 12, month % 12 + 1, 1)
    return date(year, month, 1), following


def window_of(period: str, day: date) -> str:
    """The start key of the window that holds ``day``."""
    return day.isoformat() if period == DAY else day.isoformat()[:7]
