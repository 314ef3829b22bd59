"""Commands sent over HTTP: the request body made into a contract command, checked with
the same schemas and rules as a command read from ``credits.commands``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from streams.domain import AddFunds, MoneyError
from streams.domain.engine import above, not_positive
from streams.wire.decode import TO_DOMAIN, Decoder
from streams.wire.errors import InvalidMessage

# The command type each command path sends.
ADD_FUNDS = "add_funds"
CONFIGURE_AUTO_RECHARGE = "configure_auto_recharge"


class BadCommand(ValueError):
    """The request cannot become a command; the message says why, for the person sending it."""


def build_command(
    decoder: Decoder,
    command_type: str,
    account_id: str,
    body: bytes,
    now: datetime,
    new_id: str,
) -> tuple[str, bytes]:
    """The command's id and its bytes as published to ``credits.commands``.

    The path names the account; ``type`` and ``issued_at`` are set here; ``command_id``
    is the caller's (to make a retried request idempotent) or ``new_id``.
    """
    fields = _fields(body, account_id)
    command = {
        **fields,
        "command_id": fields.get("command_id", new_id),
        "account_id": account_id,
        "type": command_type,
        "issued_at": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    value = orjson.dumps(command)
    _check(decoder, value, now)
    return command["command_id"], value


def _fields(body: bytes, account_id: str) -> dict[str, Any]:
    """The body's fields: a JSON object that names no account but the path's."""
    try:
        fields = orjson.loads(body) if body else None
    except orjson.JSONDecodeError as error:
        raise BadCommand(f"the body is not valid JSON: {error}") from None
    if not isinstance(fields, dict):
        raise BadCommand("the body must be a JSON object")
    named = fields.get("account_id", account_id)
    if named != account_id:
        raise BadCommand(
            f"account_id {named!r} in the body differs from {account_id!r} in the path"
        )
    return fields


def _check(decoder: Decoder, value: bytes, now: datetime) -> None:
    """BadCommand unless the command passes the schema and the rules that do not depend on
    the account's state. Its currency is checked when the command is applied: a mismatch
    there is a dead letter with the reason."""
    try:
        item = TO_DOMAIN["command"](decoder.message("command", value, int(now.timestamp() * 1000)))
    except (InvalidMessage, MoneyError) as error:
        raise BadCommand(str(error)) from None
    if isinstance(item, AddFunds):
        problem = not_positive("amount", item.amount)
    elif item.recharge_to is not None:
        problem = above("recharge_to", item.recharge_to, item.trigger_balance)
    else:
        problem = not_positive("recharge_amount", item.recharge_amount)
    if problem:
        raise BadCommand(problem.reason)
