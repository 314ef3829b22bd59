"""GET /accounts: a worker's own part, and the merge that is complete or says why not."""

from __future__ import annotations

import pytest

from streams.api.account_view import account_fields
from streams.api.all_accounts import Incomplete, local_part, merge, partition_count
from streams.domain import AccountState
from streams.pipeline.partitioning import account_partition
from streams.pipeline.state import encode

TOPIC = "app-accounts-changelog"


def _stored(*states: AccountState) -> list[tuple[bytes, bytes]]:
    return [(state.account_id.encode(), encode(state, applied_offset=3)) for state in states]


def _view(account_id: str, balance: int = 0) -> dict:
    return account_fields(AccountState(account_id=account_id, balance=balance))


def test_the_partition_count_is_that_of_the_assigned_partitions() -> None:
    owners = {"http://a:1": {TOPIC: [0, 2], "other": [5]}, "http://b:1": {TOPIC: [1, 3]}}
    assert partition_count(owners, TOPIC) == 4


@pytest.mark.parametrize(
    "owners",
    [{}, {"http://a:1": {TOPIC: []}}, {"http://a:1": {TOPIC: [0, 2]}}],
    ids=["no member", "nothing assigned", "partition 1 unassigned"],
)
def test_partitions_not_all_assigned_are_incomplete(owners: dict) -> None:
    with pytest.raises(Incomplete, match="not all assigned"):
        partition_count(owners, TOPIC)


def test_the_local_part_has_the_owned_partitions_accounts_only_sorted() -> None:
    states = [AccountState(account_id=f"org-{n}", balance=n * 10_000) for n in range(40)]
    owned = {1, 3}

    part = local_part(_stored(*states), lambda key: account_partition(key, 4), owned)

    expected = sorted(
        s.account_id for s in states if account_partition(s.account_id.encode(), 4) in owned
    )
    assert part["partitions"] == [1, 3]
    assert [account["account_id"] for account in part["accounts"]] == expected
    assert 0 < len(expected) < 40  # both kinds are there: some kept, some left out
    org = next(a for a in part["accounts"] if a["account_id"] == expected[0])
    assert org == _view(expected[0], int(expected[0].removeprefix("org-")) * 10_000)


def test_parts_that_cover_every_partition_once_merge_by_account_id() -> None:
    parts = {
        "http://a:1": {"partitions": [0, 2], "accounts": [_view("org-b"), _view("org-d")]},
        "http://b:1": {"partitions": [1], "accounts": [_view("org-a"), _view("org-c")]},
        "http://c:1": {"partitions": [], "accounts": []},
    }
    merged = merge(parts, partitions=3)
    assert [account["account_id"] for account in merged] == ["org-a", "org-b", "org-c", "org-d"]


def test_a_partition_answered_for_twice_is_incomplete() -> None:
    parts = {
        "http://a:1": {"partitions": [0, 1], "accounts": [_view("org-a")]},
        "http://b:1": {"partitions": [1], "accounts": [_view("org-a")]},
    }
    with pytest.raises(Incomplete) as raised:
        merge(parts, partitions=2)
    assert str(raised.value) == (
        "partition 1 is owned by both http://a:1 and http://b:1: "
        "the group is rebalancing, try again"
    )


def test_a_partition_nobody_answered_for_is_incomplete() -> None:
    parts = {"http://a:1": {"partitions": [0, 3], "accounts": []}}
    with pytest.raises(Incomplete) as raised:
        merge(parts, partitions=4)
    assert str(raised.value) == (
        "no worker owns partition(s) 1, 2: the group is rebalancing, try again"
    )
