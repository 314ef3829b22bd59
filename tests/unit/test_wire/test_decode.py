"""Decoding inputs: valid messages become domain inputs, anything else a readable reason."""

from __future__ import annotations

import orjson
import pytest

from streams.domain import AddFunds, CallUsage, ConfigureAutoRecharge, RechargeResult
from streams.domain.dedupe import id_of
from streams.wire.decode import MAX_MESSAGE_BYTES, TO_DOMAIN, Decoder
from streams.wire.errors import InvalidMessage
from streams.wire.schemas import Validators

CALL = {
    "event_id": "c-8f1e",
    "account_id": "contoso",
    "user_id": "alice@contoso.com",
    "occurred_at": "2026-11-24T10:00:00Z",
    "call_type": "domestic",
    "direction": "outbound",
    "country": "NO",
    "duration_seconds": 125,
}
# The Kafka time of the messages: 2026-11-24T12:00:00Z.
SENT_MS = 1_795_521_600_000


@pytest.fixture(scope="module")
def decoder() -> Decoder:
    return Decoder(Validators())


def test_a_valid_call_becomes_a_call_usage(decoder: Decoder) -> None:
    message = decoder.message("call-usage", orjson.dumps(CALL), SENT_MS)
    usage = TO_DOMAIN["call-usage"](message)
    assert usage == CallUsage(
        "c-8f1e", "contoso", "2026-11-24T10:00:00Z", "domestic", "outbound", "NO", 125
    )
    assert id_of(usage) == ("event_id", "c-8f1e")


def test_a_whole_number_float_duration_becomes_an_int(decoder: Decoder) -> None:
    message = decoder.message(
        "call-usage", orjson.dumps({**CALL, "duration_seconds": 12.0}), SENT_MS
    )
    usage = TO_DOMAIN["call-usage"](message)
    assert usage.duration_seconds == 12
    assert type(usage.duration_seconds) is int


def test_money_is_parsed_to_exact_micros(decoder: Decoder) -> None:
    funds = {
        "command_id": "cmd-1",
        "account_id": "contoso",
        "type": "add_funds",
        "amount": "50.000001",
        "currency": "USD",
        "issued_at": "2026-11-24T09:00:00Z",
    }
    command = TO_DOMAIN["command"](decoder.message("command", orjson.dumps(funds), SENT_MS))
    assert command == AddFunds("cmd-1", "contoso", "2026-11-24T09:00:00Z", 50_000_001, "USD")


def test_configure_and_results_decode(decoder: Decoder) -> None:
    configure = {
        "command_id": "cmd-2",
        "account_id": "contoso",
        "type": "configure_auto_recharge",
        "enabled": True,
        "recharge_amount": "100.00",
        "trigger_balance": "20.00",
        "currency": "USD",
        "issued_at": "2026-11-24T09:01:00Z",
    }
    command = TO_DOMAIN["command"](decoder.message("command", orjson.dumps(configure), SENT_MS))
    assert isinstance(command, ConfigureAutoRecharge)
    assert (command.recharge_amount, command.trigger_balance) == (100_000_000, 20_000_000)
    result = {
        "request_id": "contoso:rr:3",
        "account_id": "contoso",
        "status": "failed",
        "reason": "card declined",
        "amount": "100.00",
        "currency": "USD",
        "completed_at": "2026-11-24T10:06:00Z",
    }
    decoded = TO_DOMAIN["recharge-result"](
        decoder.message("recharge-result", orjson.dumps(result), SENT_MS)
    )
    assert isinstance(decoded, RechargeResult)
    assert (decoded.succeeded, decoded.reason) == (False, "card declined")
    assert id_of(decoded) == ("request_id", "contoso:rr:3")


