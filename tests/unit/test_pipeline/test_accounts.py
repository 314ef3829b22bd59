"""Planning a batch: dedupe by offset and id, one apply per account, outputs then state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from streams.domain import RateCard
from streams.domain.usage import UsageWindows
from streams.domain.window import DedupeWindow
from streams.pipeline import state as state_codec
from streams.pipeline.accounts import AccountBatch, PartitionTables, Plan
from streams.pipeline.overdue import DueIndex, check_record
from streams.pipeline.records import Origin, Record
from streams.state.memory import MemoryPartition
from streams.wire.dead_letter import DeadLetters
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


ORIGIN = Origin("x-account-inputs", 2, -1, b"contoso")


def record(offset: int, value: bytes, kind: str = "call-usage") -> Record:
    origin = Origin("usage.call-minutes", 2, 500 + offset, b"contoso")
    return Record(b"contoso", value, offset, kind, origin)


PARTITION = 2
MONTH = DedupeWindow(30 * 86400)


class Tables:
    """One partition's stores, in memory, landed the way the at-least-once stage does."""

    def __init__(self, window: DedupeWindow = MONTH) -> None:
        self.stores = PartitionTables(MemoryPartition(), MemoryPartition(), MemoryPartition())
        self.accounts = self.stores.accounts.data
        self.seen = self.stores.seen_inputs.data
        self.windows = self.stores.usage_windows.data
        self.batch = AccountBatch(
            rate_card=RATE_CARD,
            default_currency="USD",
            letters=DeadLetters(),
            window=window,
            tables=self._partition,
        )

    def _partition(self, partition: int) -> PartitionTables:
        assert partition == PARTITION
        return self.stores

    def run(self, records: list[Record], *, land_state: bool = True) -> Plan:
        """Land the plan as the at-least-once stage does; without its state write, when
        ``land_state`` is false, as a crash just before it (windows and state go together
        but are not atomic there)."""
        plan = self.batch.plan(PARTITION, records, NOW)
        offset = records[-1].offset  # any offset: these tests read no changelog
        self.stores.seen_inputs.write(plan.seen, offset)
        self.stores.usage_windows.write(plan.windows, offset)
        if land_state:
            self.stores.accounts.write({**plan.states, **plan.due}, offset)
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
    assert letter["reason_code"] == "currency_mismatch"
    assert [item.refusal.code for item in plan.letters] == ["currency_mismatch"]
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


# --- v1.1: dedupe by kind and content, refused inputs, defects ----------------------------


def letters(plan: Plan) -> list[dict]:
    return [orjson.loads(v) for topic, _, v in plan.sends if topic == "credits.dead-letter"]


def test_a_repeat_with_other_content_is_dead_lettered_and_the_first_stands() -> None:
    tables = Tables()
    tables.run([record(0, funds("f-1", "10.00"), "command"), record(1, call("c-1", 60))])
    plan = tables.run([record(2, call("c-1", 600))])
    (letter,) = letters(plan)
    assert letter["reason_code"] == "conflicting_duplicate"
    assert letter["payload"] == call("c-1", 600).decode()
    assert balance(tables) == 9_980_000


def test_a_call_and_a_command_may_share_an_id() -> None:
    tables = Tables()
    plan = tables.run([record(0, funds("x", "10.00"), "command"), record(1, call("x", 60))])
    assert [entry["source_id"] for entry in ledger(plan)] == ["x", "x"]
    assert {key for key in tables.seen if key.startswith(b"contoso")} == {
        b"contoso\x00c:x",
        b"contoso\x00e:x",
    }


def test_a_dead_lettered_input_is_applied_when_it_comes_again() -> None:
    tables = Tables()
    tables.run([record(0, funds("f-1", "10.00"), "command")])
    euros = funds("f-2", "5.00", currency="EUR")
    assert letters(tables.run([record(1, euros, "command")]))[0]["reason_code"] == (
        "currency_mismatch"
    )
    assert b"contoso\x00c:f-2" not in tables.seen
    fixed = funds("f-2", "5.00")  # the same id, with the currency corrected
    plan = tables.run([record(2, fixed, "command")])
    assert [entry["source_id"] for entry in ledger(plan)] == ["f-2"]
    assert balance(tables) == 15_000_000


