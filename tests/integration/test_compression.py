"""Inputs compressed with any codec a Kafka producer uses are read, from Kafka's own
Java producer: gzip, snappy, lz4 and zstd, unkeyed, into a running worker."""

from __future__ import annotations

import orjson

from tests.fixtures.books import Run
from tests.fixtures.broker import Kafka
from tests.fixtures.java_clients import console_produce, stored_codecs
from tests.fixtures.kafka_io import produce
from tests.fixtures.outputs import OutputReader
from tests.fixtures.workers import Workers

CODECS = ("gzip", "snappy", "lz4", "zstd")
CALLS_PER_CODEC = 25
ACCOUNT = "codecs-org"


def call(event_id: str, seconds: int) -> bytes:
    return orjson.dumps(
        {
            "event_id": event_id,
            "account_id": ACCOUNT,
            "occurred_at": "2026-11-24T10:00:00Z",
            "call_type": "domestic",
            "direction": "outbound",
            "country": "US",
            "duration_seconds": seconds,
        }
    )


async def test_every_compression_codec_is_read(kafka: Kafka, workers: Workers) -> None:
    run = Run.new(kafka.bootstrap, "codecs")
    await run.create_inputs(partitions=1)
    workers.start("streams worker", run.env())
    await workers.wait_stable(run.app_id, members=1)
    funds = {
        "command_id": "f-1",
        "account_id": ACCOUNT,
        "type": "add_funds",
        "amount": "100.00",
        "currency": "USD",
        "issued_at": "2026-11-24T09:00:00Z",
    }
    await produce(kafka.bootstrap, run.prefix + "credits.commands", [(None, orjson.dumps(funds))])
    calls = run.prefix + "usage.call-minutes"
    expected = {}
    for codec in CODECS:
        lines = []
        for n in range(CALLS_PER_CODEC):
            minutes = n % 5 + 1
            lines.append(call(f"{codec}-{n}", minutes * 60))
            expected[f"{codec}-{n}"] = f"-0.{2 * minutes:02d}"  # 0.02 a minute
        console_produce(kafka.bootstrap, calls, lines, codec)

    async with OutputReader(kafka.bootstrap, run.prefix) as outputs:
        await outputs.wait_for_counts({"credits.ledger": 1 + len(expected)}, timeout=90)
        charged = {
            entry["source_id"]: entry["amount"]
            for entry in outputs.of("credits.ledger")
            if entry["kind"] == "usage"
        }
        assert outputs.of("credits.dead-letter") == []
    assert charged == expected
    if kafka.local is not None:  # the broker's own log says how each batch was stored
        assert stored_codecs(kafka.local.state_dir / "data" / f"{calls}-0") == set(CODECS)
