"""A worker and the commands against a secured Kafka: SASL_SSL with SCRAM-SHA-512 and a
certificate authority made for the test.

The broker is not the session's: `streams broker --sasl-ssl-port` runs one for this
module, and the settings it prints are all the worker and the commands are given. The
test's own look at the consumer group goes through the broker's plaintext listener.
"""

from __future__ import annotations

import asyncio
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import orjson
import pytest

from streams.broker.local import free_port
from tests.fixtures.broker import Kafka
from tests.fixtures.commands import streams
from tests.fixtures.waiting import wait_until
from tests.fixtures.workers import REPO, Workers

READY = re.compile(r"ready at kafka://(127\.0\.0\.1:\d+)")
EXPORT = re.compile(r"^\s+export (STREAMS_[A-Z_]+)=(.+)$")
BROKER_START_TIMEOUT = 90.0
# A refusal is one connection and one more to say why: seconds, even on a busy machine.
REFUSAL_WITHIN = 20.0
CALL = {
    "occurred_at": "2026-11-24T10:00:00Z",
    "call_type": "domestic",
    "direction": "outbound",
    "country": "NO",
}


@dataclass(frozen=True)
class SecuredBroker:
    plaintext: str  # host:port of its plaintext listener
    settings: dict[str, str]  # the STREAMS_* it printed for its SASL_SSL clients
    log: Path

    @property
    def server(self) -> str:
        return self.settings["STREAMS_BROKER"].removeprefix("kafka://")


def _lines(stream: IO[str]) -> tuple[queue.Queue[str | None], threading.Thread]:
    """The lines of ``stream`` as they come, read by a thread; None at its end."""
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        for line in stream:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return lines, reader


def _until_ready(lines: queue.Queue[str | None]) -> tuple[str, dict[str, str], list[str]]:
    """The plaintext listener and the printed client settings, once the broker is ready."""
    deadline = time.monotonic() + BROKER_START_TIMEOUT
    seen: list[str] = []
    settings: dict[str, str] = {}
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        if export := EXPORT.match(line):
            (settings[export.group(1)],) = shlex.split(export.group(2))
        if ready := READY.search(line):
            return ready.group(1), settings, seen
    raise AssertionError(f"no ready line within {BROKER_START_TIMEOUT:.0f} s:\n{''.join(seen)}")


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredBroker]:
    state_dir = tmp_path_factory.mktemp("secured-kafka")
    command = [sys.executable, "-m", "streams", "broker", "--port", str(free_port())]
    command += ["--sasl-ssl-port", str(free_port()), "--state-dir", str(state_dir)]
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    lines, reader = _lines(process.stdout)
    try:
        plaintext, settings, _ = _until_ready(lines)
        yield SecuredBroker(plaintext, settings, state_dir / "server.log")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(10)
        process.stdout.close()


@pytest.fixture
def workers(secured: SecuredBroker, tmp_path: Path) -> Iterator[Workers]:
    """Workers of the secured broker (the name makes a failed test show their logs)."""
    pool = Workers(Kafka(secured.settings["STREAMS_BROKER"], None), tmp_path)
    try:
        yield pool
    finally:
        pool.close()


def _run_settings(secured: SecuredBroker, **extra: str) -> dict[str, str]:
    """The printed client settings, and this test's own topics and group."""
    run = uuid.uuid4().hex[:8]
    return {
        **secured.settings,
        "STREAMS_TOPIC_PREFIX": f"sec-{run}.",
        "STREAMS_APP_ID": f"sec-{run}",
        "STREAMS_PARTITIONS": "2",
        "STREAMS_REPLICATION_FACTOR": "1",
        **extra,
    }


