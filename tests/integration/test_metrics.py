"""GET /metrics counts what a worker did with the traffic this test sent, and its log has
one JSON line per dead letter and per recharge request, none per applied event."""

from __future__ import annotations

import aiohttp
import orjson
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from tests.fixtures.books import Run
from tests.fixtures.broker import Kafka
from tests.fixtures.waiting import wait_until
from tests.fixtures.workers import Workers

ACCOUNTS = [f"org-m-{n}" for n in range(5)]
AT = "2026-11-24T10:00:00Z"


def _call(n: int, seconds: int = 90) -> tuple[str, bytes, bytes]:
    account = ACCOUNTS[n % len(ACCOUNTS)]
    body = {
        "event_id": f"m-{n}",
        "account_id": account,
        "occurred_at": AT,
        "call_type": "domestic",
        "direction": "outbound",
        "country": "US",
        "duration_seconds": seconds,
    }
    return "usage.call-minutes", account.encode(), orjson.dumps(body)


def _command(account: str, command_id: str, **fields: object) -> tuple[str, bytes, bytes]:
    body = {"command_id": command_id, "account_id": account, "issued_at": AT, **fields}
    return "credits.commands", account.encode(), orjson.dumps(body)


def _funds(account: str, command_id: str, currency: str = "USD"):
    return _command(account, command_id, type="add_funds", amount="10.00", currency=currency)


async def _scrape(session: aiohttp.ClientSession, port: str) -> dict[tuple, float]:
    """Every sample, by (name, sorted labels)."""
    async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_and_logs_match_the_traffic(kafka: Kafka, workers: Workers) -> None:
    run = Run.new(kafka.bootstrap, "metrics")
    await run.create_inputs()
    worker = workers.start("streams worker", run.env(log_level="INFO"), name="w")
    await workers.wait_stable(run.app_id, members=1, timeout=120)
    port = worker.env["STREAMS_WEB_PORT"]

    calls = [_call(n) for n in range(40)]
    repeats = calls[:5]  # a producer's retries: the same events again
    commands = [_funds(account, f"f-{account}") for account in ACCOUNTS]
    commands.append(_funds(ACCOUNTS[0], "f-eur", currency="EUR"))  # currency_mismatch
    commands.append(
        _command(
            ACCOUNTS[1],
            "auto-1",
            type="configure_auto_recharge",
            enabled=True,
            recharge_amount="50.00",
            trigger_balance="100.00",  # above the balance: one request at once
            currency="USD",
        )
    )
    topic = "usage.call-minutes"
    malformed = [(topic, b"org-m-0", b"not json"), (topic, b"org-m-0", b"[1, 2]")]
    schema = [(topic, b"org-m-1", _call(100 + n, seconds=-5)[2]) for n in range(3)]

    producer = AIOKafkaProducer(bootstrap_servers=run.bootstrap, acks="all")
    await producer.start()
    try:
        await run.send(producer, commands + calls + repeats + malformed + schema)
    finally:
        await producer.stop()

    accepted = len(commands) + len(calls) + len(repeats)
    async with aiohttp.ClientSession() as session:

        async def all_applied() -> bool:
            samples = await _scrape(session, port)
            key = ("credits_events_consumed_total", (("topic", f"{run.app_id}-account-inputs"),))
            return samples.get(key) == accepted

        await wait_until(all_applied, timeout=120, what="every input through both stages")
        samples = await _scrape(session, port)

        async def caught_up() -> bool:
            lag = await _scrape(session, port)
            return all(v == 0 for (name, _), v in lag.items() if name == "credits_consumer_lag")

        await wait_until(caught_up, timeout=30, what="no lag")

    def value(name: str, **labels: str) -> float:
        return samples.get((name, tuple(sorted(labels.items()))), 0.0)

    consumed = "credits_events_consumed_total"
    assert value(consumed, topic=run.prefix + "usage.call-minutes") == 50
    assert value(consumed, topic=run.prefix + "credits.commands") == len(commands)
    assert value(consumed, topic=f"{run.app_id}-account-inputs") == accepted
    assert value("credits_events_applied_total") == 40 + 5 + 1  # calls, funds, auto-recharge
    assert value("credits_duplicates_dropped_total") == 5
    assert value("credits_dead_letters_total", reason="malformed") == 2
    assert value("credits_dead_letters_total", reason="schema") == 3
    assert value("credits_dead_letters_total", reason="currency_mismatch") == 1
    assert value("credits_recharge_requests_total") == 1
    for stage in ("ingest", "accounts"):  # one observation per batch
        batches = value("credits_processing_latency_seconds_count", stage=stage)
        assert 1 <= batches <= accepted
        assert value("credits_processing_latency_seconds_sum", stage=stage) > 0
    assert value("credits_tables_recovered") == 1
    assert sum(v for (name, _), v in samples.items() if name == "credits_partitions_assigned") > 0

    lines = [orjson.loads(line) for line in worker.log().splitlines() if line.startswith("{")]
    assert lines, "the worker logged no JSON lines"
    dead = [line for line in lines if line["message"].startswith("dead letter")]
    assert sorted(line["reason_code"] for line in dead) == sorted(
        ["malformed"] * 2 + ["schema"] * 3 + ["currency_mismatch"]
    )
    assert all({"topic", "partition", "offset", "account_id"} <= line.keys() for line in dead)
    (mismatch,) = [line for line in dead if line["reason_code"] == "currency_mismatch"]
    assert (mismatch["account_id"], mismatch["input_id"]) == (ACCOUNTS[0], "f-eur")
    (request,) = [line for line in lines if line["message"].startswith("recharge requested")]
    assert (request["account_id"], request["request_id"]) == (ACCOUNTS[1], f"{ACCOUNTS[1]}:rr:1")
    assert not [line for line in lines if "m-7" in orjson.dumps(line).decode()]  # no per-event
