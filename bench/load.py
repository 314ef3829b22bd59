"""The benchmark's input: funds for every account, then N usage events, all produced
to the input topics before anything is timed."""

from __future__ import annotations

import random

import orjson
from aiokafka import AIOKafkaProducer

AT = "2026-11-24T10:00:00Z"
INPUT_TOPICS = ("usage.call-minutes", "usage.conference-minutes", "credits.commands")
CALLS = [("domestic", "US"), ("international", "GB"), ("international", "JP")]
LEGS = [("dial_out", "US"), ("toll_free_dial_in", "US")]


def commands(accounts: int) -> list[tuple[str, bytes, bytes]]:
    """Ample funds everywhere; auto-recharge on every 100th account, whose small funds
    make a few of them cross their trigger during the run."""
    out = []
    for n in range(accounts):
        account = f"acct-{n}"
        small = n % 100 == 0
        body = {
            "command_id": f"{account}-funds",
            "account_id": account,
            "type": "add_funds",
            "amount": "2.00" if small else "100000.00",
            "currency": "USD",
            "issued_at": AT,
        }
        out.append(("credits.commands", account.encode(), orjson.dumps(body)))
        if small:
            auto = {
                "command_id": f"{account}-auto",
                "account_id": account,
                "type": "configure_auto_recharge",
                "enabled": True,
                "recharge_amount": "50.00",
                "trigger_balance": "1.00",
                "currency": "USD",
                "issued_at": AT,
            }
            out.append(("credits.commands", account.encode(), orjson.dumps(auto)))
    return out


def usage(seed: int, accounts: int, events: int) -> list[tuple[str, bytes, bytes]]:
    """Two thirds calls, one third conference legs, 1 to 600 s each."""
    rng = random.Random(seed)
    out = []
    for n in range(events):
        account = f"acct-{rng.randrange(accounts)}"
        seconds = rng.randint(1, 600)
        if n % 3:
            call_type, country = rng.choice(CALLS)
            body = {
                "event_id": f"b-{n}",
                "account_id": account,
                "occurred_at": AT,
                "call_type": call_type,
                "direction": "outbound",
                "country": country,
                "duration_seconds": seconds,
            }
            topic = "usage.call-minutes"
        else:
            leg, country = rng.choice(LEGS)
            body = {
                "event_id": f"b-{n}",
                "account_id": account,
                "conference_id": f"conf-{n % 500}",
                "occurred_at": AT,
                "leg": leg,
                "country": country,
                "duration_seconds": seconds,
            }
            topic = "usage.conference-minutes"
        out.append((topic, account.encode(), orjson.dumps(body)))
    return out


async def produce(bootstrap: str, prefix: str, messages: list[tuple[str, bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, acks="all")
    await producer.start()
    try:
        receipts = [
            await producer.send(prefix + topic, value, key=key) for topic, key, value in messages
        ]
        for receipt in receipts:
            await receipt
    finally:
        await producer.stop()
