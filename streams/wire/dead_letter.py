"""A dead letter: the untouched input, where it came from, and why it was not applied."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import orjson


def dead_letter(
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    payload: bytes | None,
    error: str,
    received_at: datetime,
) -> bytes:
    message: dict[str, object] = {
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "key": _text(key),
        "payload": "",
        "error": error,
        "received_at": received_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    if payload:
        try:
            message["payload"] = payload.decode()
        except UnicodeDecodeError:
            message["payload"] = base64.b64encode(payload).decode()
            message["payload_encoding"] = "base64"
    if key is not None and message["key"] is None:
        message["key"] = base64.b64encode(key).decode()
        message["key_encoding"] = "base64"
    return orjson.dumps(message)


def _text(key: bytes | None) -> str | None:
    if key is None:
        return None
    try:
        return key.decode()
    except UnicodeDecodeError:
        return None
