"""Hostile input through both stages: nothing raises, every bad message is dead-lettered
with its reason and its original bytes, and the good messages around it apply once.

Hypothesis builds streams of good messages mixed with broken bytes, deep and huge JSON,
wrong types, unicode oddities, enormous numbers and durations, impossible times, another
kind's id field, and replayed ids. Each stream runs through ``Ingest.route`` and
``AccountBatch.plan`` exactly as the stages call them; every message either stage writes
must match its contract schema, and every dead letter carries a reason code.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.domain.window import DedupeWindow
from streams.pipeline import state as state_codec
from streams.pipeline.accounts import AccountBatch, PartitionTables
from streams.pipeline.ingest import Ingest
from streams.pipeline.records import Origin, record_from
from streams.pipeline.topics import DEAD_LETTER, INPUT_KINDS, LEDGER
from streams.state.memory import MemoryPartition
from streams.wire.dead_letter import REASON_CODES, DeadLetters
from streams.wire.decode import MAX_MESSAGE_BYTES, Decoder
from streams.wire.rate_card import load_rate_card
from streams.wire.schemas import Validators

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SENT_MS = int(NOW.timestamp() * 1000)
VALIDATORS = Validators()
DECODER = Decoder(VALIDATORS)
INGEST = Ingest(DECODER, DeadLetters())
RATE_CARD = load_rate_card(None, VALIDATORS)
ACCOUNT = "contoso"
OUTPUT_SCHEMAS = {
    "credits.ledger": "ledger-entry",
    "credits.recharge-requested": "recharge-requested",
    "credits.notifications": "notification",
    "credits.dead-letter": "dead-letter",
    "credits.account-status": "account-status",
}
TOPIC_OF = {kind: topic for topic, kind in INPUT_KINDS.items()}

TEMPLATES: dict[str, dict[str, Any]] = {
    "call-usage": {
        "event_id": "call",
        "account_id": ACCOUNT,
        "occurred_at": "2026-11-24T10:00:00Z",
        "call_type": "international",
        "direction": "outbound",
        "country": "NO",
        "duration_seconds": 125,
    },
    "conference-usage": {
        "event_id": "conf",
        "account_id": ACCOUNT,
        "conference_id": "weekly",
        "occurred_at": "2026-11-24T10:00:00Z",
        "leg": "dial_out",
        "country": "US",
        "duration_seconds": 61,
    },
    "command": {
        "command_id": "funds",
        "account_id": ACCOUNT,
        "type": "add_funds",
        "amount": "25.00",
        "currency": "USD",
        "issued_at": "2026-11-24T09:00:00Z",
    },
}

ODD_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\u0000",
        "\u202econtoso",  # right-to-left override
        "contoso\u200b",  # zero-width space
        "\uff43\uff4f\uff4e\uff54\uff4f\uff53\uff4f",  # full-width letters
        "🦆" * 60,
        "x" * 201,
        "1e400",
        "NaN",
        "-0.00",
        "0.0000001",
        "9999999999999.00",
        "2026-02-30T10:00:00Z",
        "2026-11-24T10:00:00+01:00",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:00:00Z",
        "999999999999.999999",
        "contoso:rr:\u00b2",
    ]
) | st.text(max_size=40)
HOSTILE_VALUES = st.one_of(
    ODD_TEXT,
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([86401, 10**18, -1, 0, 1.5, 1e300, -0.0]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
RAW_BYTES = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(
        [
            b"",
            b"null",
            b"[]",
            b'"text"',
            b"\xff\xfe{}",
            b"[" * 5000 + b"]" * 5000,  # deeper than any JSON parser should follow
            b'{"account_id": "contoso", "duration_seconds": 1e400}',
            b'{"event_id": "\\ud800"}',  # a lone surrogate
            b"{" + b'"a": 1, ' * 9000 + b'"b": 2}',  # over the size limit
        ]
    ),
)


@st.composite
def good_message(draw: st.DrawFn, n: int) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(sorted(TEMPLATES)))
    message = dict(TEMPLATES[kind])
    id_field = "command_id" if kind == "command" else "event_id"
    message[id_field] = f"good-{n}"
    return kind, orjson.dumps(message)


@st.composite
def hostile_message(draw: st.DrawFn) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(sorted(TEMPLATES)))
    if draw(st.booleans()):
        return kind, draw(RAW_BYTES)
    message = dict(TEMPLATES[kind])
    id_field = "command_id" if kind == "command" else "event_id"
    message[id_field] = "hostile"
    field = draw(st.sampled_from([*message, "unexpected", "event_id", "command_id"]))
    message[field] = draw(HOSTILE_VALUES)
    try:
        return kind, orjson.dumps(message, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:  # e.g. integers beyond 64 bits: write them by hand
        return kind, repr(message).replace("'", '"').replace("None", "null").encode()


@st.composite
def streams_of_input(draw: st.DrawFn) -> list[tuple[str, bytes, bool]]:
    """(kind, bytes, is_good) in arrival order; good messages are sometimes replayed."""
    stream: list[tuple[str, bytes, bool]] = []
    for n in range(draw(st.integers(min_value=1, max_value=12))):
        if draw(st.booleans()):
            kind, value = draw(good_message(n))
            stream.append((kind, value, True))
            if draw(st.integers(0, 3)) == 0:
                stream.append((kind, value, True))  # the same message redelivered
        else:
            kind, value = draw(hostile_message())
            stream.append((kind, value, False))
    return stream


def _original_bytes(letter: dict[str, Any]) -> bytes:
    if letter.get("payload_encoding") == "base64":
        return base64.b64decode(letter["payload"])
    return letter["payload"].encode()


def _check_output(topic: str, value: bytes) -> dict[str, Any]:
    message = orjson.loads(value)
    VALIDATORS.check(OUTPUT_SCHEMAS[topic], message)
    return message


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams_of_input())
def test_hostile_input_is_dead_lettered_and_good_input_applies_once(
    stream: list[tuple[str, bytes, bool]],
) -> None:
    stores = PartitionTables(MemoryPartition(), MemoryPartition(), MemoryPartition())
    batch = AccountBatch(
        rate_card=RATE_CARD,
        default_currency="USD",
        letters=DeadLetters(),
        window=DedupeWindow(30 * 86400),  # one batch from empty tables: nothing too late
        tables=lambda partition: stores,
    )
    records, dead_letters = [], []
    for offset, (kind, value, _good) in enumerate(stream):
        origin = Origin(TOPIC_OF[kind], 0, offset, ACCOUNT.encode())
        routed = INGEST.route(kind, origin, value, SENT_MS, NOW)
        if routed.refusal is not None:
            letter = _check_output(DEAD_LETTER, routed.value)
            assert letter["error"] == routed.refusal.reason != ""
            assert letter["reason_code"] == routed.refusal.code != "internal_error"
            assert _original_bytes(letter) == value
            dead_letters.append(offset)
            continue
        records.append(
            record_from("inputs", 0, len(records), routed.key, routed.value, routed.headers)
        )

    plan = batch.plan(0, records, NOW) if records else None
    sends = plan.sends if plan else []
    for topic, _key, value in sends:
        message = _check_output(topic, value)
        if topic == DEAD_LETTER:
            assert message["reason_code"] in REASON_CODES
            assert message["reason_code"] != "internal_error", message["error"]
    for key, stored in (plan.states if plan else {}).items():
        _state, applied_offset = state_codec.decode(stored)
        assert applied_offset == max(r.offset for r in records if r.key == key)

    good_ids = {orjson.loads(value).get("event_id") for kind, value, good in stream if good}
    good_ids |= {orjson.loads(value).get("command_id") for kind, value, good in stream if good}
    good_ids.discard(None)
    ledger = [orjson.loads(value) for topic, _key, value in sends if topic == LEDGER]
    # Ids are per account and kind: a call and a command may share one.
    applied = [(entry["account_id"], entry["kind"], entry["source_id"]) for entry in ledger]
    for source in applied:
        assert applied.count(source) == 1, f"{source} applied twice"  # ids are per account
    sources = {source for _account, _kind, source in applied}
    assert good_ids <= sources, "a good message was lost"
    for offset, (_kind, _value, good) in enumerate(stream):
        if good:
            assert offset not in dead_letters


def test_the_size_limit_is_checked_before_parsing() -> None:
    oversized = b'{"pad": "' + b"x" * MAX_MESSAGE_BYTES + b'"}'
    routed = INGEST.route(
        "call-usage", Origin(TOPIC_OF["call-usage"], 0, 0, None), oversized, SENT_MS, NOW
    )
    assert routed.refusal.reason == f"message is {len(oversized)} bytes, above the limit of 65536"
