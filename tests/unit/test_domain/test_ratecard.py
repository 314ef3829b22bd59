"""The rate card: lookup (exact country over "*", direction) and charging increments."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.domain.ratecard import Rate, RateCard, RateCardError, charge

ROWS = [
    {
        "service": "call",
        "kind": "domestic",
        "country": "*",
        "currency": "USD",
        "per_minute": "0.0200",
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
        "country": "US",
        "currency": "USD",
        "per_minute": "0.0050",
        "increment_seconds": 1,
        "direction": "inbound",
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
CARD = RateCard.from_rows(ROWS)


def test_an_exact_country_wins_over_the_wildcard() -> None:
    assert CARD.find("call", "international", "GB", "USD", "outbound").per_minute == 110_000
    assert CARD.find("call", "international", "NO", "USD", "outbound").per_minute == 250_000


def test_rates_are_per_currency_and_direction() -> None:
    assert CARD.find("call", "domestic", "US", "EUR", "outbound") is None
    assert CARD.find("call", "domestic", "NO", "USD", "inbound") is None
    assert CARD.find("call", "domestic", "US", "USD", "inbound").increment_seconds == 1
    assert CARD.find("conference", "dial_out", "DE", "USD", "outbound") is not None


def test_a_repeated_row_is_refused_with_its_index() -> None:
    with pytest.raises(RateCardError, match=r"rates\[5\] repeats"):
        RateCard.from_rows([*ROWS, ROWS[1]])


@pytest.mark.parametrize(
    ("seconds", "billable", "amount"),
    [(0, 0, 0), (1, 60, 20_000), (60, 60, 20_000), (61, 120, 40_000), (125, 180, 60_000)],
)
def test_duration_is_rounded_up_to_whole_increments(
    seconds: int, billable: int, amount: int
) -> None:
    rate = CARD.find("call", "domestic", "US", "USD", "outbound")
    assert charge(rate, seconds) == (billable, amount)


def test_a_fraction_of_a_micro_is_rounded_half_up() -> None:
    per_second = Rate("call", "domestic", "*", "USD", 10, 1)  # 0.00001 per minute
    assert charge(per_second, 3) == (3, 1)  # 0.5 micro -> 1
    assert charge(per_second, 2) == (2, 0)  # 0.33 micro -> 0


@given(
    per_minute=st.integers(min_value=0, max_value=10_000_000),
    increment=st.integers(min_value=1, max_value=3600),
    seconds=st.integers(min_value=0, max_value=86_400),
)
def test_billable_time_covers_the_call_by_less_than_one_increment(
    per_minute: int, increment: int, seconds: int
) -> None:
    rate = Rate("call", "domestic", "*", "USD", per_minute, increment)
    billable, amount = charge(rate, seconds)
    assert billable % increment == 0
    assert seconds <= billable < seconds + increment
    assert charge(rate, seconds + 1)[1] >= amount
