"""Dead letters keep the original bytes and say where they came from and why."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import orjson

from streams.wire.dead_letter import dead_letter
from streams.wire.schemas import Validators

NOW = datetime(2026, 11, 24, 10, 0, 1, tzinfo=UTC)
VALIDATORS = Validators()


def _letter(key: bytes | None, payload: bytes | None) -> dict:
    message = orjson.loads(
        dead_letter(
            topic="usage.call-minutes",
            partition=3,
            offset=1041,
            key=key,
            payload=payload,
            error="duration_seconds: -5 is less than the minimum of 0",
            received_at=NOW,
        )
    )
    VALIDATORS.check("dead-letter", message)
    return message


def test_text_payload_is_kept_as_text() -> None:
    message = _letter(b"contoso", b'{"event_id": "c-1"}')
    assert message["payload"] == '{"event_id": "c-1"}'
    assert message["key"] == "contoso"
    assert (message["topic"], message["partition"], message["offset"]) == (
        "usage.call-minutes",
        3,
        1041,
    )
    assert message["received_at"] == "2026-11-24T10:00:01.000000Z"
    assert "payload_encoding" not in message


def test_bytes_that_are_not_utf8_are_kept_as_base64() -> None:
    message = _letter(b"\xff\x00", b"\xff\xfe\x00binary")
    assert message["payload_encoding"] == "base64"
    assert base64.b64decode(message["payload"]) == b"\xff\xfe\x00binary"
    assert message["key_encoding"] == "base64"
    assert base64.b64decode(message["key"]) == b"\xff\x00"


def test_no_key_and_no_value() -> None:
    message = _letter(None, None)
    assert message["key"] is None
    assert message["payload"] == ""
