"""What the domain decides: ledger entries, recharge requests, notifications, rejections."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    entry_id: str  # f"{account_id}:{seq}"
    account_id: str
    seq: int
    kind: str  # "usage" | "add_funds" | "recharge"
    amount: int  # micros; negative for usage
    balance: int  # micros, after this entry
    currency: str
    source_id: str
    occurred_at: str
    service: str | None = None  # usage only: "call:domestic", "conference:dial_out", ...
    billable_seconds: int | None = None  # usage only


@dataclass(frozen=True, slots=True)
class RechargeRequested:
    request_id: str  # f"{account_id}:rr:{n}"
    account_id: str
    amount: int
    currency: str
    balance: int
    trigger_balance: int
    cause_id: str
    requested_at: str


@dataclass(frozen=True, slots=True)
class Notification:
    notification_id: str  # f"{account_id}:n:{k}"
    account_id: str
    type: str  # low_balance | balance_exhausted | recharge_failed | auto_recharge_suspended
    balance: int
    currency: str
    occurred_at: str
    reason: str | None = None
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    """Input number ``index`` of a batch was not applied, for a reason a person can act on."""

    index: int
    reason: str
    code: str  # for counting: "no_rate", "currency_mismatch", ...


Output = LedgerEntry | RechargeRequested | Notification
