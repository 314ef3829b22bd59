"""The rate card is checked before a worker starts; a bad one is refused with the reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from streams.domain import RateCardError
from streams.wire.rate_card import DEFAULT_RATE_CARD, load_rate_card
from streams.wire.schemas import Validators

VALIDATORS = Validators()
ROW = {
    "service": "call",
    "kind": "domestic",
    "country": "*",
    "currency": "USD",
    "per_minute": "0.0200",
    "increment_seconds": 60,
}


def _card(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "card.json"
    path.write_bytes(content)
    return path


def test_the_shipped_card_loads() -> None:
    card = load_rate_card(None, VALIDATORS)
    rate = card.find("call", "international", "GB", "USD", "outbound")
    assert rate is not None
    assert rate.per_minute == 110_000
    assert DEFAULT_RATE_CARD.is_file()


def test_a_card_file_replaces_the_shipped_one(tmp_path: Path) -> None:
    path = _card(tmp_path, orjson.dumps({"rates": [ROW]}))
    card = load_rate_card(path, VALIDATORS)
    assert card.find("call", "international", "GB", "USD", "outbound") is None
    assert card.find("call", "domestic", "NO", "USD", "outbound") is not None


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (orjson.dumps({"rates": []}), "rates"),
        (orjson.dumps({"rates": [{**ROW, "per_minute": 0.02}]}), "per_minute"),
        (orjson.dumps({"rates": [{**ROW, "increment_seconds": 0}]}), "increment_seconds"),
        (orjson.dumps({"rates": [ROW, ROW]}), "1"),
    ],
)
def test_a_bad_card_is_refused_with_the_reason(tmp_path: Path, content: bytes, reason: str) -> None:
    path = _card(tmp_path, content)
    with pytest.raises(RateCardError) as raised:
        load_rate_card(path, VALIDATORS)
    assert str(path) in str(raised.value)
    assert reason in str(raised.value)


def test_a_missing_card_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RateCardError, match="cannot read it"):
        load_rate_card(tmp_path / "nowhere.json", VALIDATORS)


def test_the_worker_refuses_to_start_with_a_bad_card(tmp_path: Path) -> None:
    path = _card(tmp_path, orjson.dumps({"rates": [{**ROW, "currency": "usd"}]}))
    done = subprocess.run(
        [sys.executable, "-m", "streams", "worker"],
        env={"STREAMS_RATE_CARD": str(path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("Error: rate card")
    assert "currency" in line
