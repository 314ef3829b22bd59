"""The pure core: money, the rate card, account state, the recharge rules and dedupe.

No Kafka, no Faust, no I/O, no clock: ``apply(state, inputs)`` returns the new state and
what to send; ``apply_once`` does the same, each input id once.
"""

from streams.domain.account import (
    MAX_FAILURES_IN_A_ROW,
    AccountState,
    AutoRecharge,
    PendingRecharge,
)
from streams.domain.dedupe import AppliedOnce, Arrival, Seen, apply_once
from streams.domain.engine import Account, Applied, apply
from streams.domain.inputs import (
    AddFunds,
    CallUsage,
    ConferenceUsage,
    ConfigureAutoRecharge,
    Input,
    RechargeResult,
    Usage,
)
from streams.domain.money import (
    BALANCE_LIMIT,
    MICROS_PER_UNIT,
    MoneyError,
    format_money,
    parse_money,
)
from streams.domain.outputs import LedgerEntry, Notification, Output, RechargeRequested, Refusal
from streams.domain.ratecard import Rate, RateCard, RateCardError, charge

__all__ = [
    "BALANCE_LIMIT",
    "MAX_FAILURES_IN_A_ROW",
    "MICROS_PER_UNIT",
    "Account",
    "AccountState",
    "AddFunds",
    "Applied",
    "AppliedOnce",
    "Arrival",
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
    "Refusal",
    "Seen",
    "Usage",
    "apply",
    "apply_once",
    "charge",
    "format_money",
    "parse_money",
]
