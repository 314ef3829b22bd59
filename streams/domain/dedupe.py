"""Each input applied once: the dedupe rules, around the engine's ``Account.take``.

An input is remembered by account and kind of id (``event_id``, ``command_id``, and a
billing result's ``request_id`` with its ``status``), with where it was first applied
and a digest of its content. A later input with the same id and content is a repeat and
has no effect; with other content it is refused (``conflicting_duplicate``) and the
first stands. Only applied inputs are remembered: a refused one is applied when it comes
again after its cause was fixed.

Where an input sits in the account's log (its offset) tells a repeat from a replay: the
same record read again after a crash, before the state that applied it was stored, is
applied again from the same state, with the same outputs.

Ids are remembered for the dedupe window (``window.py``): an input older than the window
is refused as too late, and a remembered id whose day has left the window counts as
forgotten, even while its record is still on its way out.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from operator import attrgetter

import orjson

from streams.domain.account import AccountState
from streams.domain.engine import RECHARGE_TIMEOUT, Account
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
from streams.domain.outputs import Output, Refusal
from streams.domain.ratecard import RateCard
from streams.domain.window import DedupeWindow


@dataclass(frozen=True, slots=True)
class Arrival:
    """An input and its position in its account's log."""

    offset: int
    item: Input


@dataclass(frozen=True, slots=True)
class Seen:
    """What is remembered of an applied input: where it was first applied, its digest
    (None for a record kept before digests, taken as the same content) and the day of its
    time (None for a record kept before the window, never forgotten)."""

    offset: int
    digest: int | None
    day: str | None = None


@dataclass(slots=True)
class AppliedOnce:
    state: AccountState
    outputs: list[Output]
    refused: dict[int, Refusal] = field(default_factory=dict)  # index -> why not applied
    remembered: dict[str, Seen] = field(default_factory=dict)  # id key -> the applied input
    repeats: list[int] = field(default_factory=list)  # indexes of repeats, not applied


def apply_once(
    state: AccountState | None,
    account_id: str,
    arrivals: Sequence[Arrival],
    seen: Callable[[str], Seen | None],
    *,
    rate_card: RateCard,
    default_currency: str,
    window: DedupeWindow,
    stream_time: str | None,
    recharge_timeout: int = RECHARGE_TIMEOUT,
    now: str | None = None,
) -> AppliedOnce:
    """Apply the arrivals in order, each id once; ``seen(id_key)`` is what was remembered
    before this call, ``stream_time`` the newest input time of the account's partition
    before it. ``state`` is left as it was. Overdue checks have no id: applying one twice
    changes nothing the second time."""
    account = Account(state, account_id, rate_card, default_currency, recharge_timeout, now)
    result = AppliedOnce(account.state, account.outputs)
    remembered = result.remembered
    kept_from = "" if stream_time is None else window.first_day_kept(stream_time)
    for index, arrival in enumerate(arrivals):
        item = arrival.item
        if isinstance(item, OverdueCheck):
            account.take(item)
            continue
        key, digest, at = id_key(item), digest_of(item), time_of(item)
        first = remembered.get(key) or seen(key)
        if first is None or first.offset < arrival.offset:  # not this very record again
            if first is not None and first.day is not None and first.day < kept_from:
                first = None  # forgotten: its day has left the window
            if window.too_late(at, stream_time):
                result.refused[index] = too_late(item, window, stream_time)
                continue
            if first is not None:
                if first.digest is None or first.digest == digest:
                    result.repeats.append(index)
                else:
                    result.refused[index] = conflict(item, first)
                continue
        refusal = account.take(item)
        if refusal is None:
            remembered[key] = Seen(arrival.offset, digest, at[:10])
        else:
            result.refused[index] = refusal
    result.state = account.state
    return result


def id_of(item: Input) -> tuple[str, str]:
    """The id field of an input's kind, and its value: ("event_id", "c-8f1e")."""
    if isinstance(item, CallUsage | ConferenceUsage):
        return "event_id", item.event_id
    if isinstance(item, AddFunds | ConfigureAutoRecharge | CancelRecharge):
        return "command_id", item.command_id
    return "request_id", item.request_id


def id_key(item: Input) -> str:
    """The id under which an input is remembered: its kind's tag and its id.

    "e:" usage, "c:" commands, "s:" and "f:" succeeded and failed billing results (those
    are told apart: a success may follow a failure of the same request).
    """
    if isinstance(item, CallUsage | ConferenceUsage):
        return "e:" + item.event_id
    if isinstance(item, RechargeResult):
        return ("s:" if item.succeeded else "f:") + item.request_id
    return "c:" + item.command_id


def digest_of(item: Input) -> int:
    """A short digest (CRC-32) of everything the rules read of an input: its domain fields.

    It tells a repeat from a conflict, never decides what is applied (the first input of
    an id stands either way): a conflict that happened to share the digest of the first
    would be dropped as a repeat, unreported, 1 time in 4 billion.
    """
    return zlib.crc32(orjson.dumps(_CONTENT[type(item)](item)))


# Input type -> its fields as a tuple (orjson encodes a tuple several times faster than
# the dataclass itself).
_CONTENT = {
    kind: attrgetter(*(f.name for f in fields(kind)))
    for kind in (
        CallUsage,
        ConferenceUsage,
        AddFunds,
        ConfigureAutoRecharge,
        CancelRecharge,
        RechargeResult,
    )
}


def too_late(item: Input, window: DedupeWindow, stream_time: str | None) -> Refusal:
    name, value = id_of(item)
    return Refusal(
        "too_late",
        f"{name} {value} at {time_of(item)} is older than the dedupe window ({window}) "
        f"before the newest input time of its partition, {stream_time}: it could repeat "
        "an input whose id is forgotten",
    )


def conflict(item: Input, first: Seen) -> Refusal:
    name, value = id_of(item)
    return Refusal(
        "conflicting_duplicate",
        f"{name} {value} was applied before (account-inputs offset {first.offset}) "
        "with other content; the first one stands",
    )
