"""Everything about an account lives on one partition number, in every topic and table.

Keys are the account id, or ``account_id + SEPARATOR + more`` (e.g. the dedupe table's
``account\\x00event_id``); the partition comes from the account part alone, hashed the way
Kafka's default partitioner hashes a key, so producers that key by account id agree.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from aiokafka.partitioner import murmur2

SEPARATOR = b"\x00"


def account_partition(key: bytes, partitions: int) -> int:
    account = key.split(SEPARATOR, 1)[0]
    return (murmur2(account) & 0x7FFFFFFF) % partitions


def account_partitioner(
    key: bytes | None, all_partitions: Sequence[int], available: Sequence[int] | None
) -> int:
    """aiokafka partitioner (Faust's ``producer_partitioner``)."""
    if key is None:
        return random.choice(available or all_partitions)
    return all_partitions[account_partition(key, len(all_partitions))]
