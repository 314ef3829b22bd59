"""Domain outputs -> the contract's JSON bytes (money as decimal strings)."""

from __future__ import annotations

import orjson

from streams.domain import (
    AccountState,
    LedgerEntry,
    Notification,
    Output,
    RechargeRequested,
    format_money,
)


def ledger_entry(entry: LedgerEntry) -> bytes:
    message = {
        "entry_id": entry.entry_id,
        "account_id": entry.account_id,
        "seq": entry.seq,
        "kind": entry.kind,
        "amount": format_money(entry.amount),
        "balance": format_money(entry.balance),
        "currency": entry.currency,
        "source_id": entry.source_id,
        "occurred_at": entry.occurred_at,
    }
    if entry.service is not None:
        message["service"] = entry.service
        message["billable_seconds"] = entry.billable_seconds
    return orjson.dumps(message)


def recharge_requested(request: RechargeRequested) -> bytes:
    return orjson.dumps(
        {
            "request_id": request.request_id,
            "account_id": request.account_id,
            "amount": format_money(request.amount),
            "currency": request.currency,
            "balance": format_money(request.balance),
            "trigger_balance": format_money(request.trigger_balance),
            "cause_id": request.cause_id,
            "requested_at": request.requested_at,
        }
    )


def notification(note: Notification) -> bytes:
    message = {
        "notification_id": note.notification_id,
        "account_id": note.account_id,
        "type": note.type,
        "balance": format_money(note.balance),
        "currency": note.currency,
        "occurred_at": note.occurred_at,
    }
    if note.reason is not None:
        message["reason"] = note.reason
    if note.request_id is not None:
        message["request_id"] = note.request_id
    return orjson.dumps(message)


def output(item: Output) -> tuple[str, bytes]:
    """The contract topic an output goes to, and its bytes."""
    if isinstance(item, LedgerEntry):
        return "credits.ledger", ledger_entry(item)
    if isinstance(item, RechargeRequested):
        return "credits.recharge-requested", recharge_requested(item)
    return "credits.notifications", notification(item)


def account_status(state: AccountState) -> bytes:
    """The account's status for telephony: credits.account-status and GET .../status."""
    pending = state.pending
    return orjson.dumps(
        {
            "account_id": state.account_id,
            "balance": format_money(state.balance),
            "currency": state.currency,
            "status": "active" if state.balance > 0 else "exhausted",
            "auto_recharge": state.auto_recharge_status,
            "pending_request_id": None if pending is None else pending.request_id,
            "seq": state.seq,
            "updated_at": state.updated_at,
        }
    )
