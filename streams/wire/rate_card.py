"""Load the rate card: the file STREAMS_RATE_CARD names, or the one shipped in the package."""

from __future__ import annotations

from pathlib import Path

import orjson

from streams.domain import RateCard, RateCardError
from streams.wire.errors import InvalidMessage
from streams.wire.schemas import Validators

DEFAULT_RATE_CARD = Path(__file__).resolve().parents[1] / "default_rate_card.json"


def load_rate_card(path: Path | None, validators: Validators) -> RateCard:
    """Read, validate and build the rate card; RateCardError says what is wrong and where."""
    source = path or DEFAULT_RATE_CARD
    try:
        document = orjson.loads(source.read_bytes())
    except OSError as error:
        raise RateCardError(f"rate card {source}: cannot read it ({error.strerror})") from None
    except orjson.JSONDecodeError as error:
        raise RateCardError(f"rate card {source}: not valid JSON ({error})") from None
    try:
        validators.check("rate-card", document)
        return RateCard.from_rows(document["rates"])
    except (InvalidMessage, RateCardError) as error:
        raise RateCardError(f"rate card {source}: {error}") from None
