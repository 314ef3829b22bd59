"""Every rule of the contract's "Recharge rules" and "Rating", one test each."""

from __future__ import annotations

from dataclasses import fields

from streams.domain import (
    BALANCE_LIMIT,
    AccountState,
    Applied,
    AutoRecharge,
    Input,
    LedgerEntry,
    Notification,
    PendingRecharge,
    RateCard,
    RechargeRequested,
    apply,
    format_money,
)
from streams.domain.account import UNCHARGED_REQUESTS_KEPT
from tests.unit.test_domain.builders import (
    ACCOUNT,
    AT,
    RATE_CARD,
    auto,
    call,
    failed,
    funds,
    leg,
    minutes,
    succeeded,
    succeeded_for,
)


def run(*inputs: Input, state: AccountState | None = None) -> Applied:
    return apply(state, ACCOUNT, list(inputs), rate_card=RATE_CARD, default_currency="USD")


def requests(result: Applied) -> list[RechargeRequested]:
    return [o for o in result.outputs if isinstance(o, RechargeRequested)]


def notes(result: Applied) -> list[str]:
    return [o.type for o in result.outputs if isinstance(o, Notification)]


def ledger(result: Applied) -> list[LedgerEntry]:
    return [o for o in result.outputs if isinstance(o, LedgerEntry)]


def balance(result: Applied) -> str:
    return format_money(result.state.balance)


# --- rating -------------------------------------------------------------------------------


def test_usage_is_billed_in_whole_increments_rounded_up() -> None:
    result = run(funds("10.00"), call(0))
    assert len(ledger(result)) == 1  # a zero-length call costs nothing
    result = run(call(61), state=result.state)
    (entry,) = ledger(result)
    assert (entry.amount, entry.billable_seconds) == (-2_000_000, 120)
    assert entry.service == "call:domestic"


def test_an_exact_country_rate_wins_over_the_wildcard() -> None:
    gb = run(funds("10.00"), minutes(1, call_type="international", country="GB"))
    other = run(funds("10.00"), minutes(1, call_type="international", country="NO"))
    assert ledger(gb)[-1].amount == -110_000
    assert ledger(other)[-1].amount == -250_000


def test_inbound_calls_are_free_without_an_inbound_rate() -> None:
    result = run(funds("10.00"), minutes(30, direction="inbound"))
    assert len(ledger(result)) == 1
    assert result.refused == {}
    assert balance(result) == "10.00"


def test_inbound_calls_are_charged_where_an_inbound_rate_says_so() -> None:
    card = RateCard.from_rows(
        [
            {
                "service": "call",
                "kind": "domestic",
                "country": "US",
                "currency": "USD",
                "per_minute": "0.0100",
                "increment_seconds": 60,
                "direction": "inbound",
            },
        ]
    )
    inbound = call(90, direction="inbound")
    result = apply(None, ACCOUNT, [inbound], rate_card=card, default_currency="USD")
    assert ledger(result)[0].amount == -20_000
    outbound = apply(None, ACCOUNT, [call(90)], rate_card=card, default_currency="USD")
    assert outbound.refused[0].reason == "no rate for call domestic to US in USD"


def test_usage_without_a_rate_in_the_accounts_currency_is_rejected() -> None:
    result = run(funds("10.00"), leg(60, kind="toll_free_dial_in"))
    (index, refusal), *_ = result.refused.items()
    assert (index, refusal.code) == (1, "no_rate")
    assert refusal.reason == "no rate for conference toll_free_dial_in to US in USD"
    assert balance(result) == "10.00"


# --- currency -----------------------------------------------------------------------------


def test_usage_first_fixes_the_default_currency() -> None:
    result = run(minutes(1), funds("5.00", currency="EUR"))
    assert result.state.currency == "USD"
    assert "EUR differs from the account's currency USD" in result.refused[1].reason


def test_a_command_first_fixes_its_currency_and_usage_is_rated_in_it() -> None:
    result = run(funds("5.00", currency="EUR"), minutes(1))
    assert result.state.currency == "EUR"
    assert ledger(result)[-1].amount == -900_000
    assert run(auto(currency="USD"), state=result.state).refused


def test_a_refused_input_changes_nothing() -> None:
    before = run(funds("5.00")).state
    result = run(funds("5.00", currency="EUR"), funds("0.00"), auto("0.00"), state=before)
    assert [refusal.code for refusal in result.refused.values()] == [
        "currency_mismatch",
        "not_positive",
        "not_positive",
    ]
    assert result.outputs == []
    assert result.state == before


# --- balance ------------------------------------------------------------------------------


def test_the_balance_may_cross_zero_and_exhaustion_is_sent_once_until_above_zero() -> None:
    result = run(funds("1.00"), minutes(1))
    assert notes(result) == ["balance_exhausted"]  # reached exactly zero
    result = run(minutes(1), minutes(1), state=result.state)
    assert notes(result) == []
    assert balance(result) == "-2.00"
    result = run(funds("1.00"), minutes(1), state=result.state)  # still not above zero
    assert notes(result) == []
    result = run(funds("5.00"), minutes(1), minutes(5), state=result.state)
    assert notes(result) == ["balance_restored", "balance_exhausted"]