def test_a_v1_dedupe_record_still_counts() -> None:
    tables = Tables()
    tables.run([record(0, funds("f-1", "10.00"), "command")])
    tables.seen[b"contoso\x00c-1"] = b"0"  # as v1 wrote it: the id alone, its offset
    plan = tables.run([record(1, call("c-1", 60))])
    assert ledger(plan) == []
    assert plan.duplicates == 1


class FaultyRateCard(RateCard):
    """A defect in the domain, met by one input alone: calls to ``country`` raise."""

    def __init__(self, country: str) -> None:
        super().__init__(RATE_CARD._rates.values())
        self.country = country

    def find(self, service, kind, country, currency, direction):  # type: ignore[override]
        if country == self.country:
            raise ZeroDivisionError("injected fault")
        return super().find(service, kind, country, currency, direction)


def call_to(event_id: str, country: str) -> bytes:
    return orjson.dumps({**orjson.loads(call(event_id, 60)), "country": country})


def test_a_defect_sends_its_input_to_the_dead_letter_and_applies_the_others_once() -> None:
    tables = Tables()
    tables.batch.rate_card = FaultyRateCard("ZZ")
    batch = [record(0, funds("f-1", "10.00"), "command")]
    batch += [record(n, call(f"c-{n}", 60)) for n in range(1, 6)]
    batch += [record(6, call_to("c-bad", "ZZ"))]
    batch += [record(n, call(f"c-{n}", 60)) for n in range(7, 10)]
    plan = tables.run(batch)
    (letter,) = letters(plan)
    assert (letter["reason_code"], letter["error"]) == (
        "internal_error",
        "ZeroDivisionError: injected fault",
    )
    assert letter["offset"] == 506  # the origin of the input at account-inputs offset 6
    sources = [entry["source_id"] for entry in ledger(plan)]
    assert sources == ["f-1"] + [f"c-{n}" for n in (1, 2, 3, 4, 5, 7, 8, 9)]
    assert [entry["seq"] for entry in ledger(plan)] == list(range(1, 10))
    assert balance(tables) == 10_000_000 - 8 * 20_000
    assert plan.applied == 9
    again = tables.run(batch)  # redelivered: each applied input once, and only once
    assert ledger(again) == []
    assert balance(tables) == 10_000_000 - 8 * 20_000


def test_a_record_that_ingest_did_not_write_is_dead_lettered() -> None:
    tables = Tables()
    stray = Record(b"contoso", b"not json", 3, "", Origin("x-account-inputs", 2, 3, b"contoso"))
    plan = tables.run([record(0, funds("f-1", "10.00"), "command"), stray])
    (letter,) = letters(plan)
    assert letter["reason_code"] == "internal_error"
    assert (letter["topic"], letter["offset"]) == ("x-account-inputs", 3)
    assert balance(tables) == 10_000_000


# --- the dedupe window: the partition's stream time, its ids by day, their expiry


def test_a_batch_records_its_stream_time_and_its_ids_by_day() -> None:
    tables = Tables()
    tables.run([record(4, funds("f-1", "10.00"), "command"), record(5, call("c-1", 60))])
    assert orjson.loads(tables.seen[b"\x022"]) == ["2026-11-24T10:00:00", "2026-10-25"]
    assert tables.seen[b"\x022\x002026-11-24\x004"] == b"contoso\x00c:f-1\ncontoso\x00e:c-1"


def test_an_input_older_than_the_window_is_dead_lettered_as_too_late() -> None:
    tables = Tables(DedupeWindow(86400))
    tables.run([record(0, funds("f-1", "10.00"), "command")])
    plan = tables.run([record(1, call("c-1", 60, at="2026-11-23T08:59:59Z"))])
    (letter,) = letters(plan)
    assert letter["reason_code"] == "too_late"
    assert balance(tables) == 10_000_000


def test_ids_are_forgotten_with_tombstones_once_their_day_leaves_the_window() -> None:
    tables = Tables(DedupeWindow(86400))
    tables.run([record(0, funds("f-1", "10.00"), "command"), record(1, call("c-1", 60))])
    plan = tables.run([record(2, call("c-2", 60, at="2026-11-26T00:00:01Z"))])
    forgotten = {key for key, value in plan.seen.items() if value is None}
    assert forgotten == {
        b"contoso\x00c:f-1",
        b"contoso\x00e:c-1",
        b"\x022\x002026-11-24\x000",
    }
    assert {key for key in tables.seen if not key.startswith(b"\x02")} == {b"contoso\x00e:c-2"}
    # The same call again, from the forgotten day: too late, not applied a second time.
    again = tables.run([record(3, call("c-1", 60))])
    assert [letter["reason_code"] for letter in letters(again)] == ["too_late"]
    assert balance(tables) == 10_000_000 - 2 * 20_000