@pytest.mark.parametrize(
    ("kind", "payload", "reason"),
    [
        ("call-usage", None, "empty message"),
        ("call-usage", b'{"event_id": "x", "acc', "not valid JSON"),
        ("call-usage", b"[1, 2]", "expected a JSON object, got list"),
        ("call-usage", b"\xff\xfe", "not UTF-8 text (byte 0 is 0xff)"),
        ("call-usage", orjson.dumps({**CALL, "duration_seconds": -5}), "duration_seconds: -5"),
        ("call-usage", orjson.dumps({**CALL, "duration_seconds": 86_401}), "86401"),
        ("call-usage", orjson.dumps({**CALL, "call_type": "premium"}), "call_type"),
        ("call-usage", orjson.dumps({**CALL, "occurred_at": "2026-02-30T00:00:00Z"}), "date"),
        ("command", orjson.dumps({"type": "refund", "account_id": "a"}), "'refund' is not one"),
        ("call-usage", b"[" * 5000 + b"]" * 5000, "not valid JSON"),
    ],
)
def test_bad_input_gets_a_reason(
    decoder: Decoder, kind: str, payload: bytes | None, reason: str
) -> None:
    with pytest.raises(InvalidMessage) as raised:
        decoder.message(kind, payload, SENT_MS)
    assert reason in str(raised.value)


def test_oversized_messages_are_refused_before_parsing(decoder: Decoder) -> None:
    huge = orjson.dumps({**CALL, "user_id": "x" * MAX_MESSAGE_BYTES})
    with pytest.raises(InvalidMessage, match=f"above the limit of {MAX_MESSAGE_BYTES}"):
        decoder.message("call-usage", huge, SENT_MS)


@pytest.mark.parametrize(
    ("occurred_at", "valid"),
    [
        ("0001-01-01T00:00:00Z", False),  # Go's zero time
        ("1999-12-31T23:59:59.999Z", False),
        ("2000-01-01T00:00:00Z", True),
        ("2026-11-25T12:00:00Z", True),  # a day past the Kafka time, to the second
        ("2026-11-25T12:00:00.999Z", True),
        ("2026-11-25T12:00:01Z", False),
        ("9999-12-31T23:00:00Z", False),
    ],
)
def test_an_input_time_lies_between_2000_and_a_day_past_its_kafka_time(
    decoder: Decoder, occurred_at: str, valid: bool
) -> None:
    payload = orjson.dumps({**CALL, "occurred_at": occurred_at})
    if valid:
        assert decoder.message("call-usage", payload, SENT_MS)["occurred_at"] == occurred_at
        return
    with pytest.raises(InvalidMessage) as raised:
        decoder.message("call-usage", payload, SENT_MS)
    assert raised.value.code == "time_out_of_range"
    assert str(raised.value) == (
        f"occurred_at: {occurred_at} is not between 2000-01-01T00:00:00Z and "
        "2026-11-25T12:00:00Z (24 hours after the message's Kafka time)"
    )


def test_every_kind_checks_the_time_it_carries(decoder: Decoder) -> None:
    result = {
        "request_id": "contoso:rr:3",
        "account_id": "contoso",
        "status": "succeeded",
        "amount": "100.00",
        "currency": "USD",
        "completed_at": "1970-01-01T00:00:00Z",
    }
    with pytest.raises(InvalidMessage, match=r"^completed_at: 1970"):
        decoder.message("recharge-result", orjson.dumps(result), SENT_MS)
    funds = {**result, "command_id": "f", "type": "add_funds", "issued_at": "1970-01-01T00:00:00Z"}
    with pytest.raises(InvalidMessage, match=r"^issued_at: 1970"):
        decoder.message("command", orjson.dumps(funds), SENT_MS)


def test_another_kinds_id_field_is_an_extra_property(decoder: Decoder) -> None:
    funds = {
        "command_id": "cmd-1",
        "account_id": "contoso",
        "type": "add_funds",
        "amount": "5.00",
        "currency": "USD",
        "issued_at": "2026-11-24T09:00:00Z",
        "event_id": 5,
        "request_id": ["x"],
    }
    command = TO_DOMAIN["command"](decoder.message("command", orjson.dumps(funds), SENT_MS))
    assert id_of(command) == ("command_id", "cmd-1")


@pytest.mark.parametrize("field", ["event_id", "account_id"])
@pytest.mark.parametrize("value", [5, None, ["c-1"], {"id": "c-1"}, True, ""])
def test_ids_are_strings(decoder: Decoder, field: str, value: object) -> None:
    with pytest.raises(InvalidMessage) as raised:
        decoder.message("call-usage", orjson.dumps({**CALL, field: value}), SENT_MS)
    assert raised.value.code == "schema"
    assert str(raised.value).startswith(f"{field}: ")
