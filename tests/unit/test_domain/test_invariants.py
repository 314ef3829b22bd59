"""Properties that hold for any sequence of inputs to an account, however it is batched.

- the ledger's seq is 1..n with no gap, and each entry's balance is the running sum;
- the sum of the ledger's amounts is the account's balance;
- never two recharge requests pending at once; a request is credited at most once, while
  pending or, late, after it failed;
- request and notification ids count up from 1;
- splitting the inputs into batches does not change the outputs.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.domain import (
    AccountState,
    Input,
    LedgerEntry,
    Notification,
    Output,
    RechargeRequested,
    RechargeResult,
    apply,
)
from tests.unit.test_domain.builders import ACCOUNT, RATE_CARD, auto, call, funds, leg

amounts = st.sampled_from(["0.00", "0.50", "1.00", "2.50", "10.00", "25.00"])


@st.composite
def account_inputs(draw: st.DrawFn) -> list[Input | str]:
    """Inputs, where "settle-ok"/"settle-fail" answer whatever request is pending then."""
    moves = st.one_of(
        st.builds(
            call,
            st.integers(min_value=0, max_value=7200),
            country=st.sampled_from(["US", "GB", "NO"]),
            call_type=st.sampled_from(["domestic", "international"]),
            direction=st.sampled_from(["outbound", "outbound", "inbound"]),
        ),
        st.builds(
            leg,
            st.integers(min_value=0, max_value=3600),
            st.sampled_from(["dial_out", "toll_free_dial_in"]),
        ),
        st.builds(funds, amounts),
        st.builds(auto, amounts, amounts, enabled=st.booleans()),
        st.sampled_from(["settle-ok", "settle-fail", "settle-unknown", "settle-old"]),
    )
    return draw(st.lists(moves, max_size=60))


def _resolve(move: Input | str, state: AccountState | None) -> Input:
    """Turn a "settle-*" move into a RechargeResult for the state the account is in."""
    if not isinstance(move, str):
        return move
    pending = state.pending if state else None
    last = state.recharges_requested if state else 0
    if move == "settle-unknown" or (pending is None and move != "settle-old"):
        request_id = f"{ACCOUNT}:rr:{last + 7}"
    elif move == "settle-old" or pending is None:
        request_id = f"{ACCOUNT}:rr:{max(last, 1)}"
    else:
        request_id = pending.request_id
    return RechargeResult(
        request_id,
        ACCOUNT,
        "2026-11-24T11:00:00Z",
        move != "settle-fail",
        5_000_000,
        "USD",
        "declined",
    )


def _play(moves: list[Input | str], cuts: list[int]) -> tuple[AccountState | None, list[Output]]:
    """Apply the moves in batches ending at `cuts`, resolving results as they come."""
    state: AccountState | None = None
    outputs: list[Output] = []
    batch: list[Input] = []
    for index, move in enumerate(moves):
        # A result answers the request pending at that point of the sequence, so the
        # batch so far is applied first to know it (batching must not change the outcome).
        if isinstance(move, str) and batch:
            step = apply(state, ACCOUNT, batch, rate_card=RATE_CARD, default_currency="USD")
            state, batch = step.state, []
            outputs += step.outputs
        batch.append(_resolve(move, state))
        if index in cuts or index == len(moves) - 1:
            step = apply(state, ACCOUNT, batch, rate_card=RATE_CARD, default_currency="USD")
            state, batch = step.state, []
            outputs += step.outputs
    return state, outputs


@settings(max_examples=300, deadline=None)
@given(moves=account_inputs(), cuts=st.lists(st.integers(min_value=0, max_value=60)))
def test_ledger_requests_and_ids_keep_their_invariants(
    moves: list[Input | str], cuts: list[int]
) -> None:
    state, outputs = _play(moves, cuts)
    entries = [o for o in outputs if isinstance(o, LedgerEntry)]
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    assert [e.entry_id for e in entries] == [f"{ACCOUNT}:{e.seq}" for e in entries]
    running = 0
    for entry in entries:
        running += entry.amount
        assert entry.balance == running
    assert running == (state.balance if state else 0)

    # In output order: a request goes out only once the previous one has been settled.
    pending: str | None = None
    requested, failed, credited = [], set(), set()
    for output in outputs:
        if isinstance(output, RechargeRequested):
            assert pending is None, f"{output.request_id} while {pending} was pending"
            pending = output.request_id
            requested.append(output.request_id)
        elif isinstance(output, LedgerEntry) and output.kind == "recharge":
            assert output.source_id not in credited, f"{output.source_id} credited twice"
            credited.add(output.source_id)
            if output.source_id == pending:
                pending = None
            else:  # a success after the request was settled as failed: credited late
                assert output.source_id in failed
                failed.discard(output.source_id)
        elif isinstance(output, Notification) and output.type == "recharge_failed":
            assert output.request_id == pending
            failed.add(pending)
            pending = None
    assert (state.pending.request_id if state and state.pending else None) == pending
    assert requested == [f"{ACCOUNT}:rr:{n}" for n in range(1, len(requested) + 1)]
    notes = [o.notification_id for o in outputs if isinstance(o, Notification)]
    assert notes == [f"{ACCOUNT}:n:{k}" for k in range(1, len(notes) + 1)]


@settings(max_examples=200, deadline=None)
@given(moves=account_inputs(), cuts=st.lists(st.integers(min_value=0, max_value=60)))
def test_batching_does_not_change_the_outputs(moves: list[Input | str], cuts: list[int]) -> None:
    one_by_one = _play(moves, list(range(len(moves))))
    batched = _play(moves, cuts)
    assert batched == one_by_one
