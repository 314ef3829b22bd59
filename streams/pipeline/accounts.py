"""Stage 2: apply each account's inputs to its state, in the order of its partition.

A partition's batch of records from the account-inputs topic becomes, per account, one
call of the pure domain ``apply_once`` and one state write, and for the partition its
dedupe window's records. ``AccountBatch.plan`` does the work without touching Kafka; the
stage sends what it returns (see docs/idempotency.md for the order that makes redelivery
safe).

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
from streams.domain.dedupe import AppliedOnce, id_of
from streams.domain.engine import RECHARGE_TIMEOUT
from streams.domain.inputs import OverdueCheck
from streams.domain.outputs import Refusal
from streams.domain.usage import UsageWindows, record_usage
from streams.domain.window import DedupeWindow, newest_of, time_of
from streams.pipeline import state as state_codec
from streams.pipeline.dedupe_window import PartitionWindow
from streams.pipeline.overdue import KIND as OVERDUE_CHECK
from streams.pipeline.overdue import DueIndex, overdue_check
from streams.pipeline.partitioning import SEPARATOR
from streams.pipeline.records import Origin, Record
from streams.pipeline.topics import ACCOUNT_STATUS, DEAD_LETTER
from streams.state import PartitionStore
from streams.wire import encode
from streams.wire.dead_letter import INTERNAL_ERROR, DeadLetters, describe_defect
from streams.wire.decode import TO_DOMAIN

log = logging.getLogger(__name__)

Lookup = Callable[[bytes], bytes | None]
Send = tuple[str, bytes, bytes]  # topic, key, value


@dataclass(frozen=True, slots=True)
class PartitionTables:
    """The tables' stores of one partition."""

    accounts: PartitionStore
    seen_inputs: PartitionStore
    usage_windows: PartitionStore


@dataclass(slots=True)
class Plan:
    """What one partition's batch produces, in the order it must reach Kafka."""

    partition: int
    sends: list[Send] = field(default_factory=list)
    # dedupe key -> remembered input; the window's records; None: a tombstone
    seen: dict[bytes, bytes | None] = field(default_factory=dict)
    states: dict[bytes, bytes] = field(default_factory=dict)  # account key -> state
    due: dict[bytes, bytes | None] = field(default_factory=dict)  # the pending requests' index
    windows: dict[bytes, bytes] = field(default_factory=dict)  # account key -> usage windows
    applied: int = 0
    duplicates: int = 0
    letters: list[Letter] = field(default_factory=list)  # each sent to the dead letter
    requests: list[RechargeRequested] = field(default_factory=list)  # each sent to billing
    remembered: dict[str, list[bytes]] = field(default_factory=dict)  # day -> dedupe keys
    newest: str | None = None  # the newest input time of the batch

    def add(self, key: bytes, part: AccountPlan) -> None:
        self.sends += part.sends
        self.sends += [(DEAD_LETTER, key, letter.value) for letter in part.letters]
        self.letters += part.letters
        self.requests += part.requests
        self.seen.update(part.seen)
        for day, keys in part.remembered.items():
            self.remembered.setdefault(day, []).extend(keys)
        self.newest = newest_of(self.newest, part.times)
        if part.windows is not None:
            self.windows[key] = part.windows
        if part.state is not None:
            self.states[key] = part.state
        self.due.update(part.due)
        self.applied += part.applied
        self.duplicates += part.duplicates


@dataclass(frozen=True, slots=True)
class Letter:
    """An input sent to the dead letter: the letter, and what its log line and count say."""

    account_id: str
    input_id: str | None
    origin: Origin
    refusal: Refusal
    value: bytes  # the dead letter itself


@dataclass(slots=True)
class AccountPlan:
    """One account's share of a batch, worked out whole before it joins the Plan (so that
    an account whose inputs fail leaves the Plan as it was)."""

    sends: list[Send] = field(default_factory=list)
    letters: list[Letter] = field(default_factory=list)
    requests: list[RechargeRequested] = field(default_factory=list)
    seen: dict[bytes, bytes] = field(default_factory=dict)
    remembered: dict[str, list[bytes]] = field(default_factory=dict)  # day -> dedupe keys
    times: list[str] = field(default_factory=list)  # of the inputs read
    windows: bytes | None = None
    state: bytes | None = None
    due: dict[bytes, bytes | None] = field(default_factory=dict)
    applied: int = 0
    duplicates: int = 0


