"""The worker's logs: one JSON object per line on stderr, for log shippers and ``jq``.

Lines about an input carry ``account_id``, its id (``event_id``, ``command_id`` or
``request_id`` as ``input_id``) and where it came from (``topic``, ``partition``,
``offset``). One line per dead letter and per recharge request; nothing per applied
event at INFO.
"""

from __future__ import annotations

import logging

from streams.domain import RechargeRequested, format_money

log = logging.getLogger("streams.events")


def logging_config(level: str) -> dict:
    """A ``logging.config.dictConfig`` for Faust's worker (its ``logging_config``)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.orjson.OrjsonFormatter",
                "fmt": "%(levelname)s %(name)s %(message)s",
                "rename_fields": {"levelname": "level", "name": "logger"},
                "timestamp": "time",  # ISO 8601, UTC
            }
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "json",
                "level": level,
            }
        },
        "root": {"level": level, "handlers": ["stderr"]},
    }


def dead_letter(
    topic: str,
    partition: int,
    offset: int,
    code: str,
    reason: str,
    account_id: str | None = None,
    input_id: str | None = None,
) -> None:
    log.warning(
        "dead letter: %s",
        reason,
        extra={
            "account_id": account_id,
            "input_id": input_id,
            "topic": topic,
            "partition": partition,
            "offset": offset,
            "reason_code": code,
        },
    )


def recharge_requested(request: RechargeRequested) -> None:
    log.info(
        "recharge requested: %s %s for %s",
        format_money(request.amount),
        request.currency,
        request.account_id,
        extra={
            "account_id": request.account_id,
            "request_id": request.request_id,
            "cause_id": request.cause_id,
            "amount": format_money(request.amount),
            "balance": format_money(request.balance),
            "trigger_balance": format_money(request.trigger_balance),
        },
    )


def audit(caller: str | None, method: str, path: str, account_id: str, command_id: str) -> None:
    """One line per accepted write through the HTTP API: who, what, on which account."""
    log.info(
        "audit: %s %s by %s",
        method,
        path,
        caller or "(no tokens configured)",
        extra={
            "audit": True,
            "token": caller,
            "method": method,
            "path": path,
            "account_id": account_id,
            "command_id": command_id,
        },
    )
