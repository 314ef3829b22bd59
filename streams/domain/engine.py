"""apply(state, inputs) -> new state and outputs: rating, balance and the recharge rules.

Pure and deterministic: the same state and inputs always give equal outputs, ids
included, which is what makes replaying inputs after a crash safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from streams.domain.account import (
    MAX_FAILURES_IN_A_ROW,
    AccountState,
    AutoRecharge,
    PendingRecharge,
)
from streams.domain.inputs import (
    AddFunds,
    CallUsage,
    ConferenceUsage,
    ConfigureAutoRecharge,
    Input,
    RechargeResult,
)
from streams.domain.money import format_money
from streams.domain.outputs import LedgerEntry, Notification, Output, RechargeRequested, Rejected
from streams.domain.ratecard import RateCard, charge


@dataclass(slots=True)
class Applied:
    state: AccountState
    outputs: list[Output]
    rejected: list[Rejected]
    ignored: list[int]  # inputs that changed nothing by the rules (a settled request's result)


def apply(
    state: AccountState | None,
    account_id: str,
    inputs: Sequence[Input],
    *,
    rate_card: RateCard,
    default_currency: str,
) -> Applied:
    """Apply ``inputs``, in order, to one account. ``state`` is left as it was."""
    account = _Account(
        state.copy() if state is not None else AccountState(account_id),
        rate_card,
        default_currency,
    )
    applied = Applied(account.state, account.outputs, [], [])
    for index, item in enumerate(inputs):
        outcome = account.take(item)
        if outcome is _IGNORED:
            applied.ignored.append(index)
        elif outcome is not None:
            applied.rejected.append(Rejected(index, outcome.reason, outcome.code))
    return applied


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an input was not applied: a code for counting, a reason for people."""

    code: str  # "no_rate" | "currency_mismatch" | "not_positive" | "unknown_request"
    reason: str


_IGNORED = Refusal("ignored", "changes nothing by the rules")


