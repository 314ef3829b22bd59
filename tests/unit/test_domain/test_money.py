"""Money: decimal strings <-> integer micros, exactly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.domain.money import MoneyError, format_money, parse_money


@pytest.mark.parametrize(
    ("text", "micros"),
    [
        ("12.50", 12_500_000),
        ("0.0240", 24_000),
        ("-0.6000", -600_000),
        ("0", 0),
        ("100", 100_000_000),
        ("0.000001", 1),
        ("999999999999.999999", 999_999_999_999_999_999),
    ],
)
def test_parse(text: str, micros: int) -> None:
    assert parse_money(text) == micros


@pytest.mark.parametrize(
    ("micros", "text"),
    [
        (0, "0.00"),
        (19_400_000, "19.40"),
        (24_000, "0.024"),
        (-600_000, "-0.60"),
        (1, "0.000001"),
        (-200_000, "-0.20"),
        (62_636_000, "62.636"),
    ],
)
def test_format_keeps_two_to_six_fractional_digits(micros: int, text: str) -> None:
    assert format_money(micros) == text


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("12.1234567", "more than 6 fractional digits"),
        ("1e3", "not a decimal amount"),
        ("+1.00", "not a decimal amount"),
        (" 1.00", "not a decimal amount"),
        ("", "not a decimal amount"),
        ("1.", "not a decimal amount"),
        (12.5, "not a decimal string"),
    ],
)
def test_anything_else_is_refused(value: object, reason: str) -> None:
    with pytest.raises(MoneyError, match=reason):
        parse_money(value)  # type: ignore[arg-type]


@given(st.integers(min_value=-(10**18), max_value=10**18))
def test_format_then_parse_is_the_identity(micros: int) -> None:
    assert parse_money(format_money(micros)) == micros
