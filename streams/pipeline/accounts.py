"""Stage 2: apply each account's inputs to its state, in the order of its partition.

A batch of records from the account-inputs topic becomes, per account, one call of the
pure domain ``apply`` and one state write. ``AccountBatch.plan`` does the work without
touching Kafka; the agent sends what it returns in the order that makes redelivery safe:
outputs and dedupe records first, then (once the producer has flushed) the states.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from streams.domain import (
    AccountState,
    Input,
    LedgerEntry,
    RateCard,
    RechargeRequested,
    Usage,
    apply,
)
from streams.domain.usage import UsageWindows, record_usage
from streams.pipeline import state as state_codec
from streams.pipeline.partitioning import SEPARATOR
from streams.pipeline.records import Origin, Record
from streams.pipeline.topics import DEAD_LETTER
from streams.wire import encode
from streams.wire.dead_letter import dead_letter
from streams.wire.decode import TO_DOMAIN, input_id


@dataclass(slots=True)
class Plan:
    """What one batch produces, in the order it must reach Kafka."""

    sends: list[tuple[str, bytes, bytes]] = field(default_factory=list)  # topic, key, value
    seen: dict[bytes, bytes] = field(default_factory=dict)  # dedupe key -> offset
    states: dict[bytes, bytes] = field(default_factory=dict)  # account key -> state
    windows: dict[bytes, bytes] = field(default_factory=dict)  # account key -> usage windows
    applied: int = 0
    duplicates: int = 0
    refused: list[Refused] = field(default_factory=list)  # each went to the dead letter
    requests: list[RechargeRequested] = field(default_factory=list)  # each sent to billing

    @property
    def rejected(self) -> int:
        return len(self.refused)


@dataclass(frozen=True, slots=True)
class Refused:
    """An input the domain refused, for the log line and the count of its dead letter."""

    account_id: str
    input_id: str
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
        load_state: Callable[[bytes], bytes | None],
        seen_at: Callable[[bytes], bytes | None],
        load_windows: Callable[[bytes], bytes | None],
    ) -> None:
        self.rate_card = rate_card
        self.default_currency = default_currency
        self._load_state = load_state
        self._seen_at = seen_at
        self._load_windows = load_windows

    def plan(self, records: Iterable[Record], now: datetime) -> Plan:
        plan = Plan()
        by_account: dict[bytes, list[Record]] = {}
        for record in records:
            by_account.setdefault(record.key, []).append(record)
        for key, account_records in by_account.items():
            self._plan_account(key, account_records, plan, now)
        return plan

    def _plan_account(self, key: bytes, records: list[Record], plan: Plan, now: datetime) -> None:
        stored = self._load_state(key)
        state: AccountState | None
        state, applied_offset = state_codec.decode(stored) if stored else (None, -1)
        inputs, origins, ids = [], [], []
        for record in records:
            if record.offset <= applied_offset:
                plan.duplicates += 1  # redelivered after a restart: already in the state
                continue
            message = orjson.loads(record.value)
            the_id = input_id(message)
            seen_key = key + SEPARATOR + the_id.encode()
            first = plan.seen.get(seen_key) or self._seen_at(seen_key)
            if first is not None and int(first) < record.offset:
                plan.duplicates += 1  # the same id arrived before, at an earlier offset
                continue
            plan.seen[seen_key] = str(record.offset).encode()
            inputs.append(TO_DOMAIN[record.kind](message))
            origins.append(record)
            ids.append(the_id)
        last_offset = records[-1].offset
        if not inputs:
            if last_offset > applied_offset and state is not None:
                plan.states[key] = state_codec.encode(state, last_offset)
            return
        result = apply(
            state,
            key.decode(),
            inputs,
            rate_card=self.rate_card,
            default_currency=self.default_currency,
        )
        for output in result.outputs:
            topic, value = encode.output(output)
            plan.sends.append((topic, key, value))
            if isinstance(output, RechargeRequested):
                plan.requests.append(output)
        for rejection in result.rejected:
            origin = origins[rejection.index].origin
            letter = dead_letter(
                topic=origin.topic,
                partition=origin.partition,
                offset=origin.offset,
                key=origin.key,
                payload=origins[rejection.index].value,
                error=rejection.reason,
                received_at=now,
            )
            plan.sends.append((DEAD_LETTER, key, letter))
            plan.refused.append(
                Refused(
                    result.state.account_id,
                    ids[rejection.index],
                    origin,
                    rejection.code,
                    rejection.reason,
                )
            )
        usage = [o for o in result.outputs if isinstance(o, LedgerEntry) and o.service]
        if usage:
            self._plan_windows(key, usage, inputs, origins, applied_offset, last_offset, plan)
        plan.applied += len(inputs) - len(result.rejected)
        if state is None and result.state == AccountState(result.state.account_id):
            return  # only rejected inputs: the account does not come into being
        plan.states[key] = state_codec.encode(result.state, last_offset)

    def _plan_windows(
        self,
        key: bytes,
        usage: list[LedgerEntry],
        inputs: list[Input],
        origins: list[Record],
        applied_offset: int,
        last_offset: int,
        plan: Plan,
    ) -> None:
        stored = self._load_windows(key)
        windows, counted_to = state_codec.decode_windows(stored) if stored else (UsageWindows(), -1)
        if counted_to > applied_offset:
            # At least once only: the windows were written, the state was not, before a
            # crash. The inputs up to their offset are counted already.
            offset_of = {
                i.event_id: r.offset
                for i, r in zip(inputs, origins, strict=True)
                if isinstance(i, Usage)
            }
            usage = [entry for entry in usage if offset_of[entry.source_id] > counted_to]
        record_usage(windows, usage)
        plan.windows[key] = state_codec.encode_windows(windows, last_offset)
