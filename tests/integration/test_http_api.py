"""The HTTP API over real HTTP, against two workers on the real broker.

Every account is asked of both workers: one of them does not own the account's
partition and must answer all the same (Faust's table routing to the owner).
"""

from __future__ import annotations

import math
from collections import defaultdict
from decimal import Decimal

import aiohttp
import orjson

from tests.fixtures.books import Run, traffic
from tests.fixtures.broker import Kafka
from tests.fixtures.load import generate, price
from tests.fixtures.waiting import wait_until
from tests.fixtures.workers import Workers


async def _get(session: aiohttp.ClientSession, port: str, path: str) -> tuple[int, dict]:
    return await _call(session, "GET", port, path)


async def _call(
    session: aiohttp.ClientSession, method: str, port: str, path: str, body: bytes = b""
) -> tuple[int, dict]:
    async with session.request(method, f"http://127.0.0.1:{port}{path}", data=body) as response:
        return response.status, orjson.loads(await response.read())


async def _two_workers(kafka: Kafka, workers: Workers, name: str) -> tuple[Run, list[str]]:
    """A run with its own topics and group, served by two workers: their HTTP ports."""
    run = Run.new(kafka.bootstrap, name)
    await run.create_inputs()
    env = run.env()
    started = [workers.start("streams worker", env, name=f"w{n}") for n in range(2)]
    await workers.wait_stable(run.app_id, members=2, timeout=120)
    return run, [worker.env["STREAMS_WEB_PORT"] for worker in started]


async def test_every_worker_answers_for_every_account(kafka: Kafka, workers: Workers) -> None:
    run, ports = await _two_workers(kafka, workers, "http")
    load = generate(11, accounts=16, events=0)

    async with traffic(run, seed=11) as sent, aiohttp.ClientSession() as session:
        await sent.send(load.commands)
        await sent.outputs.wait_for_counts({"credits.ledger": len(load.funds)}, timeout=120)

        for port in ports:
            assert await _get(session, port, "/healthz") == (200, {"status": "alive"})
            status, readiness = await _get(session, port, "/readyz")
            assert (status, readiness["ready"]) == (200, True)

        for account, amount in load.funds.items():
            views = [await _get(session, port, f"/accounts/{account}") for port in ports]
            assert views[0] == views[1], f"the two workers disagree about {account}"
            status, view = views[0]
            assert status == 200
            assert view["account_id"] == account
            assert view["balance"] == f"{amount}.00"
            assert view["currency"] == "USD"
            assert view["last_seq"] == 1

        for port in ports:
            status, body = await _get(session, port, "/accounts/org-nobody")
            assert status == 404
            assert "org-nobody" in body["error"]


async def test_commands_sent_over_http_are_applied_and_bad_ones_refused(
    kafka: Kafka, workers: Workers
) -> None:
    run, ports = await _two_workers(kafka, workers, "httpcmd")
    accounts = [f"org-http-{n}" for n in range(6)]

    async with traffic(run, seed=12) as sent, aiohttp.ClientSession() as session:
        for n, account in enumerate(accounts):
            port = ports[n % 2]  # any worker takes commands: it publishes them
            funds = orjson.dumps({"amount": "30.00", "currency": "USD", "command_id": f"c-{n}"})
            assert await _call(session, "POST", port, f"/accounts/{account}/funds", funds) == (
                202,
                {"command_id": f"c-{n}"},
            )
            if n == 0:  # the same request again, a retry: applied once, by its command_id
                await _call(session, "POST", ports[1], f"/accounts/{account}/funds", funds)
            settings = orjson.dumps(
                {
                    "enabled": True,
                    "recharge_amount": "20",
                    "trigger_balance": "5",
                    "currency": "USD",
                }
            )
            status, accepted = await _call(
                session, "PUT", port, f"/accounts/{account}/auto-recharge", settings
            )
            assert status == 202 and accepted["command_id"].startswith("api-")
        await sent.outputs.wait_for_counts({"credits.ledger": len(accounts)}, timeout=120)

        async def settings_applied() -> bool:
            views = [await _get(session, ports[0], f"/accounts/{a}") for a in accounts]
            return all(view.get("auto_recharge") is not None for _, view in views)

        await wait_until(settings_applied, timeout=60, what="the auto-recharge settings")
        for account in accounts:
            status, view = await _get(session, ports[1], f"/accounts/{account}")
            assert status == 200
            assert view["balance"] == "30.00"
            assert view["auto_recharge"] == {
                "enabled": True,
                "recharge_amount": "20.00",
                "recharge_to": None,
                "trigger_balance": "5.00",
                "max_recharges_per_day": 10,
                "status": "on",
            }

        status, refused = await _call(
            session,
            "POST",
            ports[0],
            "/accounts/org-http-0/funds",
            b'{"amount": 5, "currency": "USD"}',
        )
        assert status == 400
        assert refused["error"] == 'amount: 5 is not of type "string"'
        status, refused = await _call(
            session,
            "POST",
            ports[1],
            "/accounts/org-http-0/funds",
            b'{"amount": "0", "currency": "USD"}',
        )
        assert (status, refused["error"]) == (400, "amount must be greater than 0, got 0.00")
    assert len(sent.outputs.of("credits.ledger")) == len(accounts)


