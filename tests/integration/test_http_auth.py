"""The HTTP API with tokens, over real HTTP, against two workers on the real broker: 401
without a token, a read token reads, only an admin token writes, and a request routed to
the account's owner is checked there too (routing is no way around the check).

A worker on a non-loopback address without tokens does not start at all.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import orjson

from tests.fixtures.books import Run, traffic
from tests.fixtures.broker import Kafka
from tests.fixtures.load import generate
from tests.fixtures.waiting import wait_until
from tests.fixtures.workers import Workers

ADMIN, READER, LOCAL = "admin-secret", "reader-secret", "known-to-w0-only"


def _entry(name: str, token: str, role: str) -> dict[str, str]:
    return {"name": name, "sha256": hashlib.sha256(token.encode()).hexdigest(), "role": role}


def _tokens(path: Path, *extra: dict[str, str]) -> Path:
    entries = [_entry("ops", ADMIN, "admin"), _entry("dash", READER, "read"), *extra]
    path.write_bytes(orjson.dumps({"tokens": entries}))
    return path


async def _call(
    session: aiohttp.ClientSession, method: str, port: str, path: str, token: str | None = None
) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = orjson.dumps({"amount": "5.00", "currency": "USD"}) if method != "GET" else None
    async with session.request(
        method, f"http://127.0.0.1:{port}{path}", headers=headers, data=body
    ) as response:
        return response.status


async def test_tokens_are_checked_by_every_worker_and_by_the_owner(
    kafka: Kafka, workers: Workers, tmp_path: Path
) -> None:
    run = Run.new(kafka.bootstrap, "auth")
    await run.create_inputs()
    files = [
        _tokens(tmp_path / "w0.json", _entry("local", LOCAL, "read")),
        _tokens(tmp_path / "w1.json"),
    ]
    started = [
        workers.start("streams worker", run.env(api_tokens_file=str(f)), name=f"w{n}")
        for n, f in enumerate(files)
    ]
    await workers.wait_stable(run.app_id, members=2, timeout=120)
    w0, w1 = (worker.env["STREAMS_WEB_PORT"] for worker in started)
    load = generate(19, accounts=12, events=0)

    async with traffic(run, seed=19) as sent, aiohttp.ClientSession() as session:
        await sent.send(load.commands)
        await sent.outputs.wait_for_counts({"credits.ledger": len(load.funds)}, timeout=120)
        accounts = sorted(load.funds)
        for port in (w0, w1):
            assert await _call(session, "GET", port, f"/accounts/{accounts[0]}") == 401
            assert await _call(session, "GET", port, "/healthz") == 200
            for account in accounts:  # wherever the owner is: routed with the token
                assert await _call(session, "GET", port, f"/accounts/{account}", READER) == 200
            funds = f"/accounts/{accounts[0]}/funds"
            assert await _call(session, "POST", port, funds, READER) == 403
            assert await _call(session, "POST", port, funds, ADMIN) == 202
        # A token only w0 knows: w0 lets it in, and answers for its own accounts; the
        # requests it routes to w1 are refused there.
        statuses = {
            account: await _call(session, "GET", w0, f"/accounts/{account}", LOCAL)
            for account in accounts
        }
        assert set(statuses.values()) == {200, 401}, statuses
        assert await _call(session, "GET", w0, "/accounts", READER) == 200
        assert await _call(session, "GET", w0, "/accounts", LOCAL) == 503  # w1 said 401

        async def credited() -> bool:
            entries = sent.outputs.of("credits.ledger")
            return sum(e["account_id"] == accounts[0] for e in entries) == 3

        await wait_until(credited, timeout=60, what="both admin writes applied")


def test_a_worker_on_a_public_address_without_tokens_does_not_start(tmp_path: Path) -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "streams", "worker"],
        env={"PATH": "/usr/bin:/bin", "STREAMS_WEB_BIND": "0.0.0.0", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "Error: STREAMS_WEB_BIND=0.0.0.0 needs STREAMS_API_TOKENS_FILE: without tokens the "
        "HTTP API (which adds funds) listens on loopback only"
    ]
    assert time.monotonic() - started < 30
