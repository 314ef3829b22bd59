"""HTTP views: the account view (answered by the worker that owns the account's
partition, whichever worker the request reaches), every account (gathered from every
worker), commands (validated, then published to credits.commands, like any admin tool's),
liveness and readiness."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import aiohttp
import faust
import orjson
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST
from yarl import URL

from streams.api.account_view import account_view
from streams.api.all_accounts import Incomplete, local_part, merge, partition_count
from streams.api.commands import ADD_FUNDS, CONFIGURE_AUTO_RECHARGE, BadCommand, build_command
from streams.api.usage_view import usage_view
from streams.domain import AccountState
from streams.domain.usage import DAY, PERIODS, UsageWindows
from streams.observe.metrics import Metrics
from streams.pipeline.partitioning import account_partition
from streams.pipeline.state import decode, decode_windows
from streams.pipeline.tables import ACCOUNTS, USAGE_WINDOWS
from streams.wire.decode import Decoder

JSON = "application/json"

# How long GET /accounts waits for each other worker's part.
PEER_TIMEOUT = 5.0


class Unavailable(Exception):
    """A part of GET /accounts cannot be had now; str() says which and why."""


def register(app: faust.App, decoder: Decoder, commands_topic: str, metrics: Metrics) -> None:
    accounts = app.tables[ACCOUNTS]
    usage_windows = app.tables[USAGE_WINDOWS]
    changelog = accounts.changelog_topic.get_topic_name()

    def readiness() -> dict[str, bool]:
        recovered = app.tables.recovery.completed.is_set()
        assigned = bool(app.consumer.assignment())
        ready = recovered and assigned and not app.rebalancing
        return {"ready": ready, "tables_recovered": recovered, "partitions_assigned": assigned}

    def owners() -> dict[str, dict[str, list[int]]]:
        """Worker URL -> its partitions of the accounts table, as the group assigned them."""
        return app.router.table_metadata(ACCOUNTS)

    def local_accounts() -> dict[str, Any]:
        """The accounts of the partitions this worker owns (not its standby copies)."""
        if not readiness()["ready"]:
            raise Unavailable(f"{app.conf.canonical_url} is not ready (see its /readyz)")
        count = partition_count(owners(), changelog)
        owned = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == changelog}
        stored = list(accounts.data.items())  # a copy: the stage may write meanwhile
        return local_part(stored, lambda key: account_partition(key, count), owned)

    async def part_of(worker: str) -> dict[str, Any]:
        if worker == str(app.conf.canonical_url):
            return local_accounts()
        url = URL(worker).with_path("/accounts").with_query(scope="local")
        try:
            async with app.http_client.get(
                url, timeout=aiohttp.ClientTimeout(total=PEER_TIMEOUT)
            ) as response:
                body = orjson.loads(await response.read())
        except (aiohttp.ClientError, TimeoutError, orjson.JSONDecodeError) as error:
            raise Unavailable(f"{worker} did not answer: {error!r}") from None
        if response.status != 200:
            raise Unavailable(f"{worker} answered {response.status}: {body.get('error')}")
        return body

    async def every_account() -> list[dict[str, Any]]:
        assigned = owners()
        count = partition_count(assigned, changelog)
        workers = list(assigned)
        parts = await asyncio.gather(*(part_of(worker) for worker in workers))
        return merge(dict(zip(workers, parts, strict=True)), count)

    @app.page("/accounts")
    async def all_accounts(web: View, request: Request) -> Response:
        """Every account (``?scope=local``: only those of this worker's partitions)."""
        try:
            if request.query.get("scope") == "local":
                return _json(web, local_accounts())
            return _json(web, {"accounts": await every_account()})
        except (Unavailable, Incomplete) as error:
            return _json(web, {"error": str(error)}, status=503)

    async def publish(web: View, request: Request, command_type: str, account_id: str) -> Response:
        """Validate the body as a command, publish it to credits.commands; 202 with its id."""
        try:
            command_id, value = build_command(
                decoder,
                command_type,
                account_id,
                await request.read(),
                datetime.now(UTC),
                new_id=f"api-{uuid.uuid4()}",
            )
        except BadCommand as error:
            return _json(web, {"error": str(error)}, status=400)
        await app.producer.send_and_wait(
            commands_topic, account_id.encode(), value, None, None, None
        )
        return _json(web, {"command_id": command_id}, status=202)

    @app.page("/accounts/{account_id}/funds")
    class Funds(View):
        async def post(self, request: Request, account_id: str) -> Response:
            return await publish(self, request, ADD_FUNDS, account_id)

    @app.page("/accounts/{account_id}/auto-recharge")
    class AutoRecharge(View):
        async def put(self, request: Request, account_id: str) -> Response:
            return await publish(self, request, CONFIGURE_AUTO_RECHARGE, account_id)

    def stored_state(account_id: str) -> AccountState | None:
        stored = accounts.get(account_id.encode())
        return None if stored is None else decode(stored)[0]

    @app.page("/accounts/{account_id}")
    @app.table_route(table=accounts, match_info="account_id")
    async def account(web: View, request: Request, account_id: str) -> Response:
        state = stored_state(account_id)
        if state is None:
            return _no_account(web, account_id)
        return web.bytes(account_view(state), content_type=JSON)

    @app.page("/accounts/{account_id}/usage")
    @app.table_route(table=usage_windows, match_info="account_id")
    async def usage(web: View, request: Request, account_id: str) -> Response:
        period = request.query.get("period", DAY)
        if period not in PERIODS:
            return _json(web, {"error": f"period must be day or month, got {period!r}"}, 400)
        state = stored_state(account_id)
        if state is None:
            return _no_account(web, account_id)
        stored_windows = usage_windows.get(account_id.encode())
        windows = decode_windows(stored_windows)[0] if stored_windows else UsageWindows()
        today = datetime.now(UTC).date()
        return web.bytes(
            usage_view(account_id, state.currency, windows, period, today), content_type=JSON
        )

    @app.page("/metrics")
    async def prometheus(web: View, request: Request) -> Response:
        # In a header: aiohttp refuses a charset in content_type.
        return web.bytes(metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    @app.page("/healthz")
    async def healthz(web: View, request: Request) -> Response:
        return _json(web, {"status": "alive"})

    @app.page("/readyz")
    async def readyz(web: View, request: Request) -> Response:
        body = readiness()
        return _json(web, body, status=200 if body["ready"] else 503)


def _no_account(web: View, account_id: str) -> Response:
    return _json(web, {"error": f"no account {account_id!r}"}, status=404)


def _json(web: View, body: dict, status: int = 200) -> Response:
    return web.bytes(orjson.dumps(body), content_type=JSON, status=status)
