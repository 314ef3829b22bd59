"""`streams redrive` as an operator uses it: calls refused for a missing rate are charged
once the rate is added and their dead letters redriven, and only once, however often."""

from __future__ import annotations

from pathlib import Path

import orjson

from streams.admin import group_lag
from tests.fixtures.books import Run
from tests.fixtures.broker import Kafka
from tests.fixtures.kafka_io import produce, read_to_end
from tests.fixtures.outputs import OutputReader
from tests.fixtures.waiting import wait_until
from tests.fixtures.workers import Workers
from tests.integration.test_cli import streams

DOMESTIC = {
    "service": "call",
    "kind": "domestic",
    "country": "*",
    "currency": "USD",
    "per_minute": "0.0200",
    "increment_seconds": 60,
}
SOUTH_AFRICA = {**DOMESTIC, "kind": "international", "country": "ZA", "per_minute": "0.5000"}
ACCOUNTS = ("org-a", "org-b", "org-c")


def _call(event_id: str, account: str, call_type: str, country: str) -> bytes:
    return orjson.dumps(
        {
            "event_id": event_id,
            "account_id": account,
            "occurred_at": "2026-11-24T10:00:00Z",
            "call_type": call_type,
            "direction": "outbound",
            "country": country,
            "duration_seconds": 120,
        }
    )


def _funds(account: str) -> bytes:
    return orjson.dumps(
        {
            "command_id": f"f-{account}",
            "account_id": account,
            "type": "add_funds",
            "amount": "10.00",
            "currency": "USD",
            "issued_at": "2026-11-24T09:00:00Z",
        }
    )


async def test_redriven_dead_letters_are_applied_once_their_cause_is_fixed(
    kafka: Kafka, workers: Workers, tmp_path: Path
) -> None:
    run = Run.new(kafka.bootstrap, "redrive")
    await run.create_inputs(partitions=2)
    without, with_rate = tmp_path / "without.json", tmp_path / "with.json"
    without.write_bytes(orjson.dumps({"rates": [DOMESTIC]}))
    with_rate.write_bytes(orjson.dumps({"rates": [DOMESTIC, SOUTH_AFRICA]}))
    first = workers.start("streams worker", run.env(rate_card=str(without)), name="w1")
    await workers.wait_stable(run.app_id, members=1)

    await produce(
        kafka.bootstrap, run.prefix + "credits.commands", [(None, _funds(a)) for a in ACCOUNTS]
    )
    calls = [(None, _call(f"local-{n}", ACCOUNTS[n % 3], "domestic", "US")) for n in range(3)]
    calls += [(None, _call(f"za-{n}", ACCOUNTS[n % 3], "international", "ZA")) for n in range(4)]
    await produce(kafka.bootstrap, run.prefix + "usage.call-minutes", calls)

    async with OutputReader(kafka.bootstrap, run.prefix) as outputs:
        await outputs.wait_for_counts({"credits.ledger": 6, "credits.dead-letter": 4})
        refused = {
            orjson.loads(letter["payload"])["event_id"]
            for letter in outputs.of("credits.dead-letter")
        }
        assert refused == {f"za-{n}" for n in range(4)}
        assert {letter["reason_code"] for letter in outputs.of("credits.dead-letter")} == {
            "no_rate"
        }

        # The rate is added: a worker with the new rate card takes over.
        assert first.stop() == 0
        workers.start("streams worker", run.env(rate_card=str(with_rate)), name="w2")
        await workers.wait_stable(run.app_id, members=1)

        dry = await streams(kafka, run, "redrive", "--reason", "no_rate", "--dry-run")
        assert (dry.status, dry.stderr) == (0, "")
        assert dry.stdout.splitlines() == [
            f"would redrive 4 of 4 matching dead letters (reason no_rate): "
            f"4 to {run.prefix}usage.call-minutes"
        ]
        assert len(await read_to_end(kafka.bootstrap, run.prefix + "usage.call-minutes")) == 7

        done = await streams(kafka, run, "redrive", "--reason", "no_rate")
        assert (done.status, done.stderr) == (0, "")
        (line,) = done.stdout.splitlines()
        assert line.startswith("redrove 4 of 4 matching dead letters (reason no_rate) in ")
        assert line.endswith(f": 4 to {run.prefix}usage.call-minutes")
        await outputs.wait_for_counts({"credits.ledger": 10})

        again = await streams(kafka, run, "redrive", "--reason", "no_rate")
        assert again.status == 0, again.stderr

        async def caught_up() -> bool:
            return await group_lag(kafka.bootstrap, run.app_id, run.consumed) == 0

        await wait_until(caught_up, timeout=60, what="the redriven inputs to be processed")
    # Read to the end now, not by the reader in the background that may lag behind.
    ledger = [
        orjson.loads(record.value)
        for record in await read_to_end(kafka.bootstrap, run.prefix + "credits.ledger")
    ]
    letters = await read_to_end(kafka.bootstrap, run.prefix + "credits.dead-letter")
    charges = {entry["source_id"]: entry["amount"] for entry in ledger if entry["kind"] == "usage"}
    assert charges == {
        **{f"local-{n}": "-0.04" for n in range(3)},
        **{f"za-{n}": "-1.00" for n in range(4)},  # two minutes at 0.50
    }
    assert (len(ledger), len(letters)) == (10, 4)  # redriven twice, charged once