def test_a_batch_does_not_forget_the_ids_it_remembers_itself() -> None:
    """Its own inputs of a day that leaves the window in the same batch: a replay of the
    batch must still find them (they go with the next day's expiry)."""
    tables = Tables(DedupeWindow(86400))
    tables.run([record(0, funds("f-1", "10.00"), "command")])
    plan = tables.run(
        [record(1, call("c-1", 60)), record(2, call("c-2", 60, at="2026-11-26T00:00:01Z"))]
    )
    assert b"contoso\x00e:c-1" in tables.seen
    assert plan.seen[b"contoso\x00c:f-1"] is None


# --- the account status, and the index of pending requests ---------------------------------


def statuses(plan: Plan) -> list[dict]:
    return [orjson.loads(v) for topic, _, v in plan.sends if topic == "credits.account-status"]


def test_a_batch_sends_each_changed_account_status_once() -> None:
    tables = Tables()
    plan = tables.run([record(0, funds("f-1", "10.00"), "command"), record(1, call("c-1", 60))])
    assert statuses(plan) == [
        {
            "account_id": "contoso",
            "balance": "9.98",
            "currency": "USD",
            "status": "active",
            "auto_recharge": "off",
            "pending_request_id": None,
            "seq": 2,
            "updated_at": "2026-11-24T10:00:00Z",
        }
    ]
    again = tables.run([record(0, funds("f-1", "10.00"), "command"), record(1, call("c-1", 60))])
    assert statuses(again) == []  # redelivered: nothing changed


def configure(command_id: str, amount: str, trigger: str) -> bytes:
    return orjson.dumps(
        {
            "command_id": command_id,
            "account_id": "contoso",
            "type": "configure_auto_recharge",
            "enabled": True,
            "recharge_amount": amount,
            "trigger_balance": trigger,
            "currency": "USD",
            "issued_at": "2026-11-24T09:30:00Z",
        }
    )


def due_keys(tables: Tables) -> list[bytes]:
    return [key for key in tables.accounts if key.startswith(b"\x022\x00due\x00")]


def test_a_pending_request_is_indexed_until_it_is_notified_overdue() -> None:
    tables = Tables()
    plan = tables.run(
        [
            record(0, funds("f-1", "1.00"), "command"),
            record(1, configure("a-1", "20.00", "5.00"), "command"),
        ]
    )
    (status,) = statuses(plan)
    assert status["pending_request_id"] == "contoso:rr:1"
    (key,) = due_keys(tables)
    sent_at = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert key == b"\x022\x00due\x00" + sent_at.encode() + b"\x00contoso\x00contoso:rr:1"
    late = DueIndex(PARTITION).late(tables.stores.accounts, NOW + timedelta(hours=1), 3600)
    assert [(c.account_id, c.request_id) for c in late] == [("contoso", "contoso:rr:1")]
    assert DueIndex(PARTITION).late(tables.stores.accounts, NOW + timedelta(minutes=59), 3600) == []
    _, _, value, headers = check_record("account-inputs", PARTITION, late[0])
    checked = tables.run([Record(b"contoso", value, 2, dict(headers)["kind"].decode(), ORIGIN)])
    notified = [orjson.loads(v) for t, _, v in checked.sends if t == "credits.notifications"]
    assert [n["type"] for n in notified] == ["recharge_overdue"]
    assert due_keys(tables) == []  # notified: no longer indexed
    again = tables.run([Record(b"contoso", value, 3, "overdue-check", ORIGIN)])
    assert again.sends == []  # a second check changes nothing


def test_a_settled_request_leaves_the_index() -> None:
    tables = Tables()
    tables.run(
        [
            record(0, funds("f-1", "1.00"), "command"),
            record(1, configure("a-1", "20.00", "5.00"), "command"),
        ]
    )
    result = orjson.dumps(
        {
            "request_id": "contoso:rr:1",
            "account_id": "contoso",
            "status": "succeeded",
            "amount": "20.00",
            "currency": "USD",
            "completed_at": "2026-11-24T09:40:00Z",
        }
    )
    tables.run([record(2, result, "recharge-result")])
    assert due_keys(tables) == []
