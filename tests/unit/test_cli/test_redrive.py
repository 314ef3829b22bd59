"""Which dead letters `streams redrive` sends back, where, keyed how, and what it says."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from click.testing import CliRunner

from streams.cli import main
from streams.cli.redrive import Filters, Redrive, parse_since
from streams.pipeline.records import Origin
from streams.wire.dead_letter import DeadLetters

INPUTS = {"p.usage.call-minutes", "p.credits.commands"}
DAY_1 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
DAY_2 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def call(account: str, event_id: str) -> bytes:
    return orjson.dumps({"event_id": event_id, "account_id": account, "country": "ZA"})


def letter(
    payload: bytes,
    code: str = "no_rate",
    *,
    topic: str = "p.usage.call-minutes",
    key: bytes | None = b"whatever",
    at: datetime = DAY_1,
    max_bytes: int = 900_000,
) -> bytes:
    return DeadLetters(max_bytes).letter(Origin(topic, 0, 1, key), payload, code, "no rate", at)


def plan(letters: list[bytes | None], filters: Filters) -> Redrive:
    redrive = Redrive()
    for value in letters:
        redrive.take(value, filters, INPUTS)
    return redrive


def test_matching_letters_go_back_to_their_topic_keyed_by_account() -> None:
    letters = [
        letter(call("contoso", "c-1")),
        letter(call("fabrikam", "c-2"), key=None),
        letter(call("contoso", "c-3"), "currency_mismatch"),
        letter(b"\xff\xfe not text", "malformed", key=b"raw-key"),
        None,  # not a letter at all
        b"not json",
    ]
    everything = plan(letters, Filters())
    assert everything.sends == [
        ("p.usage.call-minutes", b"contoso", call("contoso", "c-1")),
        ("p.usage.call-minutes", b"fabrikam", call("fabrikam", "c-2")),
        ("p.usage.call-minutes", b"contoso", call("contoso", "c-3")),
        ("p.usage.call-minutes", b"raw-key", b"\xff\xfe not text"),
    ]
    no_rate = plan(letters, Filters(reason="no_rate"))
    assert [value for _, _, value in no_rate.sends] == [
        call("contoso", "c-1"),
        call("fabrikam", "c-2"),
    ]
    contoso = plan(letters, Filters(account="contoso"))
    assert [value for _, _, value in contoso.sends] == [
        call("contoso", "c-1"),
        call("contoso", "c-3"),
    ]


def test_since_is_the_time_the_letter_was_received() -> None:
    letters = [letter(call("a", "1"), at=DAY_1), letter(call("a", "2"), at=DAY_2)]
    later = plan(letters, Filters(since=datetime(2026, 11, 25, tzinfo=UTC)))
    assert [value for _, _, value in later.sends] == [call("a", "2")]


def test_truncated_letters_and_other_topics_are_counted_not_sent() -> None:
    letters = [
        letter(b'{"account_id": "a", "pad": "' + b"x" * 50_000 + b'"}', max_bytes=32_768),
        letter(call("a", "1"), "internal_error", topic="metering-account-inputs"),
        letter(call("a", "2")),
    ]
    redrive = plan(letters, Filters())
    assert len(redrive.sends) == 1
    assert redrive.summary(Filters(), sent=False, seconds=0) == (
        "would redrive 1 of 3 matching dead letters (any): 1 to p.usage.call-minutes; "
        "skipped 2 (1 not from an input topic, 1 truncated: only the beginning was kept)"
    )
    assert redrive.summary(Filters(reason="no_rate"), sent=True, seconds=0.5) == (
        "redrove 1 of 3 matching dead letters (reason no_rate) in 0.50 s: "
        "1 to p.usage.call-minutes; skipped 2 (1 not from an input topic, "
        "1 truncated: only the beginning was kept)"
    )
    assert Redrive().summary(Filters(account="x"), sent=True, seconds=0) == (
        "no dead letter matches (account x): nothing sent"
    )


def test_since_takes_rfc_3339_with_a_time_zone() -> None:
    assert parse_since("2026-11-24T10:00:00Z") == DAY_1
    assert parse_since(None) is None


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["--reason", "late"],
            "Error: --reason 'late' is not a reason code: use one of malformed, schema, "
            "no_rate, currency_mismatch, not_positive, unknown_request, settled_request, "
            "conflicting_duplicate, time_out_of_range, balance_limit, too_late, internal_error",
        ),
        (
            ["--since", "yesterday"],
            "Error: --since 'yesterday' is not an RFC 3339 time like 2026-11-24T10:00:00Z",
        ),
        (
            ["--since", "2026-11-24T10:00:00"],
            "Error: --since '2026-11-24T10:00:00' is not an RFC 3339 time like "
            "2026-11-24T10:00:00Z",
        ),
    ],
)
def test_a_bad_filter_is_one_line_and_exit_status_2(args: list[str], error: str) -> None:
    result = CliRunner().invoke(main, ["redrive", *args])
    assert result.exit_code == 2
    assert result.output.splitlines() == [error]
