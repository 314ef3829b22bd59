"""The v1.1 "Telephony and admin" rules: balance_restored, recharge_to, the daily limit of
recharges, cancel_recharge and overdue requests; rules, then properties."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.domain import (
    AccountState,
    Applied,
    Input,
    LedgerEntry,
    Notification,
    RechargeRequested,
    apply,
    format_money,
    parse_money,
)
from streams.domain.inputs import CallUsage, CancelRecharge, OverdueCheck, RechargeResult
from tests.unit.test_domain.builders import ACCOUNT, AT, RATE_CARD, auto, failed, funds, minutes

TIMEOUT = 3600


def run(*inputs: Input, state: AccountState | None = None) -> Applied:
    return apply(
        state,
        ACCOUNT,
        list(inputs),
        rate_card=RATE_CARD,
        default_currency="USD",
        recharge_timeout=TIMEOUT,
    )


def notes(result: Applied) -> list[str]:
    return [o.type for o in result.outputs if isinstance(o, Notification)]


def requests(result: Applied) -> list[RechargeRequested]:
    return [o for o in result.outputs if isinstance(o, RechargeRequested)]


def call_at(at: str, whole_minutes: int = 1) -> CallUsage:
    return CallUsage(
        f"c-{at}-{whole_minutes}", ACCOUNT, at, "domestic", "outbound", "US", whole_minutes * 60
    )


def succeeded(request_id: str, amount: str, at: str = AT) -> RechargeResult:
    return RechargeResult(request_id, ACCOUNT, at, True, parse_money(amount), "USD")


def cancel(request_id: str, command_id: str = "x-1") -> CancelRecharge:
    return CancelRecharge(command_id, ACCOUNT, AT, request_id)


def check(request_id: str, after_seconds: int) -> OverdueCheck:
    at = datetime.strptime(AT, "%Y-%m-%dT%H:%M:%SZ") + timedelta(seconds=after_seconds)
    return OverdueCheck(ACCOUNT, request_id, at.strftime("%Y-%m-%dT%H:%M:%SZ"))


# --- balance_restored ---------------------------------------------------------------------


def test_a_balance_back_above_zero_is_notified_once() -> None:
    exhausted = run(funds("1.00"), minutes(2))
    assert notes(exhausted) == ["balance_exhausted"]
    restored = run(funds("0.50"), funds("5.00"), funds("5.00"), state=exhausted.state)
    assert notes(restored) == ["balance_restored"]  # at -0.50 still not, then once
    assert [o.balance for o in restored.outputs if isinstance(o, Notification)] == [
        parse_money("4.50")
    ]


def test_the_first_funds_of_a_new_account_restore_nothing() -> None:
    assert notes(run(funds("5.00"))) == []


# --- recharge_to --------------------------------------------------------------------------


def test_recharge_to_asks_for_the_target_minus_the_balance() -> None:
    result = run(funds("10.00"), auto(trigger="5.00", to="25.00"), minutes(6))
    (request,) = requests(result)
    assert (format_money(request.amount), format_money(request.balance)) == ("21.00", "4.00")
    assert result.state.pending.amount == request.amount


def test_recharge_to_must_be_above_the_trigger() -> None:
    result = run(funds("10.00"), auto(trigger="5.00", to="5.00"))
    assert [r.code for r in result.refused.values()] == ["not_positive"]
    assert result.state.auto_recharge is None


@settings(max_examples=200, deadline=None)
@given(
    spent=st.integers(min_value=1, max_value=5000),
    target=st.integers(min_value=1, max_value=100_000),
)
def test_a_recharge_to_a_target_fills_exactly_to_it(spent: int, target: int) -> None:
    """Whatever the balance when the request goes out, balance + amount is the target."""
    state = run(funds("50.00"), auto(trigger="50.00", to=f"{50 + target}.00")).state
    result = run(call_at(AT, spent), state=state)
    for request in requests(result):
        assert request.balance + request.amount == parse_money(f"{50 + target}.00")


# --- the daily limit ----------------------------------------------------------------------


def test_past_the_daily_limit_no_request_goes_out_until_the_next_day() -> None:
    """Each request answered at once leaves the balance below the trigger: the next goes
    out at once, until the day's three are spent."""
    configured = run(funds("100.00"), auto("1.00", "1000.00", per_day=3))
    made, outputs, state = requests(configured), [], configured.state
    while state.pending is not None:
        step = run(succeeded(state.pending.request_id, "1.00"), state=state)
        made += requests(step)
        outputs += step.outputs
        state = step.state
    assert len(made) == 3
    assert [n.type for n in outputs if isinstance(n, Notification)] == ["recharge_limit_reached"]
    assert state.auto_recharge_status == "limited"
    assert requests(run(call_at("2026-11-24T23:59:59Z"), state=state)) == []
    next_day = run(call_at("2026-11-25T00:00:01Z"), state=state)
    assert len(requests(next_day)) == 1
    assert next_day.state.auto_recharge_status == "on"


def test_the_limited_status_ends_with_the_next_days_first_input() -> None:
    state = run(funds("100.00"), auto("1.00", "1000.00", per_day=1)).state
    state = run(call_at("2026-11-24T08:00:00Z"), state=state).state
    pending = state.pending
    state = run(succeeded(pending.request_id, "1.00", "2026-11-24T09:00:00Z"), state=state).state
    assert state.auto_recharge_status == "limited"
    later_that_day = run(funds("1.00"), state=state).state  # at AT, the same day
    assert later_that_day.auto_recharge_status == "limited"
    next_day = CallUsage("n-1", ACCOUNT, "2026-11-25T00:00:00Z", "inbound", "inbound", "US", 1)
    assert run(next_day, state=state).state.auto_recharge_status == "on"


