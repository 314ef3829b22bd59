"""What the domain is told: usage, admin commands and billing results, money in micros.

Times stay the RFC 3339 strings they arrived as: the domain passes them to its outputs
and never reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CallUsage:
    event_id: str
    account_id: str
    occurred_at: str
    call_type: str  # "domestic" | "international"
    direction: str  # "outbound" | "inbound"
    country: str
    duration_seconds: int


@dataclass(frozen=True, slots=True)
class ConferenceUsage:
    event_id: str
    account_id: str
    occurred_at: str
    leg: str  # "dial_out" | "toll_free_dial_in" | "toll_dial_in"
    country: str
    duration_seconds: int


@dataclass(frozen=True, slots=True)
class AddFunds:
    command_id: str
    account_id: str
    issued_at: str
    amount: int
    currency: str


@dataclass(frozen=True, slots=True)
class ConfigureAutoRecharge:
    command_id: str
    account_id: str
    issued_at: str
    enabled: bool
    recharge_amount: int
    trigger_balance: int
    currency: str


@dataclass(frozen=True, slots=True)
class RechargeResult:
    request_id: str
    account_id: str
    completed_at: str
    succeeded: bool
    amount: int
    currency: str
    reason: str | None = None


Usage = CallUsage | ConferenceUsage
Input = CallUsage | ConferenceUsage | AddFunds | ConfigureAutoRecharge | RechargeResult
