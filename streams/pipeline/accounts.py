"""Stage 2: apply each account's inputs to its state, in the order of its partition.

A batch of records from the account-inputs topic becomes, per account, one call of the
pure domain ``apply_once`` and one state write. ``AccountBatch.plan`` does the work
without touching Kafka; the stage sends what it returns (see docs/idempotency.md for the
order that makes redelivery safe).

Planning never raises for what an input holds: when an account's inputs fail together,
they are planned again one at a time, in order, and one that fails on its own goes to
the dead letter (``internal_error``, with the exception) while the others are applied.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from streams.domain import (
    AccountState,
    Arrival,
    Input,
    LedgerEntry,
    RateCard,
    RechargeRequested,
    Seen,
    Usage,
    apply_once,
)
from streams.domain.dedupe import id_of
from streams.domain.usage import UsageWindows, record_usage
from streams.pipeline import state as state_codec
from streams.pipeline.partitioning import SEPARATOR
from streams.pipeline.records import Origin, Record
from streams.pipeline.topics import DEAD_LETTER
from streams.wire import encode
from streams.wire.dead_letter import INTERNAL_ERROR, DeadLetters, describe_defect
from streams.wire.decode import TO_DOMAIN

log = logging.getLogger(__name__)

Lookup = Callable[[bytes], bytes | None]


@dataclass(slots=True)
class Plan:
    """What one batch produces, in the order it must reach Kafka."""

    sends: list[tuple[str, bytes, bytes]] = field(default_factory=list)  # topic, key, value
    seen: dict[bytes, bytes] = field(default_factory=dict)  # dedupe key -> remembered input
    states: dict[bytes, bytes] = field(default_factory=dict)  # account key -> state
    windows: dict[bytes, bytes] = field(default_factory=dict)  # account key -> usage windows
    applied: int = 0
    duplicates: int = 0
    letters: list[Letter] = field(default_factory=list)  # each sent to the dead letter
    requests: list[RechargeRequested] = field(default_factory=list)  # each sent to billing


@dataclass(frozen=True, slots=True)
class Letter:
    """An input the batch sent to the dead letter, for its log line and its count."""

    account_id: str
    input_id: str | None
    origin: Origin
    code: str
    reason: str


class AccountBatch:
    """Plans the effects of a batch of account inputs against the current tables."""

    def __init__(
        self,
        *,
        rate_card: RateCard,
        default_currency: str,
        letters: DeadLetters,
        load_state: Lookup,
        seen_at: Lookup,
        load_windows: Lookup,
    ) -> None:
        self.rate_card = rate_card
        self.default_currency = default_currency
        self.letters = letters
        self._load_state = load_state
        self._seen_at = seen_at
        self._load_windows = load_windows

    def plan(self, records: Iterable[Record], now: datetime) -> Plan:
        plan = Plan()
        by_account: dict[bytes, list[Record]] = {}
        for record in records:
            by_account.setdefault(record.key, []).append(record)
        for key, account_records in by_account.items():
            try:
                self._plan_account(key, account_records, plan, now)
            except Exception:
                log.warning("inputs of account %r failed together; taking them one by one", key)
                self._one_by_one(key, account_records, plan, now)
        return plan

    def _one_by_one(self, key: bytes, records: list[Record], plan: Plan, now: datetime) -> None:
        for record in records:
            try:
                self._plan_account(key, [record], plan, now)
            except Exception as error:
                log.exception("input at account-inputs offset %d failed", record.offset)
                account_id = key.decode(errors="replace")
                send, letter = self._refuse(
                    key, account_id, record, None, INTERNAL_ERROR, describe_defect(error), now
                )
                plan.sends.append(send)
                plan.letters.append(letter)

    def _plan_account(self, key: bytes, records: list[Record], plan: Plan, now: datetime) -> None:
        """Plan one account's records; ``plan`` changes only once all of it is worked out,
        so that a failure leaves it as it was."""
        stored = plan.states.get(key) or self._load_state(key)
        state: AccountState | None
        state, applied_offset = state_codec.decode(stored) if stored else (None, -1)
        last_offset = records[-1].offset
        # Records at or below the state's offset were redelivered: already in the state.
        fresh = [record for record in records if record.offset > applied_offset]
        if not fresh:
            if last_offset > applied_offset and state is not None:
                plan.states[key] = state_codec.encode(state, last_offset)
            plan.duplicates += len(records)
            return
        account_id = key.decode()
        arrivals = [Arrival(record.offset, _input(record)) for record in fresh]
        result = apply_once(
            state,
            account_id,
            arrivals,
            self._seen(key + SEPARATOR, plan),
            rate_card=self.rate_card,
            default_currency=self.default_currency,
        )
        sends = [(topic, key, value) for topic, value in map(encode.output, result.outputs)]
        letters = []
        for index, refusal in result.refused.items():
            input_id = id_of(arrivals[index].item)[1]
            send, letter = self._refuse(
                key, account_id, fresh[index], input_id, refusal.code, refusal.reason, now
            )
            sends.append(send)
            letters.append(letter)
        usage = [o for o in result.outputs if isinstance(o, LedgerEntry) and o.service]
        windows = None
        if usage:
            windows = self._windows(key, usage, arrivals, applied_offset, last_offset, plan)
        new_state = None  # unless only refused inputs: then the account does not come to be
        if state is not None or result.state != AccountState(account_id):
            new_state = state_codec.encode(result.state, last_offset)
        prefix = key + SEPARATOR
        remembered = {
            prefix + id_key.encode(): state_codec.encode_seen(seen)
            for id_key, seen in result.remembered.items()
        }
        # Worked out: now into the plan.
        plan.sends += sends
        plan.requests += [o for o in result.outputs if isinstance(o, RechargeRequested)]
        plan.letters += letters
        plan.seen.update(remembered)
        if windows is not None:
            plan.windows[key] = windows
        if new_state is not None:
            plan.states[key] = new_state
        plan.applied += len(arrivals) - len(result.refused) - len(result.repeats)
        plan.duplicates += len(records) - len(fresh) + len(result.repeats)

    def _seen(self, prefix: bytes, plan: Plan) -> Callable[[str], Seen | None]:
        """What the dedupe table (or this batch, before it lands) remembers of an id."""
        planned, table = plan.seen, self._seen_at

        def seen(id_key: str) -> Seen | None:
            key = prefix + id_key.encode()
            # v1 kept ids without their kind ("account\\0id", offset only): still read.
            stored = planned.get(key) or table(key) or table(prefix + id_key[2:].encode())
            return None if stored is None else state_codec.decode_seen(stored)

        return seen

    def _windows(
        self,
        key: bytes,
        usage: list[LedgerEntry],
        arrivals: list[Arrival],
        applied_offset: int,
        last_offset: int,
        plan: Plan,
    ) -> bytes:
        """The account's usage windows with ``usage`` counted, encoded."""
        stored = plan.windows.get(key) or self._load_windows(key)
        windows, counted_to = state_codec.decode_windows(stored) if stored else (UsageWindows(), -1)
        if counted_to > applied_offset:
            # At least once only: the windows were written, the state was not, before a
            # crash. The inputs up to their offset are counted already.
            offset_of = {a.item.event_id: a.offset for a in arrivals if isinstance(a.item, Usage)}
            usage = [entry for entry in usage if offset_of[entry.source_id] > counted_to]
        record_usage(windows, usage)
        return state_codec.encode_windows(windows, last_offset)

    def _refuse(
        self,
        key: bytes,
        account_id: str,
        record: Record,
        input_id: str | None,
        code: str,
        reason: str,
        now: datetime,
    ) -> tuple[tuple[str, bytes, bytes], Letter]:
        """The dead letter of ``record`` to send, and its note for the log and the count."""
        value = self.letters.letter(record.origin, record.value, code, reason, now)
        return (DEAD_LETTER, key, value), Letter(account_id, input_id, record.origin, code, reason)


def _input(record: Record) -> Input:
    to_domain = TO_DOMAIN.get(record.kind)
    if to_domain is None:
        raise ValueError("an account-inputs record without the headers ingest writes")
    return to_domain(orjson.loads(record.value))
