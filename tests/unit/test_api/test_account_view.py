"""The account view shows amounts as decimal strings and the state an admin asks about."""

from __future__ import annotations

import orjson

from streams.api.account_view import account_view
from streams.domain import AccountState, AutoRecharge, PendingRecharge


def test_an_account_with_auto_recharge_and_a_pending_request() -> None:
    state = AccountState(
        account_id="org-1",
        currency="EUR",
        balance=4_250_000,
        seq=7,
        auto_recharge=AutoRecharge(
            enabled=True, recharge_amount=50_000_000, trigger_balance=5_000_000
        ),
        pending=PendingRecharge("org-1:rr:2", 50_000_000, "2026-11-24T10:00:00Z"),
        failures_in_a_row=1,
    )

    assert orjson.loads(account_view(state)) == {
        "account_id": "org-1",
        "balance": "4.25",
        "currency": "EUR",
        "auto_recharge": {
            "enabled": True,
            "recharge_amount": "50.00",
            "recharge_to": None,
            "trigger_balance": "5.00",
            "max_recharges_per_day": 10,
            "status": "on",
        },
        "pending_recharge": {
            "request_id": "org-1:rr:2",
            "amount": "50.00",
            "requested_at": "2026-11-24T10:00:00Z",
        },
        "last_seq": 7,
        "recharge_suspended": False,
    }


def test_a_new_account_has_no_settings_and_no_request() -> None:
    view = orjson.loads(account_view(AccountState(account_id="org-2", balance=-1_500)))

    assert view["balance"] == "-0.0015"
    assert view["currency"] is None
    assert view["auto_recharge"] is None
    assert view["pending_recharge"] is None


def test_recharge_to_shows_the_target_instead_of_an_amount() -> None:
    auto = AutoRecharge(True, 0, 5_000_000, recharge_to=30_000_000, max_per_day=3)
    view = orjson.loads(account_view(AccountState("org-3", "USD", 1, auto_recharge=auto)))
    assert view["auto_recharge"] == {
        "enabled": True,
        "recharge_amount": None,
        "recharge_to": "30.00",
        "trigger_balance": "5.00",
        "max_recharges_per_day": 3,
        "status": "on",
    }
