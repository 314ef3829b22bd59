"""The rate card: which price per minute and billing increment applies to a usage event."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from streams.domain.money import MoneyError, parse_money

ANY_COUNTRY = "*"


class RateCardError(ValueError):
    """A rate card that cannot be used; the message says which row and why."""


@dataclass(frozen=True, slots=True)
class Rate:
    service: str  # "call" | "conference"
    kind: str  # call_type or conference leg
    country: str  # ISO 3166-1 alpha-2, or "*"
    currency: str
    per_minute: int  # micros
    increment_seconds: int
    direction: str = "outbound"  # calls only; conference legs are matched as outbound


_Key = tuple[str, str, str, str, str]  # service, kind, country, currency, direction


class RateCard:
    """Rates indexed for O(1) lookup; an exact country wins over "*"."""

    def __init__(self, rates: Iterable[Rate]) -> None:
        self._rates: dict[_Key, Rate] = {}
        for index, rate in enumerate(rates):
            key = (rate.service, rate.kind, rate.country, rate.currency, rate.direction)
            if key in self._rates:
                raise RateCardError(f"rates[{index}] repeats the rate for {'/'.join(key)}")
            if rate.per_minute < 0:
                raise RateCardError(f"rates[{index}].per_minute must not be negative")
            if rate.increment_seconds < 1:
                raise RateCardError(f"rates[{index}].increment_seconds must be at least 1")
            self._rates[key] = rate

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]]) -> RateCard:
        """Rows as decoded from the rate card's JSON (schema-valid), money as strings."""
        rates = []
        for index, row in enumerate(rows):
            try:
                per_minute = parse_money(row["per_minute"])
            except MoneyError as error:
                raise RateCardError(f"rates[{index}].per_minute: {error}") from None
            rates.append(
                Rate(
                    service=row["service"],
                    kind=row["kind"],
                    country=row["country"],
                    currency=row["currency"],
                    per_minute=per_minute,
                    increment_seconds=row["increment_seconds"],
                    direction=row.get("direction", "outbound"),
                )
            )
        return cls(rates)

    def __len__(self) -> int:
        return len(self._rates)

    def find(
        self, service: str, kind: str, country: str, currency: str, direction: str
    ) -> Rate | None:
        rates = self._rates
        return rates.get((service, kind, country, currency, direction)) or rates.get(
            (service, kind, ANY_COUNTRY, currency, direction)
        )


def charge(rate: Rate, duration_seconds: int) -> tuple[int, int]:
    """(billable seconds, amount in micros) for a usage of ``duration_seconds``.

    Billable time is the duration rounded up to whole increments. The amount is
    billable_seconds * per_minute / 60, exact in integers; when it is not a whole number
    of micros (per-second billing of some prices) it is rounded half up to the micro.
    """
    increment = rate.increment_seconds
    billable = -(-duration_seconds // increment) * increment
    amount, remainder = divmod(billable * rate.per_minute, 60)
    if remainder * 2 >= 60:
        amount += 1
    return billable, amount
