"""Planning a batch: dedupe by offset and id, one apply per account, outputs then state."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from streams.domain.usage import UsageWindows
from streams.pipeline import state as state_codec
from streams.pipeline.accounts import AccountBatch, Plan
from streams.pipeline.records import Origin, Record
from streams.wire.rate_card import load_rate_card
from streams.wire.schemas import Validators

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
VALIDATORS = Validators()
RATE_CARD = load_rate_card(None, VALIDATORS)


def funds(command_id: str, amount: str, currency: str = "USD") -> bytes:
    return orjson.dumps(
        {
            "command_id": command_id,
            "account_id": "contoso",
            "type": "add_funds",
            "amount": amount,
            "currency": currency,
            "issued_at": "2026-11-24T09:00:00Z",
        }
    )


def call(event_id: str, seconds: int, at: str = "2026-11-24T10:00:00Z") -> bytes:
    return orjson.dumps(
        {
            "event_id": event_id,
            "account_id": "contoso",
            "occurred_at": at,
            "call_type": "domestic",
            "direction": "outbound",
            "country": "US",
            "duration_seconds": seconds,
        }
    )


def record(offset: int, value: bytes, kind: str = "call-usage") -> Record:
    origin = Origin("usage.call-minutes", 2, 500 + offset, b"contoso")
    return Record(b"contoso", value, offset, kind, origin)


class Tables:
    """The two tables as plain dicts, written the way the agent writes them."""

    def __init__(self) -> None:
        self.accounts: dict[bytes, bytes] = {}
        self.seen: dict[bytes, bytes] = {}
        self.windows: dict[bytes, bytes] = {}
        self.batch = AccountBatch(
            rate_card=RATE_CARD,
            default_currency="USD",
            load_state=self.accounts.get,
            seen_at=self.seen.get,
            load_windows=self.windows.get,
        )

    def run(self, records: list[Record], *, land_state: bool = True) -> Plan:
        """Land the plan as the at-least-once stage does; without its state write, when
        ``land_state`` is false, as a crash just before it (windows and state go together
        but are not atomic there)."""
        plan = self.batch.plan(records, NOW)
        self.seen.update(plan.seen)
        self.windows.update(plan.windows)
        if land_state:
            self.accounts.update(plan.states)
        return plan


def ledger(plan: Plan) -> list[dict]:
    return [orjson.loads(value) for topic, _, value in plan.sends if topic == "credits.ledger"]


def balance(tables: Tables) -> int:
    state, _ = state_codec.decode(tables.accounts[b"contoso"])
    return state.balance


def test_a_batch_applies_in_order_and_stores_the_last_offset() -> None:
    tables = Tables()
    plan = tables.run(
        [
            record(0, funds("f-1", "10.00"), "command"),
            record(1, call("c-1", 61)),
            record(2, call("c-2", 30)),
        ]
    )
    assert [entry["amount"] for entry in ledger(plan)] == ["10.00", "-0.04", "-0.02"]
    assert [entry["seq"] for entry in ledger(plan)] == [1, 2, 3]
    assert balance(tables) == 9_940_000
    assert state_codec.decode(tables.accounts[b"contoso"])[1] == 2
    assert plan.applied == 3


def test_a_redelivered_batch_whose_state_landed_changes_nothing() -> None:
    tables = Tables()
    batch = [record(0, funds("f-1", "10.00"), "command"), record(1, call("c-1", 60))]
    tables.run(batch)
    again = tables.run(batch)
    assert again.sends == []
    assert again.duplicates == 2
    assert balance(tables) == 9_980_000


def test_a_replay_after_the_state_was_lost_repeats_the_same_outputs() -> None:
    tables = Tables()
    batch = [record(0, funds("f-1", "10.00"), "command"), record(1, call("c-1", 60))]
    first = tables.run(batch, land_state=False)  # died after the flush, before the state
    replay = tables.run(batch)
    assert replay.sends == first.sends
    assert balance(tables) == 9_980_000


def windows(tables: Tables) -> UsageWindows:
    return state_codec.decode_windows(tables.windows[b"contoso"])[0]


def test_usage_is_counted_in_the_windows_of_its_time() -> None:
    tables = Tables()
    tables.run(
        [
            record(0, funds("f-1", "10.00"), "command"),
            record(1, call("c-1", 61, at="2026-11-30T23:59:59Z")),
            record(2, call("c-2", 30, at="2026-12-01T00:00:00Z")),
        ]
    )
    assert windows(tables).days == {
        "2026-11-30": {"call:domestic": [120, 40_000]},
        "2026-12-01": {"call:domestic": [60, 20_000]},
    }
    assert set(windows(tables).months) == {"2026-11", "2026-12"}


def test_a_batch_without_usage_writes_no_windows() -> None:
    tables = Tables()
    plan = tables.run([record(0, funds("f-1", "10.00"), "command")])
    assert plan.windows == {}


def test_a_replay_after_the_state_was_lost_counts_usage_once() -> None:
    tables = Tables()
    batch = [record(0, funds("f-1", "10.00"), "command"), record(1, call("c-1", 60))]
    tables.run(batch, land_state=False)  # the windows landed, the state did not
    tables.run([*batch, record(2, call("c-2", 60))])
    assert windows(tables).days == {"2026-11-24": {"call:domestic": [120, 40_000]}}
    assert balance(tables) == 9_960_000


def test_the_same_id_at_a_later_offset_is_a_duplicate() -> None:
    tables = Tables()
    tables.run([record(0, funds("f-1", "10.00"), "command"), record(1, call("c-1", 60))])
    plan = tables.run([record(2, call("c-1", 60)), record(3, call("c-2", 60))])
    assert [entry["source_id"] for entry in ledger(plan)] == ["c-2"]
    assert plan.duplicates == 1
    assert balance(tables) == 9_960_000


def test_the_same_id_twice_in_one_batch_applies_once() -> None:
    tables = Tables()
    plan = tables.run(
        [record(0, funds("f-1", "10.00"), "command"), record(1, funds("f-1", "10.00"), "command")]
    )
    assert len(ledger(plan)) == 1
    assert balance(tables) == 10_000_000


def test_a_rejected_input_goes_to_the_dead_letter_with_its_origin() -> None:
    tables = Tables()
    euros = funds("f-2", "5.00", currency="EUR")
    plan = tables.run([record(0, funds("f-1", "10.00"), "command"), record(1, euros, "command")])
    (letter,) = [orjson.loads(v) for topic, _, v in plan.sends if topic == "credits.dead-letter"]
    VALIDATORS.check("dead-letter", letter)
    assert (letter["topic"], letter["partition"], letter["offset"]) == (
        "usage.call-minutes",
        2,
        501,
    )
    assert letter["payload"] == euros.decode()
    assert "EUR" in letter["error"]
    assert plan.rejected == 1
    assert balance(tables) == 10_000_000


def test_an_account_with_only_rejected_inputs_does_not_come_into_being() -> None:
    tables = Tables()
    tables.run([record(0, funds("f-1", "0.00"), "command")])
    assert tables.accounts == {}


@pytest.mark.parametrize("topic", ["credits.ledger", "credits.notifications"])
def test_every_output_matches_its_schema(topic: str) -> None:
    tables = Tables()
    plan = tables.run([record(0, funds("f-1", "0.05"), "command"), record(1, call("c-1", 600))])
    schema = {"credits.ledger": "ledger-entry", "credits.notifications": "notification"}[topic]
    sent = [orjson.loads(value) for t, _, value in plan.sends if t == topic]
    assert sent
    for message in sent:
        VALIDATORS.check(schema, message)
