"""GET /accounts gathered from every worker of the group: this worker's part read here,
the others' asked over HTTP (``?scope=local``), merged by ``all_accounts.merge``."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import faust
import orjson
from yarl import URL

from streams.api.all_accounts import Account, local_part, merge, partition_count
from streams.api.worker import AccountStore, Readiness
from streams.pipeline.partitioning import account_partition

# How long GET /accounts waits for each other worker's part.
PEER_TIMEOUT = 5.0

Part = dict[str, Any]


class Unavailable(Exception):
    """A part of GET /accounts cannot be had now; str() says which and why."""


class Group:
    """The consumer group as the accounts table's partitions are assigned in it."""

    def __init__(self, app: faust.App, accounts: faust.Table) -> None:
        self.app = app
        self.table = accounts.name
        self.changelog = accounts.changelog_topic.get_topic_name()

    @property
    def me(self) -> str:
        """This worker's URL, as the other members know it."""
        return str(self.app.conf.canonical_url)

    def owners(self) -> dict[str, dict[str, list[int]]]:
        """Worker URL -> its partitions of the accounts table, as the group assigned them."""
        return self.app.router.table_metadata(self.table)

    def owned(self) -> set[int]:
        """The partitions this worker owns (not those it holds standby copies of)."""
        actives = self.app.assignor.assigned_actives()
        return {tp.partition for tp in actives if tp.topic == self.changelog}


class LocalPart:
    """This worker's part: the accounts of the partitions it owns, and those partitions."""

    def __init__(self, group: Group, store: AccountStore, readiness: Readiness) -> None:
        self.group = group
        self.store = store
        self.readiness = readiness

    def part(self) -> Part:
        if not self.readiness.state()["ready"]:
            raise Unavailable(f"{self.group.me} is not ready (see its /readyz)")
        count = partition_count(self.group.owners(), self.group.changelog)
        owned = self.group.owned()
        stored = self.store.rows()
        return local_part(stored, lambda key: account_partition(key, count), owned)


class Peers:
    """Asks another worker for its part. The HTTP client is the app's, taken when first
    asked: the app makes it then, in the running loop."""

    def __init__(self, app: faust.App, timeout: float = PEER_TIMEOUT) -> None:
        self.app = app
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def part(self, worker: str, authorization: str | None = None) -> Part:
        url = URL(worker).with_path("/accounts").with_query(scope="local")
        headers = {"Authorization": authorization} if authorization else None
        try:
            async with self.app.http_client.get(
                url, timeout=self.timeout, headers=headers
            ) as response:
                body = orjson.loads(await response.read())
        except (aiohttp.ClientError, TimeoutError, orjson.JSONDecodeError) as error:
            raise Unavailable(f"{worker} did not answer: {error!r}") from None
        if response.status != 200:
            raise Unavailable(f"{worker} answered {response.status}: {body.get('error')}")
        return body


class EveryAccount:
    """Every account of the group: each worker's part, merged (Incomplete if the parts do
    not cover every partition exactly once, Unavailable if a part cannot be had)."""

    def __init__(self, group: Group, local: LocalPart, peers: Peers) -> None:
        self.group = group
        self.local = local
        self.peers = peers

    async def accounts(self, authorization: str | None = None) -> list[Account]:
        """``authorization``: the caller's header, shown to the other workers."""
        assigned = self.group.owners()
        count = partition_count(assigned, self.group.changelog)
        workers = list(assigned)
        parts = await asyncio.gather(*(self.part_of(w, authorization) for w in workers))
        return merge(dict(zip(workers, parts, strict=True)), count)

    async def part_of(self, worker: str, authorization: str | None = None) -> Part:
        if worker == self.group.me:
            return self.local.part()
        return await self.peers.part(worker, authorization)
