"""The benchmark's input: funds for every account, then N usage events, all produced
to the input topics before anything is timed."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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


def funds(accounts: int, at: str = AT) -> list[tuple[str, bytes, bytes]]:
    """One add_funds per account, issued ``at``: that many accounts in the worker's tables."""
    return [
        (
            "credits.commands",
            f"acct-{n}".encode(),
            orjson.dumps(
                {
                    "command_id": f"acct-{n}-funds",
                    "account_id": f"acct-{n}",
                    "type": "add_funds",
                    "amount": "100.00",
                    "currency": "USD",
                    "issued_at": at,
                }
            ),
        )
        for n in range(accounts)
    ]


@dataclass(frozen=True)
class Probe:
    command_id: str
    message: tuple[str, bytes, bytes]


def probe(n: int = 0) -> Probe:
    """One add_funds whose ledger entry shows that a worker is processing; the n-th."""
    command_id = f"probe-funds-{n}"
    body = {
        "command_id": command_id,
        "account_id": "acct-0",
        "type": "add_funds",
        "amount": "1.00",
        "currency": "USD",
        "issued_at": AT,
    }
    return Probe(command_id, ("credits.commands", b"acct-0", orjson.dumps(body)))


def usage(seed: int, accounts: int, events: int) -> list[tuple[str, bytes, bytes]]:
    """Two thirds calls, one third conference legs, 1 to 600 s each."""
    return list(usage_over_time(seed, accounts, range(events), lambda n: AT))


def usage_over_time(
    seed: int, accounts: int, numbers: Iterable[int], time_of: object
) -> Iterator[tuple[str, bytes, bytes]]:
    """Usage events numbered ``numbers``; event n happened at ``time_of(n)``."""
    rng = random.Random(seed)
    for n in numbers:
        at = time_of(n)  # type: ignore[operator]
        account = f"acct-{rng.randrange(accounts)}"
        seconds = rng.randint(1, 600)
        if n % 3:
            call_type, country = rng.choice(CALLS)
            body = {
                "event_id": f"b-{n}",
                "account_id": account,
                "occurred_at": at,
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
                "occurred_at": at,
                "leg": leg,
                "country": country,
                "duration_seconds": seconds,
            }
            topic = "usage.conference-minutes"
        yield topic, account.encode(), orjson.dumps(body)


def spread(events_per_day: int, days: float) -> object:
    """Times for usage numbered from 0: ``events_per_day`` a day, the last of ``days`` days
    ending an hour ago (an input may not lie ahead of its Kafka time by more than a day)."""
    start = datetime.now(UTC) - timedelta(days=days, hours=1)
    seconds_apart = 86400 / events_per_day

    def time_of(n: int) -> str:
        return (start + timedelta(seconds=n * seconds_apart)).strftime("%Y-%m-%dT%H:%M:%SZ")

    return time_of


async def produce(
    bootstrap: str, prefix: str, messages: Iterable[tuple[str, bytes, bytes]]
) -> None:
    """Send every message, waiting for the broker's receipts every 10,000 of them (so that
    millions can be sent from a generator)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, acks="all")
    await producer.start()
    try:
        receipts = []
        for topic, key, value in messages:
            receipts.append(await producer.send(prefix + topic, value, key=key))
            if len(receipts) == 10_000:
                await asyncio.gather(*receipts)
                receipts = []
        await asyncio.gather(*receipts)
    finally:
        await producer.stop()


async def produce_at(
    bootstrap: str, prefix: str, messages: list[tuple[str, bytes, bytes]], rate: int
) -> dict[str, float]:
    """Offer usage events at ``rate`` per second; when each was produced (ms since the
    epoch, its record timestamp), by event id."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    ids = [orjson.loads(value)["event_id"] for _, _, value in messages]
    receipts = []
    try:
        started = time.monotonic()
        for n, (topic, key, value) in enumerate(messages):
            ahead = started + n / rate - time.monotonic()
            if ahead > 0:
                await asyncio.sleep(ahead)  # pacing the offered load, not waiting for a result
            receipts.append(await producer.send(prefix + topic, value, key=key))
        return {
            event_id: (await receipt).timestamp
            for event_id, receipt in zip(ids, receipts, strict=True)
        }
    finally:
        await producer.stop()