@dataclass(frozen=True, slots=True)
class AccountInputs:
    """One account's records in a batch, and those its stored state does not hold yet."""

    key: bytes
    records: list[Record]
    fresh: list[Record]  # above the state's offset; the others were redelivered
    state: AccountState | None
    state_offset: int  # of the last record the stored state holds, -1 for none

    @property
    def last_offset(self) -> int:
        return self.records[-1].offset


class AccountBatch:
    """Plans the effects of a partition's batch of account inputs against its tables."""

    def __init__(
        self,
        *,
        rate_card: RateCard,
        default_currency: str,
        letters: DeadLetters,
        window: DedupeWindow,
        tables: Callable[[int], PartitionTables],
        recharge_timeout: int = RECHARGE_TIMEOUT,
    ) -> None:
        self.rate_card = rate_card
        self.default_currency = default_currency
        self.letters = letters
        self.window = window
        self.tables = tables
        self.recharge_timeout = recharge_timeout

    def plan(self, partition: int, records: Iterable[Record], now: datetime) -> Plan:
        tables = self.tables(partition)
        window = PartitionWindow(self.window, partition, tables.seen_inputs)
        planner = _Planner(self, tables, window.stream_time, now, DueIndex(partition))
        plan = Plan(partition)
        by_account: dict[bytes, list[Record]] = {}
        for record in records:
            by_account.setdefault(record.key, []).append(record)
        for key, account_records in by_account.items():
            try:
                plan.add(key, planner.account(key, account_records, plan))
            except Exception:
                log.warning("inputs of account %r failed together; taking them one by one", key)
                planner.one_by_one(key, account_records, plan)
        if by_account:
            first = min(records[0].offset for records in by_account.values())
            plan.seen.update(window.records(plan.remembered, plan.newest, first))
        return plan

    def letter(
        self,
        account_id: str,
        record: Record,
        input_id: str | None,
        refusal: Refusal,
        now: datetime,
    ) -> Letter:
        value = self.letters.letter(record.origin, record.value, refusal.code, refusal.reason, now)
        return Letter(account_id, input_id, record.origin, refusal, value)


