"""One table's state: a store per partition this worker holds, active or standby."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from streams.state.base import Changes, PartitionStore
from streams.state.memory import MemoryPartition

STORE_KINDS = ("rocksdb", "memory")


class TableState:
    """The partitions of one table; ``directory`` holds one folder per partition (rocksdb)."""

    def __init__(self, kind: str, directory: Path) -> None:
        if kind not in STORE_KINDS:
            raise ValueError(f"unknown store kind {kind!r}, expected one of {STORE_KINDS}")
        self.kind = kind
        self.directory = directory
        self.partitions: dict[int, PartitionStore] = {}
        self.active: set[int] = set()  # those this worker processes; the rest are standbys

    def hold(self, partitions: Iterable[int], active: Iterable[int]) -> None:
        """Open the stores of ``partitions`` not open yet and close the others."""
        wanted = set(partitions)
        for partition in sorted(set(self.partitions) - wanted):
            self.partitions.pop(partition).close()
        for partition in sorted(wanted - set(self.partitions)):
            self.partitions[partition] = self._open(partition)
        self.active = set(active) & wanted

    def partition(self, partition: int) -> PartitionStore:
        """The store of a partition held here (KeyError for another)."""
        return self.partitions[partition]

    def write(self, partition: int, changes: Changes, offset: int) -> None:
        self.partition(partition).write(changes, offset)

    def offset(self, partition: int) -> int | None:
        store = self.partitions.get(partition)
        return None if store is None else store.offset()

    def get(self, key: bytes, partition: int) -> bytes | None:
        store = self.partitions.get(partition)
        return None if store is None else store.get(key)

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        """The records of the active partitions."""
        for partition in sorted(self.active):
            yield from self.partitions[partition].items()

    def __len__(self) -> int:
        return sum(len(self.partitions[partition]) for partition in self.active)

    def close(self) -> None:
        self.hold((), ())

    def _open(self, partition: int) -> PartitionStore:
        if self.kind == "memory":
            return MemoryPartition()
        from streams.state.rocksdb import RocksPartition  # the native library, when asked

        return RocksPartition(self.directory / str(partition))
