"""Money as integer micro-units: exact, fast, and at most 6 fractional digits on the wire."""

from __future__ import annotations

import re

MICROS_PER_UNIT = 1_000_000
# A balance stays within -999999999999.999999 and 999999999999.999999 (the contract's
# limit: 12 integer digits, as every amount on the wire).
BALANCE_LIMIT = 10**18 - 1
_DECIMAL = re.compile(r"(-?)([0-9]+)(?:\.([0-9]{1,6}))?")


class MoneyError(ValueError):
    """A string that is not an amount of money."""


def parse_money(text: str) -> int:
    """ "12.50" -> 12_500_000. Exact: digits only, never through a float."""
    if not isinstance(text, str):
        raise MoneyError(f"{text!r} is not a decimal string")
    match = _DECIMAL.fullmatch(text)
    if match is None:
        if re.fullmatch(r"-?[0-9]+\.[0-9]{7,}", text):
            raise MoneyError(f"{text} has more than 6 fractional digits")
        raise MoneyError(f"{text!r} is not a decimal amount like 12.50")
    sign, units, fraction = match.groups()
    micros = int(units) * MICROS_PER_UNIT + int((fraction or "").ljust(6, "0"))
    return -micros if sign else micros


def format_money(micros: int) -> str:
    """12_500_000 -> "12.50": 2 to 6 fractional digits, no trailing zeros past the 2nd."""
    sign = "-" if micros < 0 else ""
    units, fraction = divmod(abs(micros), MICROS_PER_UNIT)
    digits = f"{fraction:06d}".rstrip("0").ljust(2, "0")
    return f"{sign}{units}.{digits}"
