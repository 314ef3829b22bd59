"""The worker's log lines are JSON objects with the fields of the input they are about."""

from __future__ import annotations

import io
import logging
import logging.config

import orjson
import pytest

from streams.domain import RechargeRequested
from streams.observe import logs


@pytest.fixture
def lines(monkeypatch: pytest.MonkeyPatch):
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    saved = logging.root.handlers[:], logging.root.level
    logging.config.dictConfig(logs.logging_config("INFO"))
    yield lambda: [orjson.loads(line) for line in stream.getvalue().splitlines()]
    logging.root.handlers[:], _ = saved
    logging.root.setLevel(saved[1])


def test_a_dead_letter_is_one_line_with_where_it_came_from(lines) -> None:
    logs.dead_letter("usage.call-minutes", 3, 1041, "schema", "duration_seconds: -5 ...", "c")
    (line,) = lines()
    assert line["level"] == "WARNING"
    assert line["message"] == "dead letter: duration_seconds: -5 ..."
    assert line["time"].endswith("+00:00")
    assert {k: line[k] for k in ("topic", "partition", "offset", "reason_code")} == {
        "topic": "usage.call-minutes",
        "partition": 3,
        "offset": 1041,
        "reason_code": "schema",
    }
    assert line["account_id"] == "c"


def test_a_recharge_request_is_one_line_with_amounts_as_strings(lines) -> None:
    request = RechargeRequested(
        "c:rr:3", "c", 100_000_000, "USD", 19_400_000, 20_000_000, "e-1", "2026-11-24T10:00:00Z"
    )
    logs.recharge_requested(request)
    (line,) = lines()
    assert line["message"] == "recharge requested: 100.00 USD for c"
    assert (line["request_id"], line["cause_id"], line["balance"]) == ("c:rr:3", "e-1", "19.40")
