"""Recorded traffic through the real broker and a real worker gives the recorded outputs.

Regenerate the expected outputs after an intended change of behaviour with
`.venv/bin/pytest tests/integration/test_replay.py --record-replays`, then review the diff.
"""

from __future__ import annotations

import contextlib
import uuid
from collections import defaultdict

import orjson
import pytest

from streams.admin import group_lag
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
from tests.fixtures.waiting import wait_until
from tests.fixtures.workers import Workers

INPUT_TOPICS = (
    "usage.call-minutes",
    "usage.conference-minutes",
    "credits.commands",
    "billing.recharge-results",
)


# Recording -> its STREAMS_RECHARGE_TIMEOUT. metering: no request is late while it plays;
# telephony: its unanswered request is, seconds after it was sent.
SCENARIOS = {"metering": "1h", "telephony": "8s"}


@pytest.mark.parametrize("name", SCENARIOS)
async def test_recorded_traffic_gives_the_recorded_outputs(
    kafka: Kafka, workers: Workers, request: pytest.FixtureRequest, name: str
) -> None:
    recording = request.config.getoption("--record-replays")
    run = uuid.uuid4().hex[:12]
    prefix, app_id = f"r{run}.", f"{name}-{run}"
    # Input topics that exist already, with their own partition count, are used as they are.
    await create_topics(kafka.bootstrap, [prefix + topic for topic in INPUT_TOPICS], 3)
    env = {"STREAMS_TOPIC_PREFIX": prefix, "STREAMS_APP_ID": app_id, "STREAMS_PARTITIONS": "4"}
    env |= {"STREAMS_LOG_LEVEL": "WARNING", "STREAMS_RECHARGE_TIMEOUT": SCENARIOS[name]}
    workers.start("streams worker", env, name="worker")
    step_counts_path = RECORDINGS / name / "expected" / "steps.json"
    await workers.wait_stable(app_id, members=1)

    async with OutputReader(kafka.bootstrap, prefix) as outputs:
        if recording:
            consumed = [prefix + topic for topic in INPUT_TOPICS] + [f"{app_id}-account-inputs"]
            counts = await _record(kafka, prefix, name, outputs, (app_id, consumed))
        else:
            await _play(kafka, prefix, name, outputs, orjson.loads(step_counts_path.read_bytes()))
            await _until_statuses_arrive(outputs, load_expected(name)["credits.account-status"])
        produced = {
            topic: sorted(
                (canonical(topic, m, prefix) for m in outputs.of(topic)),
                key=lambda m, topic=topic: sort_key(topic, m),
            )
            for topic in OUTPUT_TOPICS
        }

    if recording:
        write_expected(name, produced)
        step_counts_path.write_bytes(orjson.dumps(counts, option=orjson.OPT_INDENT_2))
        pytest.skip("recorded the outputs; review the diff of tests/recordings/")
    assert produced == load_expected(name)
    _assert_outputs_keep_the_contract(produced)


async def _send_step(kafka: Kafka, prefix: str, step: list) -> None:
    for topic in INPUT_TOPICS:
        batch = [(m.key, m.value) for m in step if m.topic == topic]
        if batch:
            await produce(kafka.bootstrap, prefix + topic, batch)


async def _play(
    kafka: Kafka, prefix: str, name: str, outputs: OutputReader, counts: list[dict]
) -> None:
    """Each step once the outputs of the one before are in."""
    for number, step in enumerate(steps(load_inputs(name))):
        await _send_step(kafka, prefix, step)
        await outputs.wait_for_counts(counts[number])


async def _record(
    kafka: Kafka, prefix: str, name: str, outputs: OutputReader, group: tuple[str, list[str]]
) -> list[dict]:
    """Each step once the worker has taken in the one before (its group committed every
    input) and the outputs are quiet; the counts each step waits for when played.

    An overdue notice comes by the worker's clock, whenever the lookout finds its request
    late: it counts at the last step only, so that no step of a play waits for it (and
    meanwhile leaves the requests of the step before unanswered)."""
    group_id, consumed = group

    async def taken_in() -> bool:
        return await group_lag(kafka.bootstrap, group_id, consumed) == 0

    counts = []
    for step in steps(load_inputs(name)):
        await _send_step(kafka, prefix, step)
        await wait_until(taken_in, timeout=120, what="the worker to take the step in")
        await outputs.wait_quiet(1.0)
        step_counts = outputs.counts()
        step_counts["credits.notifications"] -= len(_overdue(outputs))
        counts.append(step_counts)
    timeout = _seconds(SCENARIOS[name])
    if timeout < 60:  # a scenario with a late request: quiet until it must be noticed
        await outputs.wait_quiet(timeout + 3, timeout=timeout + 60)
    counts[-1] = outputs.counts()
    return counts


def _overdue(outputs: OutputReader) -> list[dict]:
    return [n for n in outputs.of("credits.notifications") if n["type"] == "recharge_overdue"]


def _seconds(duration: str) -> int:
    return int(duration[:-1]) * {"s": 1, "m": 60, "h": 3600}[duration[-1]]


async def _until_statuses_arrive(outputs: OutputReader, expected: list[dict]) -> None:
    async def arrived() -> bool:
        return (
            sorted(outputs.of("credits.account-status"), key=lambda m: m["account_id"]) == expected
        )

    with contextlib.suppress(TimeoutError):  # a difference is shown by the comparison
        await wait_until(arrived, timeout=30, what="the recorded account statuses")


def _assert_outputs_keep_the_contract(produced: dict[str, list[dict]]) -> None:
    validators = Validators()
    for topic, messages in produced.items():
        for message in messages:
            if topic == "credits.dead-letter":
                where = {"partition": 0, "offset": 0, "received_at": "2026-11-24T00:00:00Z"}
                message = {**message, **where}
            if message.get("type") == "recharge_overdue":  # its clock was masked
                message = {**message, "occurred_at": "2026-11-24T00:00:00Z"}
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
