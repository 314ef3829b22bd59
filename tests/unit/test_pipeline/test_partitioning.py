"""Every key of an account lands on the partition Kafka's default partitioner picks."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner

from streams.pipeline.partitioning import SEPARATOR, account_partition, account_partitioner

PARTITIONS = list(range(8))


def test_plain_account_keys_match_kafkas_default_partitioner() -> None:
    default = DefaultPartitioner()
    for n in range(200):
        key = f"org-{n}".encode()
        assert account_partitioner(key, PARTITIONS, PARTITIONS) == default(
            key, PARTITIONS, PARTITIONS
        )


def test_keys_with_a_suffix_follow_their_account() -> None:
    for n in range(200):
        account = f"org-{n}".encode()
        suffixed = account + SEPARATOR + f"event-{n * 7}".encode()
        assert account_partition(suffixed, 8) == account_partition(account, 8)
    spread = {account_partition(f"org-{n}".encode(), 8) for n in range(200)}
    assert spread == set(PARTITIONS)
