"""apply(state, inputs) -> new state and outputs: rating, balance and the recharge rules.

Pure and deterministic: the same state and inputs always give equal outputs, ids
included, which is what makes replaying inputs after a crash safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from streams.domain.account import (
    MAX_FAILURES_IN_A_ROW,
    UNCHARGED_REQUESTS_KEPT,
    AccountState,
    AutoRecharge,
    PendingRecharge,
)
from streams.domain.inputs import (
    AddFunds,
    CallUsage,
    CancelRecharge,
    ConferenceUsage,
    ConfigureAutoRecharge,
    Input,
    OverdueCheck,
    RechargeResult,
    time_of,
)
from streams.domain.money import BALANCE_LIMIT, format_money
from streams.domain.outputs import LedgerEntry, Notification, Output, RechargeRequested, Refusal
from streams.domain.ratecard import RateCard, charge
from streams.domain.times import seconds_between


@dataclass(slots=True)
class Applied:
    state: AccountState
    outputs: list[Output]
    refused: dict[int, Refusal]  # index of the input -> why it was not applied


RECHARGE_TIMEOUT = 3600  # seconds: the contract's default STREAMS_RECHARGE_TIMEOUT


def apply(
    state: AccountState | None,
    account_id: str,
    inputs: Sequence[Input],
    *,
    rate_card: RateCard,
    default_currency: str,
    recharge_timeout: int = RECHARGE_TIMEOUT,
    now: str | None = None,
) -> Applied:
    """Apply ``inputs``, in order, to one account, ``now`` by the worker's clock (when a
    request is sent). ``state`` is left as it was."""
    account = Account(state, account_id, rate_card, default_currency, recharge_timeout, now)
    refused = {}
    for index, item in enumerate(inputs):
        refusal = account.take(item)
        if refusal is not None:
            refused[index] = refusal
    return Applied(account.state, account.outputs, refused)


class Account:
    """One account while inputs are applied to it, one at a time. Each handler checks,
    then changes: a refused input leaves the account as it was."""

    __slots__ = ("default_currency", "now", "outputs", "rate_card", "recharge_timeout", "state")

    def __init__(
        self,
        state: AccountState | None,
        account_id: str,
        rate_card: RateCard,
        default_currency: str,
        recharge_timeout: int = RECHARGE_TIMEOUT,
        now: str | None = None,
    ) -> None:
        self.state = state.copy() if state is not None else AccountState(account_id)
        self.rate_card = rate_card
        self.default_currency = default_currency
        self.recharge_timeout = recharge_timeout  # seconds before a request is overdue
        self.now = now  # the worker's clock, for the requests sent (None: the input's time)
        self.outputs: list[Output] = []

    def take(self, item: Input) -> Refusal | None:
        """Apply one input: None when applied, else why it was not."""
        if isinstance(item, OverdueCheck):
            return self._overdue(item)  # the worker's clock: not an input's time
        refusal = self._take(item)
        if refusal is None:
            self._moved_to(time_of(item))
        return refusal

    def _take(self, item: Input) -> Refusal | None:
        if isinstance(item, CallUsage):
            return self._usage(item, "call", item.call_type, item.direction)
        if isinstance(item, ConferenceUsage):
            return self._usage(item, "conference", item.leg, "outbound")
        if isinstance(item, AddFunds):
            return self._add_funds(item)
        if isinstance(item, ConfigureAutoRecharge):
            return self._configure(item)
        if isinstance(item, CancelRecharge):
            return self._cancel(item)
        return self._result(item)

    def _moved_to(self, at: str) -> None:
        """After an applied input: its time is the account's latest, and a later day lifts
        the daily limit's ``limited`` status."""
        state = self.state
        state.updated_at = at
        if state.limited_day is not None and at[:10] > state.limited_day:
            state.limited_day = None

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
        problem = self._past_limit(-amount)
        if problem:
            return problem
        self.state.currency = currency
        self._debit(amount, item.event_id, item.occurred_at, f"{service}:{kind}", billable)
        return None

    def _add_funds(self, item: AddFunds) -> Refusal | None:
        problem = self._credit_problem(item.currency, item.amount)
        if problem:
            return problem
        self.state.currency = item.currency
        self._credit(item.amount, "add_funds", item.command_id, item.issued_at)
        return None

    def _configure(self, item: ConfigureAutoRecharge) -> Refusal | None:
        problem = self._currency_problem(item.currency) or (
            not_positive("recharge_amount", item.recharge_amount)
            if item.recharge_to is None
            else above("recharge_to", item.recharge_to, item.trigger_balance)
        )
        if problem:
            return problem
        state = self.state
        state.currency = item.currency
        state.auto_recharge = AutoRecharge(
            item.enabled,
            item.recharge_amount,
            item.trigger_balance,
            item.recharge_to,
            item.max_recharges_per_day,
        )
        state.failures_in_a_row = 0  # configuring again ends a suspension
        if state.balance >= item.trigger_balance:
            state.low_balance_notified = False
        self._maybe_request(item.command_id, item.issued_at)
        return None

    def _result(self, item: RechargeResult) -> Refusal | None:
        pending = self.state.pending
        if pending is not None and pending.request_id == item.request_id:
            return self._settle(item)
        number = self._request_number(item.request_id)
        if number is None:
            return Refusal("unknown_request", f"unknown request_id {item.request_id}")
        if item.succeeded and number in self.state.uncharged_requests:
            return self._late_success(item, number)
        return Refusal(
            "settled_request",
            f"request_id {item.request_id} is settled already; "
            f"this {'succeeded' if item.succeeded else 'failed'} result changes nothing",
        )

    # --- recharge results ---------------------------------------------------------------

    def _settle(self, item: RechargeResult) -> Refusal | None:
        """The result of the pending request."""
        if item.succeeded:
            problem = self._credit_problem(item.currency, item.amount)
        else:
            problem = self._currency_problem(item.currency)
        if problem:
            return problem
        state = self.state
        state.pending = None
        if item.succeeded:
            state.failures_in_a_row = 0
            self._credit(item.amount, "recharge", item.request_id, item.completed_at)
            self._maybe_request(item.request_id, item.completed_at)
            return None
        state.failures_in_a_row += 1
        self._uncharged(item.request_id)
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

    def _late_success(self, item: RechargeResult, number: int) -> Refusal | None:
        """A success for a request settled as failed: the card was charged after all."""
        problem = self._credit_problem(item.currency, item.amount)
        if problem:
            return problem
        state = self.state
        state.uncharged_requests = tuple(n for n in state.uncharged_requests if n != number)
        state.failures_in_a_row = 0
        self._credit(item.amount, "recharge", item.request_id, item.completed_at)
        self._maybe_request(item.request_id, item.completed_at)
        return None

    def _cancel(self, item: CancelRecharge) -> Refusal | None:
        """An admin gives up waiting for a request's result: no longer pending, but a late
        success for it still credits (the card may have been charged)."""
        pending = self.state.pending
        if pending is None or pending.request_id != item.request_id:
            if self._request_number(item.request_id) is None:
                return Refusal("unknown_request", f"unknown request_id {item.request_id}")
            return Refusal(
                "settled_request", f"request_id {item.request_id} is not pending: nothing to cancel"
            )
        self.state.pending = None
        self._uncharged(item.request_id)
        self._maybe_request(item.command_id, item.issued_at)
        return None

    def _overdue(self, item: OverdueCheck) -> Refusal | None:
        """recharge_overdue, once, for a request still pending ``recharge_timeout`` after
        it was made. A check for a settled request, or one made early, changes nothing."""
        pending = self.state.pending
        if (
            pending is None
            or pending.request_id != item.request_id
            or pending.overdue_notified
            or seconds_between(pending.waiting_since, item.checked_at) < self.recharge_timeout
        ):
            return None
        self.state.pending = replace(pending, overdue_notified=True)
        self._notify("recharge_overdue", item.checked_at, request_id=pending.request_id)
        return None

    def _uncharged(self, request_id: str) -> None:
        number = self._request_number(request_id)
        if number is not None:
            kept = (*self.state.uncharged_requests, number)
            self.state.uncharged_requests = kept[-UNCHARGED_REQUESTS_KEPT:]

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
        restored = state.balance <= 0 < state.balance + amount and state.seq > 0
        state.balance += amount
        self._ledger(kind, amount, source_id, at, None, None)
        if restored:
            self._notify("balance_restored", at)
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

    def _credit_problem(self, currency: str, amount: int) -> Refusal | None:
        """Why ``amount`` in ``currency`` cannot be credited, if it cannot."""
        return (
            self._currency_problem(currency)
            or not_positive("amount", amount)
            or self._past_limit(amount)
        )

    def _past_limit(self, change: int) -> Refusal | None:
        balance = self.state.balance + change
        if -BALANCE_LIMIT <= balance <= BALANCE_LIMIT:
            return None
        return Refusal(
            "balance_limit",
            f"{format_money(change)} would take the balance to {format_money(balance)}, "
            f"past the limit of {format_money(BALANCE_LIMIT)}",
        )

    # --- recharge requests --------------------------------------------------------------

    def _maybe_request(self, cause_id: str, at: str) -> None:
        """One request at a time, while auto-recharge is on, the balance is below its
        trigger and the day's requests are not spent."""
        state = self.state
        auto = state.auto_recharge
        if (
            auto is None
            or not auto.enabled
            or state.suspended
            or state.pending is not None
            or state.balance >= auto.trigger_balance
            or not self._within_daily_limit(auto, at)
        ):
            return
        amount = auto.amount_at(state.balance)
        state.recharges_requested += 1
        state.recharges_that_day += 1
        request_id = f"{state.account_id}:rr:{state.recharges_requested}"
        state.pending = PendingRecharge(request_id, amount, at, sent_at=self.now)
        self.outputs.append(
            RechargeRequested(
                request_id,
                state.account_id,
                amount,
                self._currency,
                state.balance,
                auto.trigger_balance,
                cause_id,
                at,
            )
        )

    def _within_daily_limit(self, auto: AutoRecharge, at: str) -> bool:
        """Whether a request may go out on the UTC day of ``at`` (the latest day counted,
        if ``at`` is earlier); at the limit, recharge_limit_reached once that day."""
        state = self.state
        day = max(state.recharge_day or "", at[:10])
        if day != state.recharge_day:
            state.recharge_day, state.recharges_that_day = day, 0
        if state.recharges_that_day < auto.max_per_day:
            return True
        if state.limited_day != day:
            state.limited_day = day
            self._notify(
                "recharge_limit_reached",
                at,
                reason=f"{auto.max_per_day} recharges requested on {day}, the daily limit",
            )
        return False

    def _request_number(self, request_id: str) -> int | None:
        """n of one of this account's requests sent so far (``<account>:rr:<n>``), or None."""
        prefix = f"{self.state.account_id}:rr:"
        if not request_id.startswith(prefix):
            return None
        number = request_id[len(prefix) :]
        if not (number.isascii() and number.isdigit()) or len(number) > 18:
            return None
        n = int(number)
        return n if 1 <= n <= self.state.recharges_requested else None

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


def above(field: str, micros: int, floor: int) -> Refusal | None:
    if micros <= floor:
        return Refusal(
            "not_positive",
            f"{field} must be above trigger_balance {format_money(floor)}, "
            f"got {format_money(micros)}",
        )
    return None


def not_positive(field: str, micros: int) -> Refusal | None:
    if micros <= 0:
        return Refusal(
            "not_positive", f"{field} must be greater than 0, got {format_money(micros)}"
        )
    return None