async def test_a_worker_rates_usage_that_replay_sends_and_tail_reads_through_sasl_ssl(
    secured: SecuredBroker, workers: Workers, tmp_path: Path
) -> None:
    settings = _run_settings(secured)
    worker = workers.start("streams worker", settings)
    await workers.wait_stable(settings["STREAMS_APP_ID"], 1, bootstrap=secured.plaintext)
    calls = tmp_path / "calls.jsonl"
    calls.write_bytes(
        b"\n".join(
            orjson.dumps(
                {"event_id": f"c-{n}", "account_id": account, **CALL, "duration_seconds": s}
            )
            for n, (account, s) in enumerate([("contoso", 125), ("fabrikam", 60)])
        )
    )

    sent = await streams(settings, "replay", str(calls), "--topic", "usage.call-minutes")
    assert (sent.status, sent.stderr) == (0, ""), sent
    assert sent.stdout.startswith(f"sent 2 messages to {settings['STREAMS_TOPIC_PREFIX']}usage.")

    entries: dict[str, dict] = {}

    async def both_rated() -> bool:
        done = await streams(
            settings, "tail", "credits.ledger", "--from-beginning", "--exit-at-end"
        )
        assert (done.status, done.stderr) == (0, ""), done
        for line in done.stdout.splitlines():
            entry = orjson.loads(line.split(" ", 3)[3])
            entries[entry["account_id"]] = entry
        return len(entries) == 2

    await wait_until(both_rated, timeout=60, what="both calls rated in credits.ledger", every=1)
    assert {account: (e["kind"], e["source_id"]) for account, e in entries.items()} == {
        "contoso": ("usage", "c-0"),
        "fabrikam": ("usage", "c-1"),
    }
    assert all(entry["amount"].startswith("-") for entry in entries.values())
    assert worker.stop() == 0


@pytest.mark.parametrize(
    "command",
    [
        ["tail", "credits.ledger", "--exit-at-end"],
        ["replay", "-", "--topic", "usage.call-minutes"],
    ],
)
async def test_a_wrong_password_stops_a_command_with_one_line(
    secured: SecuredBroker, command: list[str]
) -> None:
    settings = _run_settings(secured, STREAMS_KAFKA_SASL_PASSWORD="not-the-password")
    call = {"event_id": "c-1", "account_id": "contoso", **CALL, "duration_seconds": 1}
    done = await streams(settings, *command, stdin=orjson.dumps(call) + b"\n")
    assert done.status == 2, done
    assert done.stderr.splitlines() == [f"Error: {_refused(secured)}"]
    assert done.seconds < REFUSAL_WITHIN


async def test_a_wrong_password_stops_the_worker_at_start_with_one_line(
    secured: SecuredBroker,
    workers: Workers,
) -> None:
    """Not "waiting for Kafka" forever: the broker answered, and said no."""
    settings = _run_settings(secured, STREAMS_KAFKA_SASL_PASSWORD="not-the-password")
    started = time.monotonic()
    worker = workers.start("streams worker", settings)
    assert worker.process is not None
    status = await asyncio.to_thread(worker.process.wait, 60)
    took = time.monotonic() - started
    assert status == 2, worker.log()
    assert worker.log().splitlines() == [f"Error: {_refused(secured)}"]
    assert took < REFUSAL_WITHIN


async def test_a_broker_certificate_of_an_untrusted_authority_is_one_line(
    secured: SecuredBroker,
) -> None:
    """Without the generated CA file the system's authorities are trusted, not this one."""
    settings = {k: v for k, v in _run_settings(secured).items() if k != "STREAMS_KAFKA_CA_FILE"}
    done = await streams(settings, "tail", "credits.ledger", "--exit-at-end")
    assert done.status == 2, done
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"Error: Kafka at {secured.server} has a TLS certificate this client ")
    assert line.endswith("; check STREAMS_KAFKA_CA_FILE")
    assert done.seconds < REFUSAL_WITHIN


async def test_a_client_without_sasl_is_told_the_listener_may_need_it(
    secured: SecuredBroker,
) -> None:
    """SSL alone gets through TLS and the first exchange, then the broker hangs up."""
    settings = {
        k: v for k, v in _run_settings(secured).items() if not k.startswith("STREAMS_KAFKA_SASL")
    }
    settings["STREAMS_KAFKA_SECURITY_PROTOCOL"] = "SSL"
    done = await streams(settings, "tail", "credits.ledger", "--exit-at-end")
    assert done.status == 2, done
    assert done.stderr.splitlines() == [
        f"Error: Kafka at {secured.server} closed the connection at the first request: its "
        "listener may need SASL; check STREAMS_KAFKA_SECURITY_PROTOCOL"
    ]
    assert done.seconds < REFUSAL_WITHIN


def _refused(secured: SecuredBroker) -> str:
    return (
        f"Kafka at {secured.server} refused SASL authentication of user 'streams' "
        "(SCRAM-SHA-512): Authentication failed during authentication due to invalid "
        "credentials with SASL mechanism SCRAM-SHA-512; check the STREAMS_KAFKA_SASL_* settings"
    )
