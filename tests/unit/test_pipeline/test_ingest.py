"""Ingest routes each message on its own: a defect or an odd key stays with its message."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from streams.pipeline.ingest import Ingest
from streams.pipeline.records import Origin
from streams.wire.dead_letter import DeadLetters
from streams.wire.decode import Decoder, Message
from streams.wire.schemas import Validators

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
HOUR_MS = 3_600_000
VALIDATORS = Validators()
ORIGIN = Origin("usage.call-minutes", 1, 77, b"contoso")


def call(**fields: object) -> bytes:
    message = {
        "event_id": "c-1",
        "account_id": "contoso",
        "occurred_at": "2026-11-24T10:00:00Z",
        "call_type": "domestic",
        "direction": "outbound",
        "country": "NO",
        "duration_seconds": 125,
    }
    return orjson.dumps({**message, **fields})


class FaultyDecoder(Decoder):
    """A defect met by one message alone."""

    def message(self, kind: str, payload: bytes | None, reference_ms: int) -> Message:
        if payload is not None and b"c-bad" in payload:
            raise RecursionError("injected fault")
        return super().message(kind, payload, reference_ms)


def letter(routed) -> dict:
    message = orjson.loads(routed.value)
    VALIDATORS.check("dead-letter", message)
    return message


def test_a_defect_dead_letters_its_message_only() -> None:
    ingest = Ingest(FaultyDecoder(VALIDATORS), DeadLetters())
    bad = ingest.route("call-usage", ORIGIN, call(event_id="c-bad"), NOW_MS, NOW)
    assert (bad.refusal.code, bad.refusal.reason) == (
        "internal_error",
        "RecursionError: injected fault",
    )
    assert letter(bad)["payload"] == call(event_id="c-bad").decode()
    good = ingest.route("call-usage", ORIGIN, call(), NOW_MS, NOW)
    assert (good.key, good.value, good.refusal) == (b"contoso", call(), None)


def test_a_key_longer_than_any_account_id_is_malformed() -> None:
    ingest = Ingest(Decoder(VALIDATORS), DeadLetters())
    origin = Origin("usage.call-minutes", 1, 77, b"k" * 2000)
    routed = ingest.route("call-usage", origin, call(), NOW_MS, NOW)
    assert (routed.refusal.code, routed.refusal.reason) == (
        "malformed",
        "key is 2000 bytes, above the limit of 1024",
    )
    assert len(routed.key) == 1024  # the letter's own Kafka key stays small
    assert letter(routed)["key_truncated"] is True


def test_times_are_checked_against_the_kafka_time_but_never_past_now() -> None:
    ingest = Ingest(Decoder(VALIDATORS), DeadLetters())
    tomorrow = call(occurred_at="2026-11-25T11:00:00Z")
    assert ingest.route("call-usage", ORIGIN, tomorrow, NOW_MS, NOW).refusal is None
    # Sent two hours ago: 23 hours past its Kafka time is too far.
    assert ingest.route("call-usage", ORIGIN, tomorrow, NOW_MS - 2 * HOUR_MS, NOW).refusal.code == (
        "time_out_of_range"
    )
    # A Kafka time far ahead (a forged timestamp) counts as now.
    far = call(occurred_at="2030-01-01T00:00:00Z")
    assert (
        ingest.route("call-usage", ORIGIN, far, NOW_MS * 2, NOW).refusal.code == "time_out_of_range"
    )
    # No Kafka time: now.
    assert ingest.route("call-usage", ORIGIN, tomorrow, -1, NOW).refusal is None
