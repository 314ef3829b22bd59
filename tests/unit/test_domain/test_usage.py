"""Consumption windows: event time, day and month boundaries, late entries, keeping."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from streams.domain import LedgerEntry
from streams.domain.usage import (
    DAY,
    DAYS_KEPT,
    MONTH,
    MONTHS_KEPT,
    UsageWindows,
    record_usage,
    window_bounds,
    window_of,
)
from streams.pipeline.state import encode_windows


def usage(at: str, seconds: int = 60, cost: int = 20_000, service: str = "call:domestic"):
    return LedgerEntry("a:1", "a", 1, "usage", -cost, 0, "USD", "c-1", at, service, seconds)


def test_entries_either_side_of_midnight_count_in_two_days() -> None:
    windows = UsageWindows()
    record_usage(windows, [usage("2026-11-24T23:59:59Z"), usage("2026-11-25T00:00:00Z")])
    assert windows.days == {
        "2026-11-24": {"call:domestic": [60, 20_000]},
        "2026-11-25": {"call:domestic": [60, 20_000]},
    }
    assert windows.months == {"2026-11": {"call:domestic": [120, 40_000]}}


def test_entries_either_side_of_a_month_end_count_in_two_months() -> None:
    windows = UsageWindows()
    record_usage(
        windows,
        [
            usage("2026-12-31T23:59:59.999Z", 300, 100_000, "conference:dial_out"),
            usage("2027-01-01T00:00:00Z", 60, 22_000, "conference:toll_free_dial_in"),
        ],
    )
    assert windows.months == {
        "2026-12": {"conference:dial_out": [300, 100_000]},
        "2027-01": {"conference:toll_free_dial_in": [60, 22_000]},
    }
    assert set(windows.days) == {"2026-12-31", "2027-01-01"}


def test_a_late_entry_lands_in_the_window_of_its_time() -> None:
    windows = UsageWindows()
    record_usage(windows, [usage("2026-11-25T09:00:00Z")])
    record_usage(windows, [usage("2026-11-24T22:00:00Z", 120, 40_000)])  # arrives later
    assert windows.days == {
        "2026-11-24": {"call:domestic": [120, 40_000]},
        "2026-11-25": {"call:domestic": [60, 20_000]},
    }


def test_services_are_counted_apart() -> None:
    windows = UsageWindows()
    record_usage(
        windows,
        [
            usage("2026-11-24T10:00:00Z", 60, 20_000, "call:domestic"),
            usage("2026-11-24T10:01:00Z", 120, 220_000, "call:international"),
            usage("2026-11-24T10:02:00Z", 60, 20_000, "call:domestic"),
        ],
    )
    assert windows.days["2026-11-24"] == {
        "call:domestic": [120, 40_000],
        "call:international": [120, 220_000],
    }


def test_funds_and_recharges_are_not_usage() -> None:
    windows = UsageWindows()
    funds = LedgerEntry("a:1", "a", 1, "add_funds", 5_000_000, 5_000_000, "USD", "f", "x")
    record_usage(windows, [funds])
    assert windows == UsageWindows()


def test_windows_past_keeping_are_dropped_relative_to_the_newest() -> None:
    windows = UsageWindows()
    record_usage(windows, [usage("2026-01-01T10:00:00Z"), usage("2026-10-31T10:00:00Z")])
    record_usage(windows, [usage("2027-01-15T10:00:00Z")])
    oldest_day = (date(2027, 1, 15) - timedelta(days=DAYS_KEPT - 1)).isoformat()
    assert oldest_day == "2026-12-15"
    assert list(windows.days) == ["2027-01-15"]
    # 13 months back from 2027-01 is 2026-01: still kept.
    assert sorted(windows.months) == ["2026-01", "2026-10", "2027-01"]
    record_usage(windows, [usage("2027-02-01T00:00:00Z")])
    assert sorted(windows.months) == ["2026-10", "2027-01", "2027-02"]


def test_a_late_entry_for_a_dropped_window_is_not_counted() -> None:
    windows = UsageWindows()
    record_usage(windows, [usage("2026-11-24T10:00:00Z")])
    record_usage(windows, [usage("2026-10-01T10:00:00Z")])  # 54 days late
    assert list(windows.days) == ["2026-11-24"]
    assert sorted(windows.months) == ["2026-10", "2026-11"]  # a month is kept longer


def test_window_bounds() -> None:
    assert window_bounds(DAY, "2026-12-31") == (date(2026, 12, 31), date(2027, 1, 1))
    assert window_bounds(MONTH, "2026-12") == (date(2026, 12, 1), date(2027, 1, 1))
    assert window_bounds(MONTH, "2027-02") == (date(2027, 2, 1), date(2027, 3, 1))
    assert window_of(DAY, date(2026, 11, 24)) == "2026-11-24"
    assert window_of(MONTH, date(2026, 11, 24)) == "2026-11"


moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31, 23, 59))


@given(st.lists(st.tuples(moments, st.integers(0, 7200)), max_size=40), st.data())
def test_days_and_months_agree_with_the_entries_however_batched(entries, data) -> None:
    """Within keeping, each month's totals are the sum of the entries of that month, and
    the days sum to the months; splitting the entries into batches changes nothing."""
    ledger = [usage(at.strftime("%Y-%m-%dT%H:%M:%SZ"), s, s * 100) for at, s in entries]
    split = data.draw(st.integers(0, len(ledger)))
    windows = UsageWindows()
    record_usage(windows, ledger[:split])
    record_usage(windows, ledger[split:])
    whole = UsageWindows()
    record_usage(whole, ledger)
    assert windows == whole
    assert len(windows.days) <= DAYS_KEPT and len(windows.months) <= MONTHS_KEPT
    for month, services in windows.months.items():
        expected = sum(e.billable_seconds for e in ledger if e.occurred_at.startswith(month))
        assert services.get("call:domestic", [0, 0])[0] == expected
    for day, services in windows.days.items():
        assert services == whole.days[day]
        month_total = windows.months[day[:7]]["call:domestic"]
        assert services["call:domestic"][0] <= month_total[0]


SERVICES = (
    "call:domestic",
    "call:international",
    "conference:dial_out",
    "conference:toll_free_dial_in",
)


def _years_of_daily_usage(years: int) -> UsageWindows:
    """Every service, every day, ten hours of calls each, one batch a day."""
    windows = UsageWindows()
    first = date(2025, 1, 1)
    for n in range(365 * years):
        at = f"{first + timedelta(days=n)}T12:00:00Z"
        record_usage(windows, [usage(at, 36_000, 12_000_000, service) for service in SERVICES])
    return windows


def test_the_record_of_a_year_of_daily_usage_is_bounded_and_stops_growing() -> None:
    """Days older than a month leave the record: they stay counted in their month."""
    years = [_years_of_daily_usage(n) for n in (1, 2, 3)]
    assert (len(years[2].days), len(years[2].months)) == (DAYS_KEPT, MONTHS_KEPT)
    sizes = [len(encode_windows(windows, 10**9)) for windows in years]
    assert sizes[1] == sizes[2] and max(sizes) <= 8 * 1024, sizes
    assert years[2].months["2027-12"]["call:domestic"] == [31 * 36_000, 31 * 12_000_000]