def _usage(account: str, event_id: str, at: str, service: str, kind: str, seconds: int):
    country = "GB" if kind == "international" else "US"
    body = {"event_id": event_id, "account_id": account, "occurred_at": at, "country": country}
    body["duration_seconds"] = seconds
    if service == "call":
        body |= {"call_type": kind, "direction": "outbound"}
        return ("usage.call-minutes", account.encode(), orjson.dumps(body))
    body |= {"conference_id": "conf-1", "leg": kind}
    return ("usage.conference-minutes", account.encode(), orjson.dumps(body))


# (when, service, kind, seconds): both sides of midnight on the last day of a month.
USAGE = [
    ("2026-10-31T23:59:30Z", "call", "domestic", 61),
    ("2026-11-01T00:00:10Z", "call", "domestic", 120),
    ("2026-11-01T08:00:00Z", "conference", "dial_out", 300),
    ("2026-11-01T09:00:00Z", "conference", "toll_free_dial_in", 45),
]
LATE = ("2026-10-31T12:00:00Z", "call", "international", 90)  # sent after the others


async def test_usage_windows_by_day_and_month_of_the_usage(kafka: Kafka, workers: Workers) -> None:
    run, ports = await _two_workers(kafka, workers, "httpusage")
    accounts = [f"org-use-{n}" for n in range(6)]
    expected: dict[tuple[str, str], dict[str, list[Decimal]]] = defaultdict(
        lambda: defaultdict(lambda: [Decimal(0), Decimal(0)])
    )
    for at, service, kind, seconds in [*USAGE, LATE]:
        for period, start in (("day", at[:10]), ("month", at[:7])):
            totals = expected[period, start][f"{service}:{kind}"]
            totals[0] += math.ceil(seconds / 60)
            totals[1] += price(service, kind, "GB" if kind == "international" else "US", seconds)

    async with traffic(run, seed=13) as sent, aiohttp.ClientSession() as session:
        for usage in (USAGE, [LATE]):
            await sent.send(
                [
                    _usage(account, f"{account}-{at}", at, service, kind, seconds)
                    for account in accounts
                    for at, service, kind, seconds in usage
                ]
            )
            count = len(accounts) * (len(USAGE) + (usage is not USAGE))
            await sent.outputs.wait_for_counts({"credits.ledger": count}, timeout=120)

        for account in accounts:
            for period in ("day", "month"):
                path = f"/accounts/{account}/usage?period={period}"
                views = [await _get(session, port, path) for port in ports]
                assert views[0] == views[1], f"the two workers disagree about {account}"
                status, view = views[0]
                assert status == 200 and view["period"] == period
                shown = {w["start"][: 10 if period == "day" else 7]: w for w in view["windows"]}
                starts = sorted(start for p, start in expected if p == period)
                assert [s for s in shown if s in starts] == starts[::-1]  # newest first
                for start in starts:
                    services = shown[start]["services"]
                    assert {
                        service: [Decimal(t["minutes"]), Decimal(t["spend"])]
                        for service, t in services.items()
                    } == expected[period, start], (account, period, start)

        for port in ports:
            status, body = await _get(session, port, "/accounts/org-use-0/usage?period=week")
            assert (status, body["error"]) == (400, "period must be day or month, got 'week'")
            status, body = await _get(session, port, "/accounts/org-nobody/usage?period=day")
            assert status == 404
