"""The usage view: the current window first, then the recent ones, totals as strings."""

from __future__ import annotations

from datetime import date

import orjson

from streams.api.usage_view import usage_view
from streams.domain.usage import DAY, MONTH, UsageWindows

WINDOWS = UsageWindows(
    days={
        "2026-11-30": {"call:domestic": [150, 60_000], "conference:dial_out": [600, 350_000]},
        "2026-12-01": {"call:international": [61, 223_667]},
    },
    months={
        "2026-11": {"call:domestic": [150, 60_000], "conference:dial_out": [600, 350_000]},
        "2026-12": {"call:international": [61, 223_667]},
    },
)


def test_days_newest_first_with_the_current_day_even_when_empty() -> None:
    view = orjson.loads(usage_view("org-1", "USD", WINDOWS, DAY, date(2026, 12, 2)))
    assert view["period"] == "day" and view["currency"] == "USD"
    assert [(w["start"], w["current"]) for w in view["windows"]] == [
        ("2026-12-02T00:00:00Z", True),
        ("2026-12-01T00:00:00Z", False),
        ("2026-11-30T00:00:00Z", False),
    ]
    today = view["windows"][0]
    assert today["services"] == {}
    assert today["total"] == {"minutes": "0.00", "billable_seconds": 0, "spend": "0.00"}
    assert view["windows"][1]["end"] == "2026-12-02T00:00:00Z"
    assert view["windows"][1]["total"] == {
        "minutes": "1.02",
        "billable_seconds": 61,
        "spend": "0.223667",
    }


def test_a_month_lists_its_services_and_their_total() -> None:
    view = orjson.loads(usage_view("org-1", "USD", WINDOWS, MONTH, date(2026, 11, 30)))
    november = view["windows"][1]
    assert view["windows"][0]["start"] == "2026-12-01T00:00:00Z"  # usage ahead of the clock
    assert (november["start"], november["end"], november["current"]) == (
        "2026-11-01T00:00:00Z",
        "2026-12-01T00:00:00Z",
        True,
    )
    assert november["services"] == {
        "call:domestic": {"minutes": "2.50", "billable_seconds": 150, "spend": "0.06"},
        "conference:dial_out": {"minutes": "10.00", "billable_seconds": 600, "spend": "0.35"},
    }
    assert november["total"] == {"minutes": "12.50", "billable_seconds": 750, "spend": "0.41"}