def test_an_account_that_never_had_funds_is_exhausted_on_its_first_debit() -> None:
    result = run(minutes(1))
    assert notes(result) == ["balance_exhausted"]
    assert balance(result) == "-1.00"


def test_low_balance_is_sent_when_falling_below_the_trigger_with_auto_recharge_off() -> None:
    result = run(funds("10.00"), auto("20.00", "5.00", enabled=False), minutes(5))
    assert notes(result) == []  # 5.00 is not below 5.00
    result = run(minutes(1), minutes(1), state=result.state)
    assert notes(result) == ["low_balance"]
    assert requests(result) == []
    result = run(funds("10.00"), minutes(9), state=result.state)  # back above, then below
    assert notes(result) == ["low_balance"]


# --- recharge -----------------------------------------------------------------------------


def test_a_debit_leaving_the_balance_strictly_below_the_trigger_requests_once() -> None:
    result = run(funds("10.00"), auto("20.00", "5.00"), minutes(5))
    assert requests(result) == []  # exactly at the trigger
    result = run(minutes(1), state=result.state)
    (request,) = requests(result)
    assert request.request_id == "contoso:rr:1"
    assert (request.amount, request.balance, request.trigger_balance) == (
        20_000_000,
        4_000_000,
        5_000_000,
    )
    assert request.cause_id == result.outputs[0].source_id


def test_more_usage_while_pending_requests_nothing_more() -> None:
    result = run(funds("10.00"), auto("20.00", "5.00"), minutes(6), minutes(1), minutes(1))
    assert [r.request_id for r in requests(result)] == ["contoso:rr:1"]
    assert result.state.pending is not None


def test_success_credits_the_amount_and_clears_the_pending_request() -> None:
    result = run(funds("10.00"), auto("20.00", "5.00"), minutes(6), succeeded(1, "20.00"))
    entry = ledger(result)[-1]
    assert (entry.kind, entry.source_id, entry.amount) == ("recharge", "contoso:rr:1", 20_000_000)
    assert balance(result) == "24.00"
    assert result.state.pending is None
    assert len(requests(result)) == 1


def test_success_still_below_the_trigger_requests_again_at_once() -> None:
    result = run(funds("1.00"), auto("2.00", "10.00"), succeeded(1, "2.00"))
    assert [r.request_id for r in requests(result)] == ["contoso:rr:1", "contoso:rr:2"]
    assert requests(result)[1].cause_id == "contoso:rr:1"


def test_failure_clears_notifies_and_the_next_debit_tries_again() -> None:
    result = run(funds("10.00"), auto("20.00", "5.00"), minutes(6), failed(1))
    assert notes(result) == ["recharge_failed"]
    assert result.state.pending is None
    result = run(minutes(1), state=result.state)
    assert [r.request_id for r in requests(result)] == ["contoso:rr:2"]


def test_three_failures_in_a_row_suspend_until_configured_again() -> None:
    result = run(funds("10.00"), auto("20.00", "5.00"), minutes(6), failed(1))
    result = run(minutes(1), failed(2), minutes(1), failed(3), state=result.state)
    assert notes(result) == ["recharge_failed", "recharge_failed", "auto_recharge_suspended"]
    assert result.state.suspended
    result = run(minutes(1), state=result.state)
    assert requests(result) == []
    assert notes(result) == ["low_balance"]
    result = run(auto("20.00", "5.00"), state=result.state)
    assert [r.request_id for r in requests(result)] == ["contoso:rr:4"]
    assert not result.state.suspended


def test_a_success_resets_the_failure_count() -> None:
    result = run(funds("10.00"), auto("20.00", "5.00"), minutes(6), failed(1))
    result = run(minutes(1), failed(2), minutes(1), succeeded(3, "1.00"), state=result.state)
    result = run(minutes(1), failed(4), state=result.state)
    assert not result.state.suspended
    assert result.state.failures_in_a_row == 1


def test_a_result_for_a_settled_request_is_refused_and_changes_nothing() -> None:
    result = run(funds("10.00"), auto("20.00", "5.00"), minutes(6), succeeded(1, "20.00"))
    again = run(succeeded(1, "20.00"), failed(1), state=result.state)
    assert [refusal.code for refusal in again.refused.values()] == ["settled_request"] * 2
    assert again.outputs == []
    assert again.state == result.state


def test_a_success_after_a_failure_of_the_same_request_credits_once() -> None:
    result = run(funds("10.00"), auto("20.00", "5.00"), minutes(6), failed(1))
    assert result.state.failures_in_a_row == 1
    late = run(succeeded(1, "20.00"), state=result.state)
    assert late.refused == {}
    (entry,) = ledger(late)
    assert (entry.kind, entry.amount, entry.source_id) == ("recharge", 20_000_000, "contoso:rr:1")
    assert late.state.failures_in_a_row == 0
    assert balance(late) == "24.00"
    again = run(succeeded(1, "20.00"), state=late.state)
    assert [refusal.code for refusal in again.refused.values()] == ["settled_request"]
    assert again.state == late.state


