"""``GET /accounts``: every account, whichever worker owns it.

Each worker holds the accounts of the partitions it owns (plus standby copies of others,
which are left out: they may lag). The worker asked asks every member of the group for
its own part (``?scope=local``) and merges the parts; the merge is complete only if every
partition was answered for exactly once, which is not so while the group rebalances.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from streams.api.account_view import account_fields
from streams.pipeline.state import decode

Account = dict[str, Any]


class Incomplete(Exception):
    """The parts do not cover every partition exactly once; str() says what is off."""


def partition_count(owners: Mapping[str, Mapping[str, Iterable[int]]], topic: str) -> int:
    """How many partitions ``topic`` has, from the assignor's worker URL -> topic ->
    partitions map; Incomplete unless they are all assigned, 0 to n - 1."""
    assigned = {p for topics in owners.values() for p in topics.get(topic, ())}
    if not assigned or assigned != set(range(len(assigned))):
        raise Incomplete(f"the partitions of {topic} are not all assigned: try again")
    return len(assigned)


def local_part(
    stored: Iterable[tuple[bytes, bytes]],
    partition_of: Callable[[bytes], int],
    owned: set[int],
) -> dict[str, Any]:
    """This worker's part: the accounts of the partitions it owns, and those partitions."""
    accounts = [
        account_fields(decode(value)[0]) for key, value in stored if partition_of(key) in owned
    ]
    return {"partitions": sorted(owned), "accounts": sorted(accounts, key=_account_id)}


def merge(parts: Mapping[str, Mapping[str, Any]], partitions: int) -> list[Account]:
    """All accounts by account_id, from each worker's part (by worker URL).

    Raises Incomplete if a partition is missing or answered for twice.
    """
    owner: dict[int, str] = {}
    for worker, part in parts.items():
        for partition in part["partitions"]:
            if partition in owner:
                raise Incomplete(
                    f"partition {partition} is owned by both {owner[partition]} and {worker}: "
                    "the group is rebalancing, try again"
                )
            owner[partition] = worker
    missing = sorted(set(range(partitions)) - owner.keys())
    if missing:
        raise Incomplete(
            f"no worker owns partition(s) {', '.join(map(str, missing))}: "
            "the group is rebalancing, try again"
        )
    accounts = [account for part in parts.values() for account in part["accounts"]]
    return sorted(accounts, key=_account_id)


def _account_id(account: Account) -> str:
    return account["account_id"]