@settings(max_examples=150, deadline=None)
@given(
    per_day=st.integers(min_value=1, max_value=5),
    hours=st.lists(st.integers(min_value=0, max_value=71), min_size=1, max_size=40),
)
def test_no_day_gets_more_requests_than_its_limit(per_day: int, hours: list[int]) -> None:
    """Calls at any hours over three days, each request answered at once: per UTC day,
    at most the limit of requests, and one recharge_limit_reached at most."""
    start = datetime(2026, 11, 24)
    state = run(funds("100.00"), auto("1.00", "1000.00", per_day=per_day)).state
    outputs: list = []
    for n, hour in enumerate(sorted(hours)):
        at = (start + timedelta(hours=hour)).strftime("%Y-%m-%dT%H:%M:%SZ")
        step = run(CallUsage(f"c{n}", ACCOUNT, at, "domestic", "outbound", "US", 60), state=state)
        for request in requests(step):
            step = run(succeeded(request.request_id, "1.00", at), state=step.state)
            outputs.append(request)
        outputs += [o for o in step.outputs if isinstance(o, Notification)]
        state = step.state
    for day in {o.requested_at[:10] for o in outputs if isinstance(o, RechargeRequested)}:
        made = [
            o for o in outputs if isinstance(o, RechargeRequested) and o.requested_at[:10] == day
        ]
        assert len(made) <= per_day
    reached = [
        o.occurred_at[:10]
        for o in outputs
        if isinstance(o, Notification) and o.type == "recharge_limit_reached"
    ]
    assert len(reached) == len(set(reached))


# --- cancel_recharge ----------------------------------------------------------------------


def test_a_cancelled_request_is_no_longer_pending_and_a_new_one_may_go_out() -> None:
    state = run(funds("10.00"), auto("20.00", "15.00")).state
    first = state.pending.request_id
    cancelled = run(cancel(first), state=state)
    assert cancelled.refused == {}
    (again,) = requests(cancelled)  # still below the trigger: the next request
    assert again.request_id != first
    assert cancelled.state.pending.request_id == again.request_id


def test_a_late_success_for_a_cancelled_request_credits_and_a_failure_is_settled() -> None:
    state = run(funds("10.00"), auto("20.00", "15.00", enabled=True)).state
    first = state.pending.request_id
    state = run(cancel(first), auto("20.00", "15.00", enabled=False), state=state).state
    late = run(succeeded(first, "20.00"), state=state)
    assert late.refused == {}
    assert [o.kind for o in late.outputs if isinstance(o, LedgerEntry)] == ["recharge"]
    assert format_money(late.state.balance) == "30.00"
    after = run(failed(int(first.rsplit(":", 1)[1])), state=state)
    assert [r.code for r in after.refused.values()] == ["settled_request"]


def test_cancelling_what_is_not_pending_is_refused() -> None:
    state = run(funds("10.00"), auto("20.00", "15.00")).state
    first = state.pending.request_id
    state = run(cancel(first), state=state).state
    assert [r.code for r in run(cancel(first, "x-2"), state=state).refused.values()] == [
        "settled_request"
    ]
    unknown = run(cancel("contoso:rr:99", "x-3"), state=state)
    assert [r.code for r in unknown.refused.values()] == ["unknown_request"]


# --- overdue requests ---------------------------------------------------------------------


def test_a_request_without_a_result_for_the_timeout_is_notified_once() -> None:
    state = run(funds("10.00"), auto("20.00", "15.00")).state
    request_id = state.pending.request_id
    early = run(check(request_id, TIMEOUT - 1), state=state)
    assert (notes(early), early.state) == ([], state)
    late = run(check(request_id, TIMEOUT), state=state)
    assert notes(late) == ["recharge_overdue"]
    assert [o.request_id for o in late.outputs] == [request_id]
    assert late.state.pending.request_id == request_id  # still pending
    assert notes(run(check(request_id, TIMEOUT + 600), state=late.state)) == []


def test_no_overdue_for_a_request_that_got_its_result() -> None:
    state = run(funds("10.00"), auto("20.00", "5.00")).state
    state = run(minutes(6), state=state).state
    request_id = state.pending.request_id
    settled = run(succeeded(request_id, "20.00"), state=state).state
    assert notes(run(check(request_id, TIMEOUT * 5), state=settled)) == []


def test_overdue_counts_from_when_the_request_was_sent_not_from_its_cause() -> None:
    """A backlog: the cause happened two hours before the worker sent the request."""
    sent = check("x", 2 * 3600).checked_at  # AT + 2 h, by the worker's clock
    state = apply(
        None,
        ACCOUNT,
        [funds("10.00"), auto("20.00", "15.00")],
        rate_card=RATE_CARD,
        default_currency="USD",
        recharge_timeout=TIMEOUT,
        now=sent,
    ).state
    request_id = state.pending.request_id
    assert state.pending.sent_at == sent
    assert notes(run(check(request_id, TIMEOUT + 60), state=state)) == []
    assert notes(run(check(request_id, 2 * 3600 + TIMEOUT), state=state)) == ["recharge_overdue"]