def test_a_late_success_lifts_a_suspension_and_may_request_again() -> None:
    result = run(funds("10.00"), auto("20.00", "5.00"), minutes(6), failed(1))
    result = run(minutes(1), failed(2), minutes(1), failed(3), state=result.state)
    assert result.state.suspended
    late = run(succeeded(2, "1.00"), state=result.state)
    assert not late.state.suspended
    (request,) = requests(late)
    assert request.request_id == "contoso:rr:4"  # still below the trigger after 1.00


def test_only_recent_failed_requests_can_be_credited_late() -> None:
    state = run(funds("10.00"), auto("1.00", "999.00", per_day=100)).state  # requests at once
    for n in range(1, UNCHARGED_REQUESTS_KEPT + 3):
        state = run(failed(n), auto("1.00", "999.00", per_day=100), state=state).state
    oldest = run(succeeded(1, "1.00"), state=state)
    assert [refusal.code for refusal in oldest.refused.values()] == ["settled_request"]
    recent = run(succeeded(UNCHARGED_REQUESTS_KEPT + 2, "1.00"), state=state)
    assert recent.refused == {}


def test_a_result_for_an_unknown_request_is_refused_and_changes_nothing() -> None:
    result = run(funds("10.00"), auto("20.00", "5.00"), minutes(6))
    unknown = run(
        succeeded(9),
        succeeded(1, account="fabrikam"),
        succeeded_for("contoso:rr:\u00b2"),  # a digit to str.isdigit, not to int()
        succeeded_for("contoso:rr:0"),
        state=result.state,
    )
    assert [r.reason for r in unknown.refused.values()] == [
        "unknown request_id contoso:rr:9",
        "unknown request_id fabrikam:rr:1",
        "unknown request_id contoso:rr:\u00b2",
        "unknown request_id contoso:rr:0",
    ]
    assert unknown.state == result.state


# --- balance limit ------------------------------------------------------------------------


def test_no_input_takes_the_balance_past_its_limit() -> None:
    top = "999999999999.999999"
    result = run(funds(top))
    assert result.state.balance == BALANCE_LIMIT
    more = run(funds("0.000001"), state=result.state)
    assert [refusal.code for refusal in more.refused.values()] == ["balance_limit"]
    assert more.state == result.state
    low = run(minutes(1), state=AccountState(ACCOUNT, "USD", -BALANCE_LIMIT + 500_000))
    assert [refusal.code for refusal in low.refused.values()] == ["balance_limit"]
    assert low.state.balance == -BALANCE_LIMIT + 500_000


def test_raising_the_trigger_above_the_balance_requests_at_once() -> None:
    result = run(funds("10.00"), auto("20.00", "5.00"))
    assert requests(result) == []
    result = run(auto("20.00", "50.00"), state=result.state)
    (request,) = requests(result)
    assert (request.balance, request.trigger_balance) == (10_000_000, 50_000_000)


def test_a_pending_request_is_settled_even_after_auto_recharge_is_turned_off() -> None:
    result = run(funds("10.00"), auto("20.00", "5.00"), minutes(6))
    result = run(auto("20.00", "5.00", enabled=False), succeeded(1, "20.00"), state=result.state)
    assert balance(result) == "24.00"
    assert len(requests(result)) == 0


# --- purity -------------------------------------------------------------------------------


def test_apply_does_not_change_the_state_it_is_given() -> None:
    before = run(funds("10.00"), auto("20.00", "5.00")).state
    snapshot = before.copy()
    run(minutes(7), failed(1), state=before)
    assert before == snapshot


def test_a_batch_equals_its_inputs_applied_one_by_one() -> None:
    inputs = [funds("10.00"), auto("20.00", "5.00"), minutes(6), failed(1)]
    inputs += [minutes(1), succeeded(2, "20.00"), minutes(30), leg(125)]
    batch = run(*inputs)
    state, outputs = None, []
    for item in inputs:
        step = run(item, state=state)
        state, outputs = step.state, outputs + step.outputs
    assert batch.outputs == outputs
    assert batch.state == state


def test_a_copy_of_a_state_has_every_field() -> None:
    other = {
        "account_id": "other",
        "currency": "EUR",
        "auto_recharge": AutoRecharge(True, 1, 2),
        "pending": PendingRecharge("x:rr:1", 1, AT),
        "failed_requests": (1,),
    }
    # Every field off its default (7 is not the default of any number or flag).
    state = AccountState(**{f.name: other.get(f.name, 7) for f in fields(AccountState)})
    defaults = AccountState(ACCOUNT)
    assert all(getattr(state, f.name) != getattr(defaults, f.name) for f in fields(AccountState))
    assert state.copy() == state
    assert state.copy() is not state
