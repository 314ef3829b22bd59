"""Stage 1: decode and validate every input, dead-letter the bad, route the good by account.

Valid messages are forwarded byte for byte to the account-inputs topic, keyed by their
``account_id``, so all inputs of an account, whatever topic and key they arrived with,
form one ordered log on one partition. Headers carry the message kind and its origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from streams.pipeline.records import Headers, Origin, forward_headers
from streams.wire.dead_letter import dead_letter
from streams.wire.decode import Decoder
from streams.wire.errors import InvalidMessage


@dataclass(frozen=True, slots=True)
class Routed:
    """Where an input goes next: the account-inputs topic, or (with a reason) the dead letter."""

    key: bytes
    value: bytes
    headers: Headers
    reason: str | None = None
    code: str | None = None  # the reason's kind, for counting: "malformed" or "schema"


def route(
    decoder: Decoder, kind: str, origin: Origin, value: bytes | None, now: datetime
) -> Routed:
    try:
        message = decoder.message(kind, value)
    except InvalidMessage as error:
        letter = dead_letter(
            topic=origin.topic,
            partition=origin.partition,
            offset=origin.offset,
            key=origin.key,
            payload=value,
            error=str(error),
            received_at=now,
        )
        return Routed(origin.key or b"", letter, [], reason=str(error), code=error.code)
    return Routed(message["account_id"].encode(), value, forward_headers(kind, origin))
