"""A command sent over HTTP is checked like one read from credits.commands."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from streams.api.commands import ADD_FUNDS, CONFIGURE_AUTO_RECHARGE, BadCommand, build_command
from streams.wire.decode import Decoder
from streams.wire.schemas import Validators

NOW = datetime(2026, 11, 24, 10, 0, 0, 250_000, tzinfo=UTC)
DECODER = Decoder(Validators())


def _build(command_type: str, body: object, account: str = "org-1") -> tuple[str, dict]:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    command_id, value = build_command(DECODER, command_type, account, raw, NOW, new_id="api-1")
    return command_id, orjson.loads(value)


def test_add_funds_becomes_the_contract_command() -> None:
    command_id, command = _build(ADD_FUNDS, {"amount": "25.00", "currency": "USD"})

    assert command_id == "api-1"
    assert command == {
        "command_id": "api-1",
        "account_id": "org-1",
        "type": "add_funds",
        "amount": "25.00",
        "currency": "USD",
        "issued_at": "2026-11-24T10:00:00.250Z",
    }


def test_the_callers_command_id_is_kept_so_a_retry_is_applied_once() -> None:
    command_id, command = _build(
        ADD_FUNDS, {"amount": "25.00", "currency": "USD", "command_id": "admin-7"}
    )

    assert command_id == command["command_id"] == "admin-7"


def test_auto_recharge_settings_become_the_contract_command() -> None:
    body = {"enabled": True, "recharge_amount": "50", "trigger_balance": "5", "currency": "EUR"}

    _, command = _build(CONFIGURE_AUTO_RECHARGE, body)

    assert command["type"] == "configure_auto_recharge"
    assert command["recharge_amount"] == "50"


@pytest.mark.parametrize(
    ("command_type", "body", "reason"),
    [
        (ADD_FUNDS, b"{not json", "not valid JSON"),
        (ADD_FUNDS, b"[1, 2]", "must be a JSON object"),
        (ADD_FUNDS, {"amount": 25, "currency": "USD"}, "amount"),
        (ADD_FUNDS, {"amount": "0.00", "currency": "USD"}, "amount must be greater than 0"),
        (ADD_FUNDS, {"currency": "USD"}, "amount"),
        (ADD_FUNDS, {"amount": "5", "currency": "USD", "account_id": "org-2"}, "differs"),
        (
            CONFIGURE_AUTO_RECHARGE,
            {"enabled": True, "recharge_amount": "0", "trigger_balance": "5", "currency": "USD"},
            "recharge_amount must be greater than 0",
        ),
    ],
)
def test_a_bad_request_says_what_is_wrong(command_type: str, body: object, reason: str) -> None:
    with pytest.raises(BadCommand, match=reason):
        _build(command_type, body)
