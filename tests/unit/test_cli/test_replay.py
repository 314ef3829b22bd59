"""``streams replay``: lines checked as the worker checks inputs, a readable report, and
one error line for what stops it before Kafka."""

from __future__ import annotations

from pathlib import Path

import click
import orjson
import pytest
from click.testing import CliRunner

from streams.cli import main
from streams.cli.publish import send_offset
from streams.cli.replay import (
    Line,
    Skipped,
    check_lines,
    input_kind,
    skipped_report,
)
from streams.wire.decode import Decoder
from streams.wire.schemas import Validators

CALL = {
    "event_id": "c-1",
    "account_id": "contoso",
    "occurred_at": "2026-11-24T10:00:00Z",
    "call_type": "domestic",
    "direction": "outbound",
    "country": "NO",
    "duration_seconds": 125,
}
FUNDS = {
    "command_id": "cmd-1",
    "account_id": "fabrikam",
    "type": "add_funds",
    "amount": "50.00",
    "currency": "USD",
    "issued_at": "2026-11-24T09:00:00Z",
}
NOW_MS = 1_795_521_600_000  # 2026-11-24T12:00:00Z


@pytest.fixture(scope="module")
def decoder() -> Decoder:
    return Decoder(Validators())


def test_each_input_topic_has_its_kind() -> None:
    assert input_kind("usage.call-minutes") == "call-usage"
    assert input_kind("credits.commands") == "command"


def test_another_topic_is_refused_naming_the_input_topics() -> None:
    with pytest.raises(click.ClickException) as raised:
        input_kind("credits.ledger")
    assert raised.value.message == (
        "'credits.ledger' is not an input topic of the contract: use one of "
        "usage.call-minutes, usage.conference-minutes, credits.commands, "
        "billing.recharge-results"
    )


def test_good_lines_are_kept_as_they_are_keyed_by_account(decoder: Decoder) -> None:
    spaced = orjson.dumps({**CALL, "account_id": "ås-org"}, option=orjson.OPT_INDENT_2)
    spaced = spaced.replace(b"\n", b" ")  # one line, with spaces the sender chose
    lines = [orjson.dumps(CALL), spaced]

    checked = check_lines(decoder, "call-usage", lines, NOW_MS)

    assert checked.skipped == []
    assert checked.good == [
        Line(1, b"contoso", lines[0]),
        Line(2, "ås-org".encode(), spaced),
    ]


def test_bad_lines_are_skipped_with_the_reason_and_their_number(decoder: Decoder) -> None:
    lines = [
        orjson.dumps(CALL),
        b"not json",
        b"",
        orjson.dumps({**CALL, "duration_seconds": -5}),
        b"   ",
        orjson.dumps(FUNDS),  # a command, not a call
        orjson.dumps([CALL]),
        orjson.dumps({**CALL, "event_id": "c-9"}),
        orjson.dumps({**CALL, "occurred_at": "0001-01-01T00:00:00Z"}),
    ]

    checked = check_lines(decoder, "call-usage", lines, NOW_MS)

    assert [line.number for line in checked.good] == [1, 8]
    assert [skipped.number for skipped in checked.skipped] == [2, 4, 6, 7, 9]
    reasons = [skipped.reason for skipped in checked.skipped]
    assert reasons[0].startswith("not valid JSON")
    assert reasons[1] == "duration_seconds: -5 is less than the minimum of 0"
    assert reasons[3] == "expected a JSON object, got list"
    assert reasons[4].startswith("occurred_at: 0001-01-01T00:00:00Z is not between 2000")


def test_commands_are_checked_by_their_type(decoder: Decoder) -> None:
    lines = [
        orjson.dumps(FUNDS),
        orjson.dumps({**FUNDS, "type": "refund"}),
        orjson.dumps({**FUNDS, "amount": 5}),
    ]
    checked = check_lines(decoder, "command", lines, NOW_MS)
    assert [line.key for line in checked.good] == [b"fabrikam"]
    assert [skipped.reason for skipped in checked.skipped] == [
        "type: 'refund' is not one of 'add_funds', 'configure_auto_recharge', 'cancel_recharge'",
        'amount: 5 is not of type "string"',
    ]


def test_the_report_counts_and_lists_the_first_few() -> None:
    skipped = [Skipped(n, f"reason {n}") for n in range(2, 9)]
    assert skipped_report(skipped, shown=3) == [
        "skipped 7 invalid lines:",
        "  line 2: reason 2",
        "  line 3: reason 3",
        "  line 4: reason 4",
        "  ... and 4 more",
    ]
    assert skipped_report([Skipped(5, "bad")]) == ["skipped 1 invalid line:", "  line 5: bad"]
    assert skipped_report([]) == []


def test_messages_are_spaced_by_the_rate() -> None:
    assert [send_offset(n, 4) for n in range(3)] == [0.0, 0.25, 0.5]
    assert send_offset(1000, None) == 0.0


def _replay(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, ["replay", *args], env=env)


def test_a_missing_file_is_one_error_line(tmp_path: Path) -> None:
    result = _replay(str(tmp_path / "nope.jsonl"), "--topic", "usage.call-minutes")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"Error: cannot read {tmp_path / 'nope.jsonl'}: No such file or directory"
    ]


def test_a_file_without_a_valid_line_sends_nothing(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"{}\n")
    # No broker at all: nothing may be sent, so nothing connects.
    result = _replay(
        str(path), "--topic", "usage.call-minutes", env={"STREAMS_BROKER": "kafka://nowhere:1"}
    )
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == "skipped 1 invalid line:"
    assert result.stderr.splitlines() == [f"Error: no valid message in {path}: nothing sent"]


def test_lines_are_read_from_stdin_with_a_dash() -> None:
    result = CliRunner().invoke(
        main, ["replay", "-", "--topic", "usage.call-minutes"], input="[]\n"
    )
    assert result.stdout.splitlines() == [
        "skipped 1 invalid line:",
        "  line 1: expected a JSON object, got list",
    ]
    assert result.stderr.splitlines() == ["Error: no valid message in -: nothing sent"]


def test_an_unreachable_broker_is_one_error_line(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    path.write_bytes(orjson.dumps(CALL) + b"\n")
    result = _replay(
        str(path), "--topic", "usage.call-minutes", env={"STREAMS_BROKER": "kafka://127.0.0.1:1"}
    )
    assert result.exit_code == 1
    assert result.stderr.splitlines() == ["Error: cannot connect to Kafka at kafka://127.0.0.1:1"]
