"""Recorded traffic through the real broker and a real worker gives the recorded outputs.

Regenerate the expected outputs after an intended change of behaviour with
`.venv/bin/pytest tests/integration/test_replay.py --record-replays`, then review the diff.
"""

from __future__ import annotations

import uuid
from collections import defaultdict

import orjson
import pytest

from streams.domain import parse_money
from streams.wire.schemas import Validators
from tests.fixtures.broker import Kafka
from tests.fixtures.kafka_io import create_topics, produce
from tests.fixtures.outputs import OutputReader
from tests.fixtures.recordings import (
    OUTPUT_TOPICS,
    RECORDINGS,
    SCHEMA_OF,
    canonical,
    load_expected,
    load_inputs,
    sort_key,
    steps,
    write_expected,
)
from tests.fixtures.workers import Workers

INPUT_TOPICS = (
    "usage.call-minutes",
    "usage.conference-minutes",
    "credits.commands",
    "billing.recharge-results",
)


async def test_recorded_traffic_gives_the_recorded_outputs(
    kafka: Kafka, workers: Workers, request: pytest.FixtureRequest
) -> None:
    name = "metering"
    recording = request.config.getoption("--record-replays")
    run = uuid.uuid4().hex[:12]
    prefix, app_id = f"r{run}.", f"metering-{run}"
    # Input topics that exist already, with their own partition count, are used as they are.
    await create_topics(kafka.bootstrap, [prefix + topic for topic in INPUT_TOPICS], 3)
    env = {"STREAMS_TOPIC_PREFIX": prefix, "STREAMS_APP_ID": app_id, "STREAMS_PARTITIONS": "4"}
    workers.start("streams worker", env | {"STREAMS_LOG_LEVEL": "WARNING"}, name="worker")
    step_counts_path = RECORDINGS / name / "expected" / "steps.json"
    step_counts = None if recording else orjson.loads(step_counts_path.read_bytes())
    await workers.wait_stable(app_id, members=1)

    async with OutputReader(kafka.bootstrap, prefix) as outputs:
        recorded_counts = []
        for number, step in enumerate(steps(load_inputs(name))):
            for topic in INPUT_TOPICS:
                batch = [(m.key, m.value) for m in step if m.topic == topic]
                if batch:
                    await produce(kafka.bootstrap, prefix + topic, batch)
            if recording:
                await outputs.wait_quiet(3.0)
                recorded_counts.append(outputs.counts())
            else:
                await outputs.wait_for_counts(step_counts[number])
        produced = {
            topic: sorted(
                (canonical(topic, m, prefix) for m in outputs.of(topic)),
                key=lambda m, topic=topic: sort_key(topic, m),
            )
            for topic in OUTPUT_TOPICS
        }

    if recording:
        write_expected(name, produced)
        step_counts_path.write_bytes(orjson.dumps(recorded_counts, option=orjson.OPT_INDENT_2))
        pytest.skip("recorded the outputs; review the diff of tests/recordings/")
    assert produced == load_expected(name)
    _assert_outputs_keep_the_contract(produced)


def _assert_outputs_keep_the_contract(produced: dict[str, list[dict]]) -> None:
    validators = Validators()
    for topic, messages in produced.items():
        for message in messages:
            if topic == "credits.dead-letter":
                where = {"partition": 0, "offset": 0, "received_at": "2026-11-24T00:00:00Z"}
                message = {**message, **where}
            validators.check(SCHEMA_OF[topic], message)
    entries: dict[str, list[dict]] = defaultdict(list)
    for entry in produced["credits.ledger"]:
        entries[entry["account_id"]].append(entry)
    for account, ledger in entries.items():
        assert [e["seq"] for e in ledger] == list(range(1, len(ledger) + 1)), account
        total = 0
        for entry in ledger:
            total += parse_money(entry["amount"])
            assert parse_money(entry["balance"]) == total, entry["entry_id"]
