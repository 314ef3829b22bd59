"""A recharge request billing never answers is notified overdue once, even when the
worker that sent it is killed before the timeout; one answered in time never is."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp
import orjson
import pytest

from tests.fixtures.books import Run
from tests.fixtures.broker import Kafka, announce
from tests.fixtures.kafka_io import own_topic_config, produce
from tests.fixtures.outputs import OutputReader
from tests.fixtures.scrape import totals
from tests.fixtures.waiting import wait_until
from tests.fixtures.workers import WorkerProcess, Workers

TIMEOUT = 8  # seconds: STREAMS_RECHARGE_TIMEOUT of this test


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _command(account: str, command_id: str, **fields: object) -> tuple[bytes, bytes]:
    body = {"command_id": command_id, "account_id": account, "issued_at": _now(), **fields}
    return account.encode(), orjson.dumps(body)


def _setup(account: str) -> list[tuple[bytes, bytes]]:
    """Funds below the trigger, then auto-recharge on: a request goes out at once."""
    return [
        _command(account, f"{account}-f", type="add_funds", amount="1.00", currency="USD"),
        _command(
            account,
            f"{account}-a",
            type="configure_auto_recharge",
            enabled=True,
            recharge_amount="10.00",
            trigger_balance="5.00",
            currency="USD",
        ),
    ]


def _overdue(outputs: OutputReader) -> dict[str, list[str]]:
    """request_id -> the ids of the recharge_overdue notices about it."""
    found: dict[str, list[str]] = {}
    for note in outputs.of("credits.notifications"):
        if note["type"] == "recharge_overdue":
            found.setdefault(note["request_id"], []).append(note["notification_id"])
    return found


async def _looks(worker: WorkerProcess) -> int:
    async with aiohttp.ClientSession() as session:
        figures = await totals(session, worker.env["STREAMS_WEB_PORT"])
    return int(figures.get("credits_overdue_looks_total", 0))


@pytest.mark.chaos
async def test_an_unanswered_request_is_overdue_once_across_a_crash(
    kafka: Kafka, workers: Workers, request: pytest.FixtureRequest
) -> None:
    run = Run.new(kafka.bootstrap, "overdue")
    await run.create_inputs()
    env = run.env(recharge_timeout=f"{TIMEOUT}s")
    first = workers.start("streams worker", env, name="first")
    await workers.wait_stable(run.app_id, members=1, timeout=120)
    commands, results = run.prefix + "credits.commands", run.prefix + "billing.recharge-results"

    async with OutputReader(kafka.bootstrap, run.prefix) as outputs:
        await produce(kafka.bootstrap, commands, _setup("silent") + _setup("prompt"))
        await outputs.wait_for_counts({"credits.recharge-requested": 2}, timeout=60)
        sent = datetime.now(UTC)
        answer = {
            "request_id": "prompt:rr:1",
            "account_id": "prompt",
            "status": "succeeded",
            "amount": "10.00",
            "currency": "USD",
            "completed_at": _now(),
        }
        await produce(kafka.bootstrap, results, [(b"prompt", orjson.dumps(answer))])
        await outputs.wait_for_counts({"credits.ledger": 3}, timeout=60)  # 2 funds, 1 credit
        first.kill()  # before the timeout: the request of "silent" is still waiting
        assert (datetime.now(UTC) - sent).total_seconds() < TIMEOUT
        assert _overdue(outputs) == {}

        second = workers.start("streams worker", env, name="second")  # a new machine

        async def noticed() -> bool:
            return bool(_overdue(outputs))

        await wait_until(noticed, timeout=120, what="the overdue notice after the restart")
        # It must not come again: three more looks at the index, then count.
        looks = await _looks(second)

        async def looked_again() -> bool:
            return await _looks(second) >= looks + 3

        await wait_until(looked_again, timeout=60, what="three more looks for late requests")
        assert _overdue(outputs) == {"silent:rr:1": ["silent:n:1"]}
        statuses = {s["account_id"]: s for s in outputs.of("credits.account-status")}
    assert statuses["silent"]["pending_request_id"] == "silent:rr:1"  # still pending
    assert statuses["prompt"]["pending_request_id"] is None
    status_topic = run.prefix + "credits.account-status"
    compaction = await own_topic_config(kafka.bootstrap, [status_topic], "cleanup.policy")
    assert compaction == {status_topic: "compact"}  # telephony keeps the latest per account
    announce(
        request.config,
        f"overdue: noticed {(datetime.now(UTC) - sent).total_seconds():.1f} s after the "
        f"request (timeout {TIMEOUT} s), once, after the sending worker was killed",
    )
