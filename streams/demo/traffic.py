"""A day of realistic traffic for a few organisations, reproducible from a seed."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson

from streams.pipeline.topics import CALL_USAGE, COMMANDS, CONFERENCE_USAGE

COUNTRIES = ["US", "GB", "DE", "NO", "IN", "JP", "BR", "FR"]


@dataclass(frozen=True, slots=True)
class Message:
    topic: str  # contract name, before any prefix
    key: bytes | None
    value: bytes


@dataclass(frozen=True, slots=True)
class Organisation:
    account_id: str
    funds: str
    calls: int
    conference_legs: int
    # The auto-recharge fields of its configure_auto_recharge command, if it has one.
    auto_recharge: dict[str, object] | None
    keyed: bool = True  # False: the telephony system sends without a Kafka key


ORGANISATIONS = [
    # Recharged up to a target balance, not by a fixed amount.
    Organisation(
        "contoso",
        "20.00",
        180,
        90,
        {"enabled": True, "recharge_to": "40.00", "trigger_balance": "10.00"},
    ),
    # No auto-recharge: exhausted, then topped up by hand (balance_restored).
    Organisation(
        "fabrikam",
        "4.00",
        120,
        40,
        {"enabled": False, "recharge_amount": "10.00", "trigger_balance": "2.00"},
    ),
    # One recharge a day at most: the day's second is not sent (recharge_limit_reached).
    Organisation(
        "northwind",
        "8.00",
        150,
        60,
        {
            "enabled": True,
            "recharge_amount": "6.00",
            "trigger_balance": "5.00",
            "max_recharges_per_day": 1,
        },
        keyed=False,
    ),
    Organisation("tailspin", "50.00", 60, 30, None),
    # Billing never answers its request (recharge_overdue).
    Organisation(
        "woodgrove",
        "1.00",
        0,
        0,
        {"enabled": True, "recharge_amount": "20.00", "trigger_balance": "5.00"},
    ),
]
# The demo's billing never answers this account's requests.
UNANSWERED = "woodgrove"


def _at(start: datetime, seconds: float) -> str:
    return (start + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _message(topic: str, key: str | None, body: dict) -> Message:
    return Message(topic, key.encode() if key else None, orjson.dumps(body))


def commands(start: datetime) -> list[Message]:
    """What the admins do first: add funds and set auto-recharge."""
    out = []
    for n, org in enumerate(ORGANISATIONS):
        out.append(
            _message(
                COMMANDS,
                org.account_id,
                {
                    "command_id": f"{org.account_id}-funds-1",
                    "account_id": org.account_id,
                    "type": "add_funds",
                    "amount": org.funds,
                    "currency": "USD",
                    "issued_at": _at(start, n),
                },
            )
        )
        if org.auto_recharge:
            out.append(
                _message(
                    COMMANDS,
                    org.account_id,
                    {
                        "command_id": f"{org.account_id}-auto-1",
                        "account_id": org.account_id,
                        "type": "configure_auto_recharge",
                        **org.auto_recharge,
                        "currency": "USD",
                        "issued_at": _at(start, 30 + n),
                    },
                )
            )
    return out


def usage(seed: int, start: datetime) -> list[Message]:
    """Calls and conference legs over the working day, interleaved across organisations."""
    rng = random.Random(seed)
    events: list[tuple[float, Message]] = []
    for org in ORGANISATIONS:
        key = org.account_id if org.keyed else None
        for n in range(org.calls):
            at = rng.uniform(3600, 9 * 3600)
            international = rng.random() < 0.1
            events.append(
                (
                    at,
                    _message(
                        CALL_USAGE,
                        key,
                        {
                            "event_id": f"{org.account_id}-call-{n}",
                            "account_id": org.account_id,
                            "user_id": f"user{rng.randint(1, 25)}@{org.account_id}.com",
                            "occurred_at": _at(start, at),
                            "call_type": "international" if international else "domestic",
                            "direction": "outbound" if rng.random() < 0.7 else "inbound",
                            "country": rng.choice(COUNTRIES) if international else "US",
                            "duration_seconds": int(rng.expovariate(1 / 240)),
                        },
                    ),
                )
            )
        for n in range(org.conference_legs):
            at = rng.uniform(3600, 9 * 3600)
            events.append(
                (
                    at,
                    _message(
                        CONFERENCE_USAGE,
                        key,
                        {
                            "event_id": f"{org.account_id}-leg-{n}",
                            "account_id": org.account_id,
                            "conference_id": f"{org.account_id}-conf-{n // 4}",
                            "occurred_at": _at(start, at),
                            "leg": rng.choice(["dial_out", "toll_free_dial_in", "toll_dial_in"]),
                            "country": rng.choice(["US", "GB", "DE", "CA"]),
                            "duration_seconds": int(rng.uniform(60, 1800)),
                        },
                    ),
                )
            )
    events.sort(key=lambda pair: pair[0])
    return [message for _, message in events]


def top_up(start: datetime) -> Message:
    """At the end of the day an admin adds funds to the account without auto-recharge."""
    return _message(
        COMMANDS,
        "fabrikam",
        {
            "command_id": "fabrikam-funds-2",
            "account_id": "fabrikam",
            "type": "add_funds",
            "amount": "40.00",
            "currency": "USD",
            "issued_at": _at(start, 10 * 3600),
        },
    )


def bad_messages(start: datetime) -> list[Message]:
    """Input a real deployment sees now and then; each must end in the dead letter."""
    call = {
        "event_id": "bad-1",
        "account_id": "contoso",
        "occurred_at": _at(start, 5000),
        "call_type": "domestic",
        "direction": "outbound",
        "country": "US",
        "duration_seconds": -5,
    }
    return [
        Message(CALL_USAGE, b"contoso", b'{"event_id": "truncated", "account_id": "con'),
        _message(CALL_USAGE, "contoso", call),
        _message(
            CALL_USAGE,
            "contoso",
            {**call, "event_id": "bad-2", "call_type": "premium", "duration_seconds": 60},
        ),
        _message(
            COMMANDS,
            "tailspin",
            {
                "command_id": "tailspin-funds-eur",
                "account_id": "tailspin",
                "type": "add_funds",
                "amount": "10.00",
                "currency": "EUR",
                "issued_at": _at(start, 6000),
            },
        ),
        Message(COMMANDS, None, b"\xff\xfe not even text"),
        # Go's zero time, from a producer that left the field unset.
        _message(
            CALL_USAGE,
            "contoso",
            {
                **call,
                "event_id": "bad-3",
                "occurred_at": "0001-01-01T00:00:00Z",
                "duration_seconds": 60,
            },
        ),
    ]
