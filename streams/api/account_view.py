"""An account's state as the API shows it: amounts as decimal strings, like the topics."""

from __future__ import annotations

from typing import Any

import orjson

from streams.domain import AccountState, format_money


def account_fields(state: AccountState) -> dict[str, Any]:
    auto, pending = state.auto_recharge, state.pending
    return {
        "account_id": state.account_id,
        "balance": format_money(state.balance),
        "currency": state.currency,
        "auto_recharge": None
        if auto is None
        else {
            "enabled": auto.enabled,
            "recharge_amount": None
            if auto.recharge_to is not None
            else format_money(auto.recharge_amount),
            "recharge_to": None if auto.recharge_to is None else format_money(auto.recharge_to),
            "trigger_balance": format_money(auto.trigger_balance),
            "max_recharges_per_day": auto.max_per_day,
            "status": state.auto_recharge_status,
        },
        "pending_recharge": None
        if pending is None
        else {
            "request_id": pending.request_id,
            "amount": format_money(pending.amount),
            "requested_at": pending.requested_at,
        },
        "last_seq": state.seq,
        "recharge_suspended": state.suspended,
    }


def account_view(state: AccountState) -> bytes:
    return orjson.dumps(account_fields(state))
