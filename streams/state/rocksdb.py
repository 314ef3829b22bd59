"""A partition store on disk, in RocksDB (through rocksdict): ``STREAMS_STORE=rocksdb``.

One database per table and partition, under the worker's data directory. The changelog
offset is a record of the database, written in the same write batch as the records it
covers, so a crash at any moment leaves the database at one changelog offset (RocksDB's
write-ahead log replays whole batches). Every database of the process shares one block
cache and one memtable budget, so memory stays bounded however many partitions it holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path

from rocksdict import (
    BlockBasedOptions,
    Cache,
    Options,
    Rdict,
    ReadOptions,
    WriteBatch,
    WriteBufferManager,
)

from streams.state.base import Changes

# Keys of the tables are UTF-8 text or start with a control byte; UTF-8 never holds 0xff.
OFFSET_KEY = b"\xff changelog offset"
# For the whole process: data blocks read, and memtables (charged to the same cache).
BLOCK_CACHE_BYTES = 64 * 1024 * 1024
MEMTABLE_BYTES = 32 * 1024 * 1024
# Per database: small memtables, since a worker may hold dozens of databases.
WRITE_BUFFER_BYTES = 4 * 1024 * 1024


@cache
def _options() -> Options:
    """One set of options, and with it one cache and one memtable budget, per process."""
    cache = Cache(BLOCK_CACHE_BYTES)
    table = BlockBasedOptions()
    table.set_block_cache(cache)
    table.set_bloom_filter(10, False)  # most lookups are of ids not seen yet
    table.set_cache_index_and_filter_blocks(True)
    table.set_pin_l0_filter_and_index_blocks_in_cache(True)
    options = Options(raw_mode=True)
    options.create_if_missing(True)
    options.set_block_based_table_factory(table)
    options.set_write_buffer_manager(
        WriteBufferManager.new_write_buffer_manager_with_cache(MEMTABLE_BYTES, False, cache)
    )
    options.set_write_buffer_size(WRITE_BUFFER_BYTES)
    options.set_max_write_buffer_number(2)
    options.set_max_total_wal_size(4 * WRITE_BUFFER_BYTES)
    options.set_keep_log_file_num(2)
    options.set_max_open_files(64)
    return options


class RocksPartition:
    def __init__(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = Rdict(str(path), _options())
        self.get = self.db.get  # the hot path's lookup, without a Python frame

    def get(self, key: bytes) -> bytes | None:  # replaced per instance by Rdict.get
        return self.db.get(key)

    def write(self, changes: Changes, offset: int) -> None:
        batch = WriteBatch(raw_mode=True)
        for key, value in changes.items():
            if value is None:
                batch.delete(key)
            else:
                batch.put(key, value)
        batch.put(OFFSET_KEY, str(offset).encode())
        self.db.write(batch)

    def offset(self) -> int | None:
        stored = self.db.get(OFFSET_KEY)
        return None if stored is None else int(stored)

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        return ((key, value) for key, value in self.db.items() if key != OFFSET_KEY)

    def between(self, low: bytes, high: bytes) -> list[tuple[bytes, bytes]]:
        found = []
        cursor = self.db.iter(ReadOptions())
        cursor.seek(low)
        while cursor.valid():
            key = cursor.key()
            if key >= high:
                break
            found.append((key, cursor.value()))
            cursor.next()
        return found

    def __len__(self) -> int:
        """Counted key by key: RocksDB keeps only an estimate. Nothing on the hot path asks."""
        return sum(1 for key in self.db.keys() if key != OFFSET_KEY)  # noqa: SIM118 (not a dict)

    def close(self) -> None:
        self.db.close()
