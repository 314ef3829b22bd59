"""Dead letters keep the original bytes, say where they came from and why, and always fit."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.wire.dead_letter import MAX_KEY_BYTES, DeadLetters
from streams.wire.schemas import Validators

NOW = datetime(2026, 11, 24, 10, 0, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Where:
    """A letter's source, as the stages pass their Origin."""

    topic: str
    partition: int
    offset: int
    key: bytes | None


VALIDATORS = Validators()
SMALLEST = 32_768  # the least STREAMS_DEAD_LETTER_MAX_BYTES accepts


def _write(key: bytes | None, payload: bytes | None, max_bytes: int = 900_000) -> bytes:
    return DeadLetters(max_bytes).letter(
        Where("usage.call-minutes", 3, 1041, key),
        payload,
        "schema",
        "duration_seconds: -5 is less than the minimum of 0",
        NOW,
    )


def _letter(key: bytes | None, payload: bytes | None, max_bytes: int = 900_000) -> dict:
    message = orjson.loads(_write(key, payload, max_bytes))
    VALIDATORS.check("dead-letter", message)
    return message


def _payload(letter: dict) -> bytes:
    if letter.get("payload_encoding") == "base64":
        return base64.b64decode(letter["payload"])
    return letter["payload"].encode()


def test_text_payload_is_kept_as_text() -> None:
    message = _letter(b"contoso", b'{"event_id": "c-1"}')
    assert message["payload"] == '{"event_id": "c-1"}'
    assert message["key"] == "contoso"
    assert (message["topic"], message["partition"], message["offset"]) == (
        "usage.call-minutes",
        3,
        1041,
    )
    assert message["reason_code"] == "schema"
    assert message["received_at"] == "2026-11-24T10:00:01.000000Z"
    assert "payload_encoding" not in message
    assert "payload_truncated" not in message


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


@pytest.mark.parametrize(
    "payload",
    [
        b"x" * 1_000_000,  # text
        b"\x01" * 1_000_000,  # text that escaping makes six times longer
        b"\xff" * 1_000_000,  # not UTF-8: base64, a third longer
        "\u00e9".encode() * 500_000,  # two-byte characters, cut between their bytes
    ],
)
def test_a_letter_too_large_for_the_topic_keeps_the_payloads_beginning(payload: bytes) -> None:
    written = _write(b"contoso", payload)
    letter = _letter(b"contoso", payload)
    assert len(written) <= 900_000
    assert len(written) > 900_000 - 16  # as much as fits
    assert letter["payload_truncated"] is True
    assert letter["payload_bytes"] == len(payload)
    assert letter["payload_sha256"] == hashlib.sha256(payload).hexdigest()
    assert payload.startswith(_payload(letter))


def test_a_long_key_is_cut_and_said_to_be() -> None:
    letter = _letter(b"k" * 5000, b"{}")
    assert letter["key"] == "k" * MAX_KEY_BYTES
    assert letter["key_truncated"] is True


def test_a_long_error_is_cut() -> None:
    letter = orjson.loads(
        DeadLetters().letter(Where("t", 0, 0, None), b"{}", "internal_error", "E" * 10_000, NOW)
    )
    assert letter["error"] == "E" * 1000 + "..."


@settings(max_examples=200, deadline=None)
@given(
    key=st.none() | st.binary(max_size=3000),
    payload=st.binary(max_size=60_000) | st.text(max_size=20_000).map(str.encode),
    max_bytes=st.sampled_from([SMALLEST, 40_000, 900_000]),
)
def test_every_letter_fits_and_is_valid(key: bytes | None, payload: bytes, max_bytes: int) -> None:
    written = _write(key, payload, max_bytes)
    assert len(written) <= max_bytes
    letter = orjson.loads(written)
    VALIDATORS.check("dead-letter", letter)
    if letter.get("payload_truncated"):
        assert payload.startswith(_payload(letter))
    else:
        assert _payload(letter) == payload
