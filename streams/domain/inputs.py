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
    recharge_amount: int  # 0 when recharge_to is given instead
    trigger_balance: int
    currency: str
    recharge_to: int | None = None
    max_recharges_per_day: int = 10


@dataclass(frozen=True, slots=True)
class CancelRecharge:
    command_id: str
    account_id: str
    issued_at: str
    request_id: str


@dataclass(frozen=True, slots=True)
class OverdueCheck:
    """Not a contract input: the worker's question, at ``checked_at`` (its clock), whether
    the pending request ``request_id`` has waited too long for its result. It goes
    through the account's log like any input, so a replay decides the same."""

    account_id: str
    request_id: str
    checked_at: str
    waiting_since: str = ""  # as the worker found the request indexed (the rules ignore it)


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
Command = AddFunds | ConfigureAutoRecharge | CancelRecharge
Input = CallUsage | ConferenceUsage | Command | RechargeResult | OverdueCheck


def time_of(item: Input) -> str:
    """The time an input carries: when the usage happened, the command was issued, the
    charge completed, the check was made."""
    if isinstance(item, AddFunds | ConfigureAutoRecharge | CancelRecharge):
        return item.issued_at
    if isinstance(item, RechargeResult):
        return item.completed_at
    if isinstance(item, OverdueCheck):
        return item.checked_at
    return item.occurred_at
