"""What the domain decides: ledger entries, recharge requests, notifications, refusals."""

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
class Refusal:
    """Why an input was not applied: a reason code for counting, a reason for people.

    The codes are the contract's ``reason_code`` of a dead letter: "no_rate",
    "currency_mismatch", "not_positive", "unknown_request", "settled_request",
    "balance_limit", "conflicting_duplicate", "too_late".
    """

    code: str
    reason: str


Output = LedgerEntry | RechargeRequested | Notification
