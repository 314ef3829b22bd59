"""``streams tail``: each message on one line of printable text, whatever its bytes."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from streams.cli import main
from streams.cli.tail import format_record, real_topic
from streams.settings import Settings

AT = 1_795_857_601_123  # 2026-11-28T09:20:01.123Z


def test_a_json_message_is_shown_compact_with_where_and_when() -> None:
    value = b'{\n  "entry_id": "contoso:42",\n  "amount": "-0.6000",\n  "seq": 42\n}'
    line = format_record(3, 1041, AT, b"contoso", value)
    assert line == (
        '3@1041 2026-11-28T09:20:01.123Z contoso {"entry_id":"contoso:42","amount":"-0.6000",'
        '"seq":42}'
    )


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        (None, "-"),
        (b"org-1", "org-1"),
        ("ås".encode(), "ås"),
        (b"two words", '"two words"'),
        (b"-", '"-"'),
        (b"", '""'),
        (b"bell\x07", '"bell\\u0007"'),
        (b"\xff\x00", "base64:/wA="),
    ],
)
def test_a_key_is_shown_as_it_is_or_quoted_when_it_would_mislead(
    key: bytes | None, shown: str
) -> None:
    assert format_record(0, 0, AT, key, b"{}").split(" ")[2:] == [*shown.split(" "), "{}"]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "(no value)"),
        (b"hello\n\x1b[31mred", '(not JSON) "hello\\n\\u001b[31mred"'),
        (b'{"a": "\\u001b"}', '{"a":"\\u001b"}'),
        (b"\xff\xfe", "(not UTF-8, 2 bytes) base64://4="),
        (b"12", "12"),
    ],
)
def test_a_value_that_is_not_json_is_shown_safely(value: bytes | None, shown: str) -> None:
    line = format_record(0, 7, AT, b"k", value)
    assert line == f"0@7 2026-11-28T09:20:01.123Z k {shown}"
    assert line.isprintable()


def test_contract_topics_get_the_prefix_and_others_are_taken_as_they_are() -> None:
    settings = Settings(topic_prefix="staging.")
    assert real_topic(settings, "credits.ledger") == "staging.credits.ledger"
    assert real_topic(settings, "usage.call-minutes") == "staging.usage.call-minutes"
    assert real_topic(settings, "credits-metering-account-inputs") == (
        "credits-metering-account-inputs"
    )


def test_an_unreachable_broker_is_one_error_line() -> None:
    result = CliRunner().invoke(
        main, ["tail", "credits.ledger"], env={"STREAMS_BROKER": "kafka://127.0.0.1:1"}
    )
    assert result.exit_code == 1
    assert result.stderr.splitlines() == ["Error: cannot connect to Kafka at kafka://127.0.0.1:1"]
