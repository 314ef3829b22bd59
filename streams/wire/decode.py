"""Input bytes -> a validated message -> a domain input, with a reason a person can act on."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from streams.domain import (
    AddFunds,
    CallUsage,
    ConferenceUsage,
    ConfigureAutoRecharge,
    Input,
    RechargeResult,
    parse_money,
    times,
)
from streams.domain.account import MAX_RECHARGES_PER_DAY
from streams.domain.inputs import CancelRecharge, Command
from streams.wire.errors import InvalidMessage
from streams.wire.schemas import Validators

# Larger inputs are refused before parsing: a usage event is a few hundred bytes.
MAX_MESSAGE_BYTES = 64 * 1024
MALFORMED = "malformed"
TIME_OUT_OF_RANGE = "time_out_of_range"

Message = dict[str, Any]

# Message kind -> the field holding the input's time.
TIME_FIELD = {
    "call-usage": "occurred_at",
    "conference-usage": "occurred_at",
    "command": "issued_at",
    "recharge-result": "completed_at",
}


class Decoder:
    """Decodes and validates the messages of each input topic, by kind (``TIME_FIELD``'s
    keys: the kinds of ``streams.pipeline.topics.INPUT_KINDS``)."""

    def __init__(self, validators: Validators) -> None:
        self._validators = validators

    def message(self, kind: str, payload: bytes | None, reference_ms: int) -> Message:
        """The valid message of ``kind`` in ``payload``, or InvalidMessage saying why.

        ``reference_ms`` is the message's Kafka time (ms since the epoch): its own time
        must not lie more than a day past it.
        """
        if payload is None:
            raise InvalidMessage("empty message (no value)", MALFORMED)
        if len(payload) > MAX_MESSAGE_BYTES:
            raise InvalidMessage(
                f"message is {len(payload)} bytes, above the limit of {MAX_MESSAGE_BYTES}",
                MALFORMED,
            )
        try:
            message = orjson.loads(payload)
        except orjson.JSONDecodeError as error:
            raise InvalidMessage(_not_json(payload, error), MALFORMED) from None
        if not isinstance(message, dict):
            raise InvalidMessage(f"expected a JSON object, got {type(message).__name__}", MALFORMED)
        schema = kind if kind != "command" else _command_schema(message)
        self._validators.check(schema, message)
        field = TIME_FIELD[kind]
        if not times.in_range(message[field], reference_ms):
            raise InvalidMessage(
                _out_of_range(field, message[field], reference_ms), TIME_OUT_OF_RANGE
            )
        return message


def _out_of_range(field: str, at: str, reference_ms: int) -> str:
    latest = times.latest(reference_ms // 1000)
    return (
        f"{field}: {at} is not between {times.EARLIEST}Z and {latest}Z "
        "(24 hours after the message's Kafka time)"
    )


def _not_json(payload: bytes, error: orjson.JSONDecodeError) -> str:
    try:
        payload.decode()
    except UnicodeDecodeError as bad:
        return f"not UTF-8 text (byte {bad.start} is 0x{payload[bad.start]:02x})"
    return f"not valid JSON: {error}"


def _command_schema(message: Mapping[str, Any]) -> str:
    command_type = message.get("type")
    if command_type == "add_funds":
        return "add-funds"
    if command_type == "configure_auto_recharge":
        return "configure-auto-recharge"
    if command_type == "cancel_recharge":
        return "cancel-recharge"
    raise InvalidMessage(
        f"type: {command_type!r} is not one of 'add_funds', 'configure_auto_recharge', "
        "'cancel_recharge'"
    )


def _call(m: Message) -> CallUsage:
    return CallUsage(
        m["event_id"],
        m["account_id"],
        m["occurred_at"],
        m["call_type"],
        m["direction"],
        m["country"],
        int(m["duration_seconds"]),  # JSON Schema lets 12.0 pass as an integer
    )


def _conference(m: Message) -> ConferenceUsage:
    return ConferenceUsage(
        m["event_id"],
        m["account_id"],
        m["occurred_at"],
        m["leg"],
        m["country"],
        int(m["duration_seconds"]),  # JSON Schema lets 12.0 pass as an integer
    )


def _command(m: Message) -> Command:
    if m["type"] == "add_funds":
        return AddFunds(
            m["command_id"],
            m["account_id"],
            m["issued_at"],
            parse_money(m["amount"]),
            m["currency"],
        )
    if m["type"] == "cancel_recharge":
        return CancelRecharge(m["command_id"], m["account_id"], m["issued_at"], m["request_id"])
    target = m.get("recharge_to")
    return ConfigureAutoRecharge(
        m["command_id"],
        m["account_id"],
        m["issued_at"],
        m["enabled"],
        parse_money(m.get("recharge_amount", "0")),
        parse_money(m["trigger_balance"]),
        m["currency"],
        None if target is None else parse_money(target),
        m.get("max_recharges_per_day", MAX_RECHARGES_PER_DAY),
    )


def _result(m: Message) -> RechargeResult:
    return RechargeResult(
        m["request_id"],
        m["account_id"],
        m["completed_at"],
        m["status"] == "succeeded",
        parse_money(m["amount"]),
        m["currency"],
        m.get("reason"),
    )


# Message kind -> builder of the domain input from a validated message.
TO_DOMAIN: dict[str, Callable[[Message], Input]] = {
    "call-usage": _call,
    "conference-usage": _conference,
    "command": _command,
    "recharge-result": _result,
}
