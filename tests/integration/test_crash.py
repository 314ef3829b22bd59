"""Kill workers at random moments: no minute is lost, none is charged twice, no card twice.

Seeded: `--crash-seed N` replays a run. Its length is set by `--crash-events`,
`--crash-accounts`, `--crash-kills` and `--crash-workers`.

Opt-in (`--crash`) until an open defect is fixed: some seeds (e.g. 101 with SIGTERM, and
1 or 2 with 3 workers and SIGKILL) lose the first recharge results of a
billing.recharge-results partition after a rebalance; they are consumed and committed
but never forwarded. Such a run waits for the pipeline to settle, then fails.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import time
import uuid
from collections import defaultdict
from decimal import Decimal

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from streams.admin import group_lag
from tests.fixtures.broker import Kafka, announce
from tests.fixtures.kafka_io import create_topics, find_in_topic
from tests.fixtures.load import generate
from tests.fixtures.outputs import OutputReader
from tests.fixtures.waiting import wait_until
from tests.fixtures.workers import WorkerProcess, Workers

INPUTS = (
    "usage.call-minutes",
    "usage.conference-minutes",
    "credits.commands",
    "billing.recharge-results",
)


class Billing:
    """Charges each recharge request once; declines some, decided by the seed."""

    def __init__(self, producer: AIOKafkaProducer, topic: str, seed: int) -> None:
        self.producer, self.topic, self.seed = producer, topic, seed
        self.credited: dict[str, tuple[str, Decimal]] = {}  # request_id -> account, amount
        self.declined: set[str] = set()

    def declines(self, request_id: str) -> bool:
        digest = hashlib.sha256(f"{self.seed}:{request_id}".encode()).digest()
        return digest[0] < 51  # about one in five

    async def on_output(self, topic: str, message: dict) -> None:
        if topic != "credits.recharge-requested":
            return
        request_id = message["request_id"]
        fail = self.declines(request_id)
        result = {
            "request_id": request_id,
            "account_id": message["account_id"],
            "status": "failed" if fail else "succeeded",
            "amount": message["amount"],
            "currency": message["currency"],
            "completed_at": message["requested_at"],
        }
        if fail:
            result["reason"] = "card declined"
            self.declined.add(request_id)
        else:
            self.credited[request_id] = (message["account_id"], Decimal(message["amount"]))
        await self.producer.send(
            self.topic, orjson.dumps(result), key=message["account_id"].encode()
        )

    @property
    def answered(self) -> int:
        return len(self.credited) + len(self.declined)


async def _chaos(
    workers: Workers,
    live: list[WorkerProcess],
    env: dict,
    rng: random.Random,
    kills: int,
    how: str,
) -> int:
    """Stop a random live worker (SIGKILL, or SIGTERM and a bounded wait for it to exit),
    and start a new one a moment later; `kills` times. The pauses are the chaos itself."""
    done = 0
    for round_ in range(kills):
        await asyncio.sleep(rng.uniform(1.0, 4.0))
        victim = rng.choice(live)
        if how == "sigkill":
            victim.kill()
        else:
            assert await asyncio.to_thread(victim.stop, 30.0) == 0, f"{victim.name} on SIGTERM"
        live.remove(victim)
        done += 1
        await asyncio.sleep(rng.uniform(0.2, 2.0))
        live.append(workers.start("streams worker", env, name=f"{victim.name}-r{round_}"))
    return done


@pytest.mark.parametrize("how", ["sigkill", "sigterm"])
async def test_no_minute_is_lost_or_charged_twice_when_workers_stop(
    kafka: Kafka, workers: Workers, request: pytest.FixtureRequest, how: str
) -> None:
    guarantee = "at_least_once"
    option = request.config.getoption
    if not option("--crash"):
        pytest.skip("the crash test is opt-in for now: run it with --crash")
    seed, kills = option("--crash-seed"), option("--crash-kills")
    load = generate(seed, option("--crash-accounts"), option("--crash-events"))
    run = uuid.uuid4().hex[:12]
    prefix, app_id = f"k{run}.", f"crash-{run}"
    await create_topics(kafka.bootstrap, [prefix + topic for topic in INPUTS], 4)
    env = {
        "STREAMS_TOPIC_PREFIX": prefix,
        "STREAMS_APP_ID": app_id,
        "STREAMS_PARTITIONS": "8",
        "STREAMS_PROCESSING_GUARANTEE": guarantee,
        "STREAMS_SESSION_TIMEOUT": "6",
        "STREAMS_LOG_LEVEL": os.environ.get("CRASH_LOG_LEVEL", "WARNING"),
    }
    live = [
        workers.start("streams worker", env, name=f"w{n}") for n in range(option("--crash-workers"))
    ]
    await workers.wait_stable(app_id, members=len(live), timeout=120)
    started = time.monotonic()

    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all", linger_ms=10)
    await producer.start()
    billing = Billing(producer, prefix + "billing.recharge-results", seed)
    try:
        async with OutputReader(kafka.bootstrap, prefix, on_new=billing.on_output) as outputs:
            chaos = asyncio.create_task(_chaos(workers, live, env, random.Random(seed), kills, how))
            for topic, key, value in load.commands:
                await producer.send(prefix + topic, value, key=key)
            await producer.flush()
            for topic, key, value in load.usage:
                await producer.send(prefix + topic, value, key=key)
            await producer.flush()
            killed = await chaos

            expected_sources = set(load.charges) | load.funds_commands
            consumed = [prefix + topic for topic in INPUTS] + [f"{app_id}-account-inputs"]

            progress: dict[str, object] = {}

            async def settled() -> bool:
                sources = {e["source_id"] for e in outputs.of("credits.ledger")}
                missing = (expected_sources | set(billing.credited)) - sources
                requests = len(outputs.of("credits.recharge-requested"))
                lag = await group_lag(kafka.bootstrap, app_id, consumed)
                progress.update(
                    missing=len(missing),
                    missing_sample=sorted(missing)[:5],
                    unanswered=requests - billing.answered,
                    lag=lag,
                )
                return not missing and billing.answered == requests and lag == 0

            try:
                await wait_until(settled, timeout=180, what="the pipeline to settle", every=1.0)
            except TimeoutError as timeout:
                missing = [source.encode() for source in progress["missing_sample"]]
                where = [
                    *await find_in_topic(kafka.bootstrap, f"{app_id}-account-inputs", missing),
                    *await find_in_topic(
                        kafka.bootstrap, f"{app_id}-seen-inputs-changelog", missing
                    ),
                ]
                raise AssertionError(f"{timeout}: {progress}; found: {where}") from timeout
    finally:
        await producer.stop()
    elapsed = time.monotonic() - started

    assert outputs.conflicts == [], "two copies of one output id differ"
    assert outputs.of("credits.dead-letter") == []
    ledger: dict[str, list[dict]] = defaultdict(list)
    by_source: dict[str, list[dict]] = defaultdict(list)
    for entry in outputs.of("credits.ledger"):
        ledger[entry["account_id"]].append(entry)
        by_source[entry["source_id"]].append(entry)

    for event_id, cost in load.charges.items():
        (entry,) = by_source[event_id]  # exactly one debit per chargeable minute
        assert -Decimal(entry["amount"]) == cost, event_id
    for command_id in load.funds_commands:
        assert len(by_source[command_id]) == 1, command_id
    for request_id in billing.credited:
        assert len(by_source[request_id]) == 1, (
            f"{request_id} credited {len(by_source[request_id])}x"
        )
    for request_id in billing.declined:
        assert by_source[request_id] == []

    credited: dict[str, Decimal] = defaultdict(Decimal)
    for account, amount in billing.credited.values():
        credited[account] += amount
    charged: dict[str, Decimal] = defaultdict(Decimal)
    for event_id, cost in load.charges.items():
        charged[load.charged_account[event_id]] += cost
    for account, funds in load.funds.items():
        entries = sorted(ledger[account], key=lambda e: e["seq"])
        assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1)), account
        balance = sum((Decimal(e["amount"]) for e in entries), Decimal(0))
        assert balance == Decimal(entries[-1]["balance"]), account
        assert balance == funds + credited[account] - charged[account], account

    requests: dict[str, list[int]] = defaultdict(list)
    for message in outputs.of("credits.recharge-requested"):
        account, _, number = message["request_id"].rpartition(":rr:")
        requests[account].append(int(number))
    for account, numbers in requests.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), account

    request_count = sum(len(numbers) for numbers in requests.values())
    announce(
        request.config,
        f"crash test ({guarantee}, {how}, seed {seed}): {len(load.usage)} usage events and "
        f"{len(load.commands)} commands over {len(load.funds)} accounts, {len(live)} workers, "
        f"{killed} stopped and replaced; {request_count} recharge requests "
        f"({len(billing.declined)} declined); {outputs.copies} repeated outputs seen and "
        f"dropped by id; {elapsed:.1f} s",
    )
