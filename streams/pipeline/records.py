"""An input on its way through the pipeline: the account-inputs record and its origin."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import orjson

Headers = list[tuple[str, bytes]]
UNKNOWN_KIND = ""  # of a record whose headers ingest did not write


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an input first arrived, for its dead letter."""

    topic: str
    partition: int
    offset: int
    key: bytes | None


@dataclass(frozen=True, slots=True)
class Record:
    """One validated input as it sits in the account-inputs topic."""

    key: bytes  # the account id
    value: bytes  # the original message bytes, already validated by ingest
    offset: int  # position in its account-inputs partition
    kind: str  # "call-usage", "conference-usage", "command" or "recharge-result"
    origin: Origin


def forward_headers(kind: str, origin: Origin) -> Headers:
    headers = [
        ("kind", kind.encode()),
        ("origin", orjson.dumps([origin.topic, origin.partition, origin.offset])),
    ]
    if origin.key is not None:
        headers.append(("origin-key", origin.key))
    return headers


def record_from(
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    headers: Iterable[tuple[str, bytes]] | Mapping,
) -> Record:
    """Rebuild a record from an account-inputs message.

    One that ingest did not write (its headers are not ingest's) gets no kind: the
    accounts stage sends it to the dead letter, from where it sits in account-inputs.
    """
    try:
        fields = dict(headers)
        origin_topic, origin_partition, origin_offset = orjson.loads(fields["origin"])
        origin = Origin(origin_topic, origin_partition, origin_offset, fields.get("origin-key"))
        return Record(key or b"", value or b"", offset, fields["kind"].decode(), origin)
    except Exception:
        return Record(
            key or b"", value or b"", offset, UNKNOWN_KIND, Origin(topic, partition, offset, key)
        )
