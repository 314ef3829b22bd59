"""Stage 1: decode and validate every input, dead-letter the bad, route the good by account.

Valid messages are forwarded byte for byte to the account-inputs topic, keyed by their
``account_id``, so all inputs of an account, whatever topic and key they arrived with,
form one ordered log on one partition. Headers carry the message kind and its origin.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from streams.domain.outputs import Refusal
from streams.pipeline.records import Headers, Origin, forward_headers
from streams.wire.dead_letter import INTERNAL_ERROR, MAX_KEY_BYTES, DeadLetters, describe_defect
from streams.wire.decode import MALFORMED, Decoder
from streams.wire.errors import InvalidMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Routed:
    """Where an input goes next: the account-inputs topic, or (with a reason) the dead letter."""

    key: bytes
    value: bytes  # the input itself, or its dead letter
    headers: Headers
    refusal: Refusal | None = None  # why it goes to the dead letter


class Ingest:
    """Decides, for one message at a time, where it goes; never raises for what it holds."""

    def __init__(self, decoder: Decoder, letters: DeadLetters) -> None:
        self.decoder = decoder
        self.letters = letters

    def route(
        self, kind: str, origin: Origin, value: bytes | None, timestamp_ms: int, now: datetime
    ) -> Routed:
        """``timestamp_ms`` is the message's Kafka time (0 or less: none); ``now`` is when
        it was read."""
        try:
            if origin.key is not None and len(origin.key) > MAX_KEY_BYTES:
                raise InvalidMessage(
                    f"key is {len(origin.key)} bytes, above the limit of {MAX_KEY_BYTES}",
                    MALFORMED,
                )
            message = self.decoder.message(kind, value, _reference_ms(timestamp_ms, now))
            return Routed(message["account_id"].encode(), value, forward_headers(kind, origin))
        except InvalidMessage as error:
            return self._refused(origin, value, error.code, str(error), now)
        except Exception as error:  # a defect, met by this message alone
            log.exception(
                "ingest failed on %s[%d]@%d", origin.topic, origin.partition, origin.offset
            )
            return self._refused(origin, value, INTERNAL_ERROR, describe_defect(error), now)

    def _refused(
        self, origin: Origin, value: bytes | None, code: str, reason: str, now: datetime
    ) -> Routed:
        letter = self.letters.letter(origin, value, code, reason, now)
        return Routed((origin.key or b"")[:MAX_KEY_BYTES], letter, [], Refusal(code, reason))


def _reference_ms(timestamp_ms: int, now: datetime) -> int:
    """The time an input's own time is checked against: its Kafka time, but never later
    than now (a producer's clock, or a forged timestamp, may be far ahead)."""
    now_ms = int(now.timestamp() * 1000)
    return min(timestamp_ms, now_ms) if timestamp_ms > 0 else now_ms
