"""How an account's state, usage windows and remembered inputs are stored in their tables:
compact JSON, plus the offset of the last input applied.

The offset is the position in the account-inputs partition up to which the state has
applied its inputs: a redelivered input at or below it was applied already (see
docs/idempotency.md).
"""

from __future__ import annotations

import orjson

from streams.domain import AccountState, AutoRecharge, PendingRecharge, Seen
from streams.domain.usage import UsageWindows


def encode(state: AccountState, applied_offset: int) -> bytes:
    auto, pending = state.auto_recharge, state.pending
    return orjson.dumps(
        [
            applied_offset,
            state.account_id,
            state.currency,
            state.balance,
            state.seq,
            None
            if auto is None
            else [
                auto.enabled,
                auto.recharge_amount,
                auto.trigger_balance,
                auto.recharge_to,
                auto.max_per_day,
            ],
            None
            if pending is None
            else [
                pending.request_id,
                pending.amount,
                pending.requested_at,
                pending.overdue_notified,
                pending.sent_at,
            ],
            state.recharges_requested,
            state.failures_in_a_row,
            state.notifications_sent,
            state.exhausted_notified,
            state.low_balance_notified,
            state.uncharged_requests,
            state.recharge_day,
            state.recharges_that_day,
            state.limited_day,
            state.updated_at,
        ]
    )


# Fields added since v1, at the end of the list: their values for a state stored before.
_LATER = ((), None, 0, None, None)  # uncharged_requests, recharge_day ... updated_at


def decode(stored: bytes) -> tuple[AccountState, int]:
    fields = orjson.loads(stored)
    later = fields[12:] + list(_LATER[len(fields) - 12 :])
    (
        applied_offset,
        account_id,
        currency,
        balance,
        seq,
        auto,
        pending,
        recharges_requested,
        failures_in_a_row,
        notifications_sent,
        exhausted_notified,
        low_balance_notified,
    ) = fields[:12]
    uncharged, recharge_day, recharges_that_day, limited_day, updated_at = later
    state = AccountState(
        account_id=account_id,
        currency=currency,
        balance=balance,
        seq=seq,
        auto_recharge=None if auto is None else AutoRecharge(*auto),
        pending=None if pending is None else PendingRecharge(*pending),
        recharges_requested=recharges_requested,
        failures_in_a_row=failures_in_a_row,
        notifications_sent=notifications_sent,
        exhausted_notified=exhausted_notified,
        low_balance_notified=low_balance_notified,
        uncharged_requests=tuple(uncharged),
        recharge_day=recharge_day,
        recharges_that_day=recharges_that_day,
        limited_day=limited_day,
        updated_at=updated_at,
    )
    return state, applied_offset


def encode_windows(windows: UsageWindows, counted_offset: int) -> bytes:
    """An account's usage windows, with the offset of the last input they count."""
    return orjson.dumps([counted_offset, windows.days, windows.months])


def decode_windows(stored: bytes) -> tuple[UsageWindows, int]:
    counted_offset, days, months = orjson.loads(stored)
    return UsageWindows(days, months), counted_offset


def encode_seen(seen: Seen) -> bytes:
    """b"<offset> <digest> <day>": where an input was first applied, its digest, its day."""
    return f"{seen.offset} {seen.digest} {seen.day}".encode()


def decode_seen(stored: bytes) -> Seen:
    """Earlier records lack the day (v1.1: b"<offset> <digest>") or also the digest (v1:
    b"<offset>")."""
    offset, _, rest = stored.partition(b" ")
    digest, _, day = rest.partition(b" ")
    return Seen(int(offset), int(digest) if digest else None, day.decode() if day else None)
