"""An account's consumption windows as the API shows them: the current window first, then
the recent ones with usage, newest first; minutes and spend per service, and a total."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import orjson

from streams.domain import format_money
from streams.domain.usage import UsageWindows, window_bounds, window_of

_CENTS = Decimal("0.01")


def usage_view(
    account_id: str, currency: str | None, windows: UsageWindows, period: str, today: date
) -> bytes:
    by_start = windows.of(period)
    current = window_of(period, today)
    starts = sorted(set(by_start) | {current}, reverse=True)
    return orjson.dumps(
        {
            "account_id": account_id,
            "period": period,
            "currency": currency,
            "windows": [
                _window(period, start, by_start.get(start, {}), start == current)
                for start in starts
            ],
        }
    )


def _window(period: str, start: str, services: dict[str, list[int]], current: bool) -> dict:
    first, following = window_bounds(period, start)
    seconds = sum(totals[0] for totals in services.values())
    spend = sum(totals[1] for totals in services.values())
    return {
        "start": f"{first.isoformat()}T00:00:00Z",
        "end": f"{following.isoformat()}T00:00:00Z",
        "current": current,
        "services": {service: _totals(*services[service]) for service in sorted(services)},
        "total": _totals(seconds, spend),
    }


def _totals(billable_seconds: int, spend: int) -> dict:
    minutes = (Decimal(billable_seconds) / 60).quantize(_CENTS, ROUND_HALF_UP)
    return {
        "minutes": str(minutes),
        "billable_seconds": billable_seconds,
        "spend": format_money(spend),
    }
