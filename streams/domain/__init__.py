"""The pure core: money, the rate card, account state and the recharge rules.

No Kafka, no Faust, no I/O, no clock: ``apply(state, inputs)`` returns the new state and
what to send.
"""

from streams.domain.account import (
    MAX_FAILURES_IN_A_ROW,
    AccountState,
    AutoRecharge,
    PendingRecharge,
)
from streams.domain.engine import Applied, apply
from streams.domain.inputs import (
    AddFunds,
    CallUsage,
    ConferenceUsage,
    ConfigureAutoRecharge,
    Input,
    RechargeResult,
    Usage,
)
from streams.domain.money import MICROS_PER_UNIT, MoneyError, format_money, parse_money
from streams.domain.outputs import LedgerEntry, Notification, Output, RechargeRequested, Rejected
from streams.domain.ratecard import Rate, RateCard, RateCardError, charge

__all__ = [
    "MAX_FAILURES_IN_A_ROW",
    "MICROS_PER_UNIT",
    "AccountState",
    "AddFunds",
    "Applied",
    "AutoRecharge",
    "CallUsage",
    "ConferenceUsage",
    "ConfigureAutoRecharge",
    "Input",
    "LedgerEntry",
    "MoneyError",
    "Notification",
    "Output",
    "PendingRecharge",
    "Rate",
    "RateCard",
    "RateCardError",
    "RechargeRequested",
    "RechargeResult",
    "Rejected",
    "Usage",
    "apply",
    "charge",
    "format_money",
    "parse_money",
]