class _Account:
    """One account while a batch is applied to it. Each handler checks, then changes."""

    __slots__ = ("default_currency", "outputs", "rate_card", "state")

    def __init__(self, state: AccountState, rate_card: RateCard, default_currency: str) -> None:
        self.state = state
        self.rate_card = rate_card
        self.default_currency = default_currency
        self.outputs: list[Output] = []

    def take(self, item: Input) -> Refusal | None:
        """Apply one input: None when applied, else why it was not (or _IGNORED)."""
        if isinstance(item, CallUsage):
            return self._usage(item, "call", item.call_type, item.direction)
        if isinstance(item, ConferenceUsage):
            return self._usage(item, "conference", item.leg, "outbound")
        if isinstance(item, AddFunds):
            return self._add_funds(item)
        if isinstance(item, ConfigureAutoRecharge):
            return self._configure(item)
        return self._result(item)

    # --- inputs -------------------------------------------------------------------------

    def _usage(
        self, item: CallUsage | ConferenceUsage, service: str, kind: str, direction: str
    ) -> Refusal | None:
        currency = self.state.currency or self.default_currency
        rate = self.rate_card.find(service, kind, item.country, currency, direction)
        if rate is None:
            if direction == "inbound":
                return None  # inbound calls are free unless a rate says otherwise
            return Refusal(
                "no_rate", f"no rate for {service} {kind} to {item.country} in {currency}"
            )
        billable, amount = charge(rate, item.duration_seconds)
        if amount == 0:
            return None
        self.state.currency = currency
        self._debit(amount, item.event_id, item.occurred_at, f"{service}:{kind}", billable)
        return None

    def _add_funds(self, item: AddFunds) -> Refusal | None:
        problem = self._currency_problem(item.currency) or not_positive("amount", item.amount)
        if problem:
            return problem
        self.state.currency = item.currency
        self._credit(item.amount, "add_funds", item.command_id, item.issued_at)
        return None

    def _configure(self, item: ConfigureAutoRecharge) -> Refusal | None:
        problem = self._currency_problem(item.currency) or not_positive(
            "recharge_amount", item.recharge_amount
        )
        if problem:
            return problem
        state = self.state
        state.currency = item.currency
        state.auto_recharge = AutoRecharge(item.enabled, item.recharge_amount, item.trigger_balance)
        state.failures_in_a_row = 0  # configuring again ends a suspension
        if state.balance >= item.trigger_balance:
            state.low_balance_notified = False
        self._maybe_request(item.command_id, item.issued_at)
        return None

    def _result(self, item: RechargeResult) -> Refusal | None:
        state = self.state
        pending = state.pending
        if pending is None or pending.request_id != item.request_id:
            return (
                _IGNORED
                if self._was_settled(item.request_id)
                else Refusal("unknown_request", f"unknown request_id {item.request_id}")
            )
        problem = self._currency_problem(item.currency)
        if not problem and item.succeeded:
            problem = not_positive("amount", item.amount)
        if problem:
            return problem
        state.pending = None
        if item.succeeded:
            state.failures_in_a_row = 0
            self._credit(item.amount, "recharge", item.request_id, item.completed_at)
            self._maybe_request(item.request_id, item.completed_at)
            return None
        state.failures_in_a_row += 1
        self._notify(
            "recharge_failed", item.completed_at, reason=item.reason, request_id=item.request_id
        )
        if state.failures_in_a_row == MAX_FAILURES_IN_A_ROW:
            self._notify(
                "auto_recharge_suspended",
                item.completed_at,
                reason=f"{MAX_FAILURES_IN_A_ROW} recharges failed in a row",
            )
        return None

    # --- balance ------------------------------------------------------------------------

    def _debit(self, amount: int, source_id: str, at: str, service: str, billable: int) -> None:
        state = self.state
        state.balance -= amount
        self._ledger("usage", -amount, source_id, at, service, billable)
        if state.balance <= 0 and not state.exhausted_notified:
            state.exhausted_notified = True
            self._notify("balance_exhausted", at)
        auto = state.auto_recharge
        if auto is None or state.balance >= auto.trigger_balance:
            return
        if auto.enabled and not state.suspended:
            self._maybe_request(source_id, at)
        elif not state.low_balance_notified:
            state.low_balance_notified = True
            self._notify("low_balance", at)

    def _credit(self, amount: int, kind: str, source_id: str, at: str) -> None:
        state = self.state
        state.balance += amount
        self._ledger(kind, amount, source_id, at, None, None)
        if state.balance > 0:
            state.exhausted_notified = False
        auto = state.auto_recharge
        if auto is not None and state.balance >= auto.trigger_balance:
            state.low_balance_notified = False

    def _ledger(
        self,
        kind: str,
        amount: int,
        source_id: str,
        at: str,
        service: str | None,
        billable: int | None,
    ) -> None:
        state = self.state
        state.seq += 1
        self.outputs.append(
            LedgerEntry(
                f"{state.account_id}:{state.seq}",
                state.account_id,
                state.seq,
                kind,
                amount,
                state.balance,
                self._currency,
                source_id,
                at,
                service,
                billable,
            )
        )

    # --- recharge -----------------------------------------------------------------------

    def _maybe_request(self, cause_id: str, at: str) -> None:
        """One request at a time, while auto-recharge is on and the balance is below."""
        state = self.state
        auto = state.auto_recharge
        if (
            auto is None
            or not auto.enabled
            or state.suspended
            or state.pending is not None
            or state.balance >= auto.trigger_balance
        ):
            return
        state.recharges_requested += 1
        request_id = f"{state.account_id}:rr:{state.recharges_requested}"
        state.pending = PendingRecharge(request_id, auto.recharge_amount, at)
        self.outputs.append(
            RechargeRequested(
                request_id,
                state.account_id,
                auto.recharge_amount,
                self._currency,
                state.balance,
                auto.trigger_balance,
                cause_id,
                at,
            )
        )

    def _was_settled(self, request_id: str) -> bool:
        prefix = f"{self.state.account_id}:rr:"
        if not request_id.startswith(prefix):
            return False
        number = request_id[len(prefix) :]
        return number.isdigit() and 1 <= int(number) <= self.state.recharges_requested

    # --- helpers ------------------------------------------------------------------------

    @property
    def _currency(self) -> str:
        return self.state.currency or self.default_currency

    def _currency_problem(self, currency: str) -> Refusal | None:
        fixed = self.state.currency
        if fixed is not None and currency != fixed:
            return Refusal(
                "currency_mismatch",
                f"currency {currency} differs from the account's currency {fixed}",
            )
        return None

    def _notify(
        self, kind: str, at: str, *, reason: str | None = None, request_id: str | None = None
    ) -> None:
        state = self.state
        state.notifications_sent += 1
        self.outputs.append(
            Notification(
                f"{state.account_id}:n:{state.notifications_sent}",
                state.account_id,
                kind,
                state.balance,
                self._currency,
                at,
                reason,
                request_id,
            )
        )


def not_positive(field: str, micros: int) -> Refusal | None:
    if micros <= 0:
        return Refusal(
            "not_positive", f"{field} must be greater than 0, got {format_money(micros)}"
        )
    return None
