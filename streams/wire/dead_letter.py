"""A dead letter: the untouched input, where it came from, and why it was not applied.

A letter always fits the dead-letter topic: when the original bytes would make it larger
than ``max_bytes``, it holds their beginning, their size and their sha256.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import orjson

# The contract's reason codes, one per kind of problem.
REASON_CODES = (
    "malformed",
    "schema",
    "no_rate",
    "currency_mismatch",
    "not_positive",
    "unknown_request",
    "settled_request",
    "conflicting_duplicate",
    "time_out_of_range",
    "balance_limit",
    "too_late",
    "internal_error",
)
INTERNAL_ERROR = "internal_error"
DEFAULT_MAX_BYTES = 900_000
# A key is shown up to this many bytes (an account id is at most 100 characters).
MAX_KEY_BYTES = 1024
# The error is for people: its first characters say it.
MAX_ERROR_CHARS = 1000


class Source(Protocol):
    """Where an input was read: its topic, partition, offset and Kafka key."""

    topic: str
    partition: int
    offset: int
    key: bytes | None


@dataclass(frozen=True, slots=True)
class DeadLetters:
    """Writes letters of at most ``max_bytes`` (STREAMS_DEAD_LETTER_MAX_BYTES)."""

    max_bytes: int = DEFAULT_MAX_BYTES

    def letter(
        self,
        source: Source,
        payload: bytes | None,
        code: str,
        error: str,
        received_at: datetime,
    ) -> bytes:
        """The letter of the input ``payload`` read at ``source``, refused for ``error``."""
        if len(error) > MAX_ERROR_CHARS:
            error = error[:MAX_ERROR_CHARS] + "..."
        message: dict[str, object] = {
            "topic": source.topic,
            "partition": source.partition,
            "offset": source.offset,
            "key": None,
            "payload": "",
            "error": error,
            "reason_code": code,
            "received_at": received_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        if source.key is not None:
            _put_key(message, source.key)
        if not payload:
            return orjson.dumps(message)
        text, utf8 = _text(payload)
        message["payload"] = text
        if not utf8:
            message["payload_encoding"] = "base64"
        letter = orjson.dumps(message)
        if len(letter) <= self.max_bytes:
            return letter
        return self._truncated(message, payload, utf8)

    def _truncated(self, message: dict[str, object], payload: bytes, utf8: bool) -> bytes:
        """The letter with as much of the payload's beginning as fits."""
        message["payload"] = ""
        message["payload_truncated"] = True
        message["payload_bytes"] = len(payload)
        message["payload_sha256"] = hashlib.sha256(payload).hexdigest()
        room = max(0, self.max_bytes - len(orjson.dumps(message)))
        keep = room if utf8 else room * 3 // 4
        while True:  # escaping may make the text longer than its bytes: shrink to fit
            text = _prefix_text(payload[:keep], utf8)
            size = len(orjson.dumps(text)) - 2  # without the quotes
            if size <= room or keep == 0:
                break
            keep = min(keep - 1, keep * room // size)
        message["payload"] = text
        return orjson.dumps(message)


def _put_key(message: dict[str, object], key: bytes) -> None:
    utf8 = _text(key)[1]
    message["key"] = _prefix_text(key[:MAX_KEY_BYTES], utf8)
    if not utf8:
        message["key_encoding"] = "base64"
    if len(key) > MAX_KEY_BYTES:
        message["key_truncated"] = True


def _text(data: bytes) -> tuple[str, bool]:
    """The bytes as text if they are UTF-8, else as base64; and which."""
    try:
        return data.decode(), True
    except UnicodeDecodeError:
        return base64.b64encode(data).decode(), False


def _prefix_text(prefix: bytes, utf8: bool) -> str:
    # A prefix of UTF-8 text may end inside a character: that character is left out.
    return prefix.decode(errors="ignore") if utf8 else base64.b64encode(prefix).decode()


def describe_defect(error: BaseException) -> str:
    """The error of an ``internal_error`` letter: the exception's type and message."""
    return f"{type(error).__name__}: {error}"
