"""Decoding inputs: valid messages become domain inputs, anything else a readable reason."""

from __future__ import annotations

import orjson
import pytest

from streams.domain import AddFunds, CallUsage, ConfigureAutoRecharge, RechargeResult
from streams.wire.decode import MAX_MESSAGE_BYTES, TO_DOMAIN, Decoder, input_id
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


@pytest.fixture(scope="module")
def decoder() -> Decoder:
    return Decoder(Validators())


def test_a_valid_call_becomes_a_call_usage(decoder: Decoder) -> None:
    message = decoder.message("call-usage", orjson.dumps(CALL))
    usage = TO_DOMAIN["call-usage"](message)
    assert usage == CallUsage(
        "c-8f1e", "contoso", "2026-11-24T10:00:00Z", "domestic", "outbound", "NO", 125
    )
    assert input_id(message) == "c-8f1e"


def test_a_whole_number_float_duration_becomes_an_int(decoder: Decoder) -> None:
    message = decoder.message("call-usage", orjson.dumps({**CALL, "duration_seconds": 12.0}))
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
    command = TO_DOMAIN["command"](decoder.message("command", orjson.dumps(funds)))
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
    command = TO_DOMAIN["command"](decoder.message("command", orjson.dumps(configure)))
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
    decoded = TO_DOMAIN["recharge-result"](decoder.message("recharge-result", orjson.dumps(result)))
    assert isinstance(decoded, RechargeResult)
    assert (decoded.succeeded, decoded.reason) == (False, "card declined")
    assert input_id(result) == "contoso:rr:3"


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
        decoder.message(kind, payload)
    assert reason in str(raised.value)


def test_oversized_messages_are_refused_before_parsing(decoder: Decoder) -> None:
    huge = orjson.dumps({**CALL, "user_id": "x" * MAX_MESSAGE_BYTES})
    with pytest.raises(InvalidMessage, match=f"above the limit of {MAX_MESSAGE_BYTES}"):
        decoder.message("call-usage", huge)
