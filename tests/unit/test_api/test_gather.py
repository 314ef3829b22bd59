"""GET /accounts gathered: this worker's part, the others' asked over HTTP, merged."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from faust.types import TP

from streams.api.account_view import account_fields
from streams.api.all_accounts import Incomplete
from streams.api.gather import EveryAccount, Group, LocalPart, Peers, Unavailable
from streams.api.worker import AccountStore, readiness
from streams.domain import AccountState
from streams.pipeline.partitioning import account_partition
from streams.pipeline.state import encode
from tests.unit.test_api.fakes import FakeTable

ME, OTHER = "http://w1:6066", "http://w2:6066"
CHANGELOG = "app-accounts-changelog"
STATES = [AccountState(account_id=f"org-{n}", balance=n) for n in range(12)]


class _GroupApp:
    """The app as Group reads it: its URL, the assignor's table metadata, its actives."""

    def __init__(self, owners: dict[str, list[int]]) -> None:
        self.conf = SimpleNamespace(canonical_url=ME)
        self.owners = {worker: {CHANGELOG: parts} for worker, parts in owners.items()}
        self.router = SimpleNamespace(table_metadata=self.table_metadata)
        actives = {TP(CHANGELOG, p) for p in owners.get(ME, [])} | {TP("other", 0)}
        self.assignor = SimpleNamespace(assigned_actives=lambda: actives)

    def table_metadata(self, table: str) -> dict:
        assert table == "accounts"
        return self.owners


class _Ready:
    def __init__(self, ready: bool = True) -> None:
        self.ready = ready

    def state(self) -> dict[str, bool]:
        return readiness(recovered=self.ready, assigned=True, rebalancing=False)


def _local(owners: dict[str, list[int]], ready: bool = True) -> LocalPart:
    rows = {state.account_id.encode(): encode(state, 1) for state in STATES}
    accounts = FakeTable("accounts", rows, changelog=CHANGELOG)
    group = Group(_GroupApp(owners), accounts)  # type: ignore[arg-type]
    store = AccountStore(accounts, FakeTable("usage-windows"))  # type: ignore[arg-type]
    return LocalPart(group, store, _Ready(ready))  # type: ignore[arg-type]


def _of(partitions: set[int]) -> list[dict]:
    return [
        account_fields(state)
        for state in STATES
        if account_partition(state.account_id.encode(), 4) in partitions
    ]


def test_the_local_part_is_the_accounts_of_the_owned_partitions() -> None:
    part = _local({ME: [0, 2], OTHER: [1, 3]}).part()

    assert part == {"partitions": [0, 2], "accounts": _of({0, 2})}


def test_no_local_part_from_a_worker_not_ready() -> None:
    with pytest.raises(Unavailable, match=f"^{ME} is not ready"):
        _local({ME: [0, 1, 2, 3]}, ready=False).part()


class _Peers:
    def __init__(self, parts: dict[str, dict]) -> None:
        self.parts = parts

    async def part(self, worker: str, authorization: str | None = None) -> dict:
        return self.parts[worker]


async def test_every_account_merges_this_workers_part_and_the_others() -> None:
    local = _local({ME: [0, 2], OTHER: [1, 3]})
    other = {"partitions": [1, 3], "accounts": _of({1, 3})}
    every = EveryAccount(local.group, local, _Peers({OTHER: other}))  # type: ignore[arg-type]

    accounts = await every.accounts()

    assert accounts == sorted(_of({0, 1, 2, 3}), key=lambda account: account["account_id"])


async def test_every_account_is_incomplete_while_a_partition_is_answered_twice() -> None:
    local = _local({ME: [0, 1], OTHER: [2, 3]})
    other = {"partitions": [1, 2, 3], "accounts": []}
    every = EveryAccount(local.group, local, _Peers({OTHER: other}))  # type: ignore[arg-type]

    with pytest.raises(Incomplete, match="partition 1 is owned by both"):
        await every.accounts()


class _Peer:
    """A worker answering GET /accounts?scope=local as ``answer`` says."""

    def __init__(self) -> None:
        self.answer = "part"
        app = web.Application()
        app.router.add_get("/accounts", self.accounts)
        self.server = TestServer(app)
        self.url = ""

    async def accounts(self, request: web.Request) -> web.Response:
        assert request.query["scope"] == "local"
        if self.answer == "refused":
            return web.json_response({"error": "not ready"}, status=503)
        if self.answer == "garbage":
            return web.Response(body=b"<html>")
        return web.json_response({"partitions": [1], "accounts": []})


@pytest.fixture
async def peer() -> AsyncIterator[_Peer]:
    peer = _Peer()
    await peer.server.start_server()
    peer.url = str(peer.server.make_url("/"))
    yield peer
    await peer.server.close()


async def test_a_peer_is_asked_for_its_local_part(peer: _Peer) -> None:
    async with aiohttp.ClientSession() as session:
        peers = Peers(SimpleNamespace(http_client=session))  # type: ignore[arg-type]
        assert await peers.part(peer.url) == {"partitions": [1], "accounts": []}


async def test_a_peer_that_cannot_answer_is_unavailable(peer: _Peer) -> None:
    async with aiohttp.ClientSession() as session:
        peers = Peers(SimpleNamespace(http_client=session), timeout=2.0)  # type: ignore[arg-type]
        peer.answer = "refused"
        with pytest.raises(Unavailable, match="answered 503: not ready"):
            await peers.part(peer.url)
        peer.answer = "garbage"
        with pytest.raises(Unavailable, match="did not answer: JSONDecodeError"):
            await peers.part(peer.url)
        await peer.server.close()
        with pytest.raises(Unavailable, match="did not answer: ClientConnectorError"):
            await peers.part(peer.url)
