"""What a partition store is: one table's records of one partition, and how far they go.

A store holds the records of one changelog partition and the offset of the last
changelog record it reflects. ``write`` puts records and that offset in one atomic step,
so after any crash the store is the changelog up to its offset, never a mix: a worker
reads the changelog from there on and has it all (docs/idempotency.md, "State on disk").
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Protocol

# key -> new value, or None to delete the key (a changelog tombstone)
Changes = Mapping[bytes, bytes | None]


class PartitionStore(Protocol):
    def get(self, key: bytes) -> bytes | None:
        """The value of ``key``, None if there is none."""
        ...

    def write(self, changes: Changes, offset: int) -> None:
        """Apply ``changes`` and record ``offset`` (the last changelog record they reach),
        all or nothing."""
        ...

    def offset(self) -> int | None:
        """The last changelog offset written, None for a new store."""
        ...

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        """Every record, in no set order."""
        ...

    def between(self, low: bytes, high: bytes) -> list[tuple[bytes, bytes]]:
        """The records with ``low <= key < high``, in key order."""
        ...

    def __len__(self) -> int: ...

    def close(self) -> None:
        """Release the store; its records stay where they are kept (or go, in memory)."""
        ...
