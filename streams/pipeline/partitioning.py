"""Everything about an account lives on one partition number, in every topic and table.

Keys are the account id, or ``account_id + SEPARATOR + more`` (e.g. the dedupe table's
``account\\x00e:event_id``); the partition comes from the account part alone, hashed the way
Kafka's default partitioner hashes a key, so producers that key by account id agree.

A few records are about a partition rather than an account (its stream time, the index
of the ids it remembers by day): their keys are ``PARTITION_MARK + number [+ SEPARATOR +
more]`` and they go to that partition. No account id starts with a control character.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from functools import lru_cache

from aiokafka.partitioner import murmur2

SEPARATOR = b"\x00"
PARTITION_MARK = b"\x02"


# aiokafka's murmur2 is pure Python, and every input is sent three times or more (forward,
# ledger entry, dedupe record): remember the hashes of the accounts seen lately.
@lru_cache(maxsize=1 << 18)
def _account_hash(account: bytes) -> int:
    return murmur2(account) & 0x7FFFFFFF


def account_partition(key: bytes, partitions: int) -> int:
    head = key.split(SEPARATOR, 1)[0]
    if head[:1] == PARTITION_MARK and head[1:].isdigit():
        return int(head[1:]) % partitions
    return _account_hash(head) % partitions


def partition_key(partition: int, *more: bytes) -> bytes:
    """The key of a record about ``partition`` itself, ``more`` after separators."""
    return SEPARATOR.join((PARTITION_MARK + str(partition).encode(), *more))


def account_partitioner(
    key: bytes | None, all_partitions: Sequence[int], available: Sequence[int] | None
) -> int:
    """aiokafka partitioner (Faust's ``producer_partitioner``)."""
    if key is None:
        return random.choice(available or all_partitions)
    return all_partitions[account_partition(key, len(all_partitions))]
