"""Small builders for domain inputs, in whole currency units for readable tests."""

from __future__ import annotations

import itertools

from streams.domain import (
    AddFunds,
    CallUsage,
    ConferenceUsage,
    ConfigureAutoRecharge,
    RateCard,
    RechargeResult,
    parse_money,
)

ACCOUNT = "contoso"
AT = "2026-11-24T10:00:00Z"
RATE_CARD = RateCard.from_rows(
    [
        {
            "service": "call",
            "kind": "domestic",
            "country": "*",
            "currency": "USD",
            "per_minute": "1.00",
            "increment_seconds": 60,
        },
        {
            "service": "call",
            "kind": "international",
            "country": "GB",
            "currency": "USD",
            "per_minute": "0.1100",
            "increment_seconds": 60,
        },
        {
            "service": "call",
            "kind": "international",
            "country": "*",
            "currency": "USD",
            "per_minute": "0.2500",
            "increment_seconds": 60,
        },
        {
            "service": "call",
            "kind": "domestic",
            "country": "*",
            "currency": "EUR",
            "per_minute": "0.90",
            "increment_seconds": 60,
        },
        {
            "service": "conference",
            "kind": "dial_out",
            "country": "*",
            "currency": "USD",
            "per_minute": "0.0350",
            "increment_seconds": 60,
        },
    ]
)
_ids = itertools.count(1)


def _id(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


def call(
    seconds: int,
    *,
    country: str = "US",
    call_type: str = "domestic",
    direction: str = "outbound",
    event_id: str | None = None,
) -> CallUsage:
    return CallUsage(event_id or _id("c"), ACCOUNT, AT, call_type, direction, country, seconds)


def minutes(n: int, **kw) -> CallUsage:
    """A call of n whole minutes (1.00 a minute on the domestic rate)."""
    return call(n * 60, **kw)


def leg(seconds: int, kind: str = "dial_out", country: str = "US") -> ConferenceUsage:
    return ConferenceUsage(_id("m"), ACCOUNT, AT, kind, country, seconds)


def funds(amount: str, currency: str = "USD") -> AddFunds:
    return AddFunds(_id("f"), ACCOUNT, AT, parse_money(amount), currency)


def auto(
    amount: str = "10.00",
    trigger: str = "5.00",
    *,
    enabled: bool = True,
    currency: str = "USD",
    to: str | None = None,
    per_day: int = 10,
    at: str = AT,
) -> ConfigureAutoRecharge:
    """Auto-recharge of ``amount`` below ``trigger``, or up to ``to`` (then amount is 0)."""
    return ConfigureAutoRecharge(
        _id("a"),
        ACCOUNT,
        at,
        enabled,
        0 if to is not None else parse_money(amount),
        parse_money(trigger),
        currency,
        None if to is None else parse_money(to),
        per_day,
    )


def succeeded(
    n: int, amount: str = "10.00", currency: str = "USD", *, account: str = ACCOUNT
) -> RechargeResult:
    return RechargeResult(f"{account}:rr:{n}", ACCOUNT, AT, True, parse_money(amount), currency)


def failed(n: int, reason: str = "card declined") -> RechargeResult:
    return RechargeResult(
        f"{ACCOUNT}:rr:{n}", ACCOUNT, AT, False, parse_money("10.00"), "USD", reason
    )


def succeeded_for(request_id: str, amount: str = "10.00") -> RechargeResult:
    return RechargeResult(request_id, ACCOUNT, AT, True, parse_money(amount), "USD")