class _Planner:
    """One partition's batch, planned account by account against its tables."""

    def __init__(
        self,
        batch: AccountBatch,
        tables: PartitionTables,
        stream_time: str | None,
        now: datetime,
        due: DueIndex,
    ) -> None:
        self.batch = batch
        self.tables = tables
        self.stream_time = stream_time
        self.now = now
        self.clock = now.strftime("%Y-%m-%dT%H:%M:%SZ")  # as the domain writes times
        self.due = due

    def one_by_one(self, key: bytes, records: list[Record], plan: Plan) -> None:
        for record in records:
            try:
                plan.add(key, self.account(key, [record], plan))
            except Exception as error:
                log.exception("input at account-inputs offset %d failed", record.offset)
                refusal = Refusal(INTERNAL_ERROR, describe_defect(error))
                account_id = key.decode(errors="replace")
                letter = self.batch.letter(account_id, record, None, refusal, self.now)
                plan.add(key, AccountPlan(letters=[letter]))

    def account(self, key: bytes, records: list[Record], plan: Plan) -> AccountPlan:
        inputs = self._inputs(key, records, plan)
        if not inputs.fresh:
            return self._redelivered(inputs)
        arrivals = [Arrival(record.offset, _input(record)) for record in inputs.fresh]
        batch = self.batch
        result = apply_once(
            inputs.state,
            key.decode(),
            arrivals,
            self._seen(key + SEPARATOR, plan),
            rate_card=batch.rate_card,
            default_currency=batch.default_currency,
            window=batch.window,
            stream_time=self.stream_time,
            recharge_timeout=batch.recharge_timeout,
            now=self.clock,
        )
        return self._encoded(inputs, arrivals, result, plan)

    def _inputs(self, key: bytes, records: list[Record], plan: Plan) -> AccountInputs:
        stored = plan.states.get(key) or self.tables.accounts.get(key)
        state, state_offset = state_codec.decode(stored) if stored else (None, -1)
        fresh = [record for record in records if record.offset > state_offset]
        return AccountInputs(key, records, fresh, state, state_offset)

    @staticmethod
    def _redelivered(inputs: AccountInputs) -> AccountPlan:
        """Every record is in the state already; the state moves to the last offset."""
        part = AccountPlan(duplicates=len(inputs.records))
        if inputs.last_offset > inputs.state_offset and inputs.state is not None:
            part.state = state_codec.encode(inputs.state, inputs.last_offset)
        return part

    def _encoded(
        self,
        inputs: AccountInputs,
        arrivals: list[Arrival],
        result: AppliedOnce,
        plan: Plan,
    ) -> AccountPlan:
        """What ``result`` writes, encoded: outputs, letters, dedupe records, state, windows."""
        key = inputs.key
        account_id = result.state.account_id
        part = AccountPlan(
            sends=[(topic, key, value) for topic, value in map(encode.output, result.outputs)],
            requests=[o for o in result.outputs if isinstance(o, RechargeRequested)],
            applied=len(arrivals) - len(result.refused) - len(result.repeats),
            duplicates=len(inputs.records) - len(inputs.fresh) + len(result.repeats),
        )
        for index, refusal in result.refused.items():
            input_id = id_of(arrivals[index].item)[1]
            record = inputs.fresh[index]
            part.letters.append(self.batch.letter(account_id, record, input_id, refusal, self.now))
        prefix = key + SEPARATOR
        for id_key, seen in result.remembered.items():
            seen_key = prefix + id_key.encode()
            part.seen[seen_key] = state_codec.encode_seen(seen)
            part.remembered.setdefault(seen.day or "", []).append(seen_key)
        # Not the overdue checks': their time is the worker's clock, not the stream's.
        part.times = [time_of(a.item) for a in arrivals if not isinstance(a.item, OverdueCheck)]
        usage = [o for o in result.outputs if isinstance(o, LedgerEntry) and o.service]
        if usage:
            part.windows = self._windows(inputs, usage, arrivals, plan)
        # Only refused inputs of a new account: then the account does not come to be.
        if inputs.state is not None or result.state != AccountState(account_id):
            part.state = state_codec.encode(result.state, inputs.last_offset)
            status = encode.account_status(result.state)
            if inputs.state is None or status != encode.account_status(inputs.state):
                part.sends.append((ACCOUNT_STATUS, key, status))
            checks = [a.item for a in arrivals if isinstance(a.item, OverdueCheck)]
            part.due = self.due.changes(key, inputs.state, result.state, checks)
        return part

    def _seen(self, prefix: bytes, plan: Plan) -> Callable[[str], Seen | None]:
        """What the dedupe table (or this batch, before it lands) remembers of an id."""
        planned, table = plan.seen, self.tables.seen_inputs.get

        def seen(id_key: str) -> Seen | None:
            key = prefix + id_key.encode()
            # v1 kept ids without their kind ("account\\0id", offset only): still read.
            stored = planned.get(key) or table(key) or table(prefix + id_key[2:].encode())
            return None if stored is None else state_codec.decode_seen(stored)

        return seen

    def _windows(
        self, inputs: AccountInputs, usage: list[LedgerEntry], arrivals: list[Arrival], plan: Plan
    ) -> bytes:
        """The account's usage windows with ``usage`` counted, encoded."""
        stored = plan.windows.get(inputs.key) or self.tables.usage_windows.get(inputs.key)
        windows, counted_to = state_codec.decode_windows(stored) if stored else (UsageWindows(), -1)
        if counted_to > inputs.state_offset:
            # At least once only: the windows were written, the state was not, before a
            # crash. The inputs up to their offset are counted already.
            offset_of = {a.item.event_id: a.offset for a in arrivals if isinstance(a.item, Usage)}
            usage = [entry for entry in usage if offset_of[entry.source_id] > counted_to]
        record_usage(windows, usage)
        return state_codec.encode_windows(windows, inputs.last_offset)


def _input(record: Record) -> Input:
    if record.kind == OVERDUE_CHECK:  # the worker's own input, not the contract's
        return overdue_check(orjson.loads(record.value))
    to_domain = TO_DOMAIN.get(record.kind)
    if to_domain is None:
        raise ValueError("an account-inputs record without the headers ingest writes")
    return to_domain(orjson.loads(record.value))
