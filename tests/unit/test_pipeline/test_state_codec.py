"""An account's state survives its table record whole, and states stored by earlier
versions still read."""

from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st

from streams.domain import AccountState, AutoRecharge, PendingRecharge
from streams.pipeline.state import decode, encode

TIMES = st.sampled_from(["2026-11-24T10:00:00Z", "2026-12-01T00:00:00Z"])
DAYS = st.sampled_from(["2026-11-24", "2026-12-01"])
MICROS = st.integers(min_value=-(10**18) + 1, max_value=10**18 - 1)

states = st.builds(
    AccountState,
    account_id=st.text(min_size=1, max_size=20),
    currency=st.none() | st.just("USD"),
    balance=MICROS,
    seq=st.integers(min_value=0, max_value=10**9),
    auto_recharge=st.none()
    | st.builds(
        AutoRecharge,
        enabled=st.booleans(),
        recharge_amount=MICROS,
        trigger_balance=MICROS,
        recharge_to=st.none() | MICROS,
        max_per_day=st.integers(min_value=1, max_value=100),
    ),
    pending=st.none()
    | st.builds(
        PendingRecharge,
        request_id=st.text(min_size=1, max_size=20),
        amount=MICROS,
        requested_at=TIMES,
        overdue_notified=st.booleans(),
        sent_at=st.none() | TIMES,
    ),
    recharges_requested=st.integers(min_value=0, max_value=10**6),
    failures_in_a_row=st.integers(min_value=0, max_value=5),
    notifications_sent=st.integers(min_value=0, max_value=10**6),
    exhausted_notified=st.booleans(),
    low_balance_notified=st.booleans(),
    uncharged_requests=st.lists(st.integers(min_value=1, max_value=99), max_size=16).map(tuple),
    recharge_day=st.none() | DAYS,
    recharges_that_day=st.integers(min_value=0, max_value=100),
    limited_day=st.none() | DAYS,
    updated_at=st.none() | TIMES,
)


@given(state=states, offset=st.integers(min_value=-1, max_value=10**12))
def test_every_field_of_a_state_survives_its_record(state: AccountState, offset: int) -> None:
    assert decode(encode(state, offset)) == (state, offset)


def test_a_state_stored_before_v1_1_reads_with_the_defaults() -> None:
    v1 = orjson.dumps(
        [
            7,
            "contoso",
            "USD",
            5,
            2,
            [True, 10, 5],
            ["contoso:rr:1", 10, "2026-11-24T10:00:00Z"],
            1,
            0,
            0,
            False,
            False,
        ]
    )
    state, offset = decode(v1)
    assert offset == 7
    assert state.auto_recharge == AutoRecharge(True, 10, 5)
    assert state.pending == PendingRecharge("contoso:rr:1", 10, "2026-11-24T10:00:00Z")
    assert (state.uncharged_requests, state.recharge_day, state.updated_at) == ((), None, None)
