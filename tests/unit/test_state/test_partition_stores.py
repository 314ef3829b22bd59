"""Both partition stores keep records and their changelog offset together; the rocksdb one
keeps them across a reopen, as a restarted worker finds them."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.state import PartitionStore, TableState
from streams.state.memory import MemoryPartition
from streams.state.rocksdb import RocksPartition


@pytest.fixture(params=["memory", "rocksdb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> PartitionStore:
    opened = MemoryPartition() if request.param == "memory" else RocksPartition(tmp_path / "p")
    yield opened
    opened.close()


def test_a_write_puts_and_deletes_and_records_its_offset(store: PartitionStore) -> None:
    assert store.offset() is None
    store.write({b"a": b"1", b"b": b"2"}, 10)
    store.write({b"a": None, b"c": b"3"}, 12)
    assert (store.get(b"a"), store.get(b"b"), store.get(b"c")) == (None, b"2", b"3")
    assert store.offset() == 12
    assert sorted(store.items()) == [(b"b", b"2"), (b"c", b"3")]
    assert len(store) == 2


def test_between_reads_a_range_of_keys_in_order(store: PartitionStore) -> None:
    store.write({b"\x021\x002026-11-0%d" % d: b"%d" % d for d in range(1, 6)}, 5)
    store.write({b"org": b"x"}, 6)
    found = store.between(b"\x021\x00", b"\x021\x002026-11-04")
    assert found == [(b"\x021\x002026-11-0%d" % d, b"%d" % d) for d in (1, 2, 3)]


def test_the_rocksdb_store_is_found_again_after_a_reopen(tmp_path: Path) -> None:
    first = RocksPartition(tmp_path / "p")
    first.write({b"org-1": b"state"}, 41)
    first.close()
    again = RocksPartition(tmp_path / "p")
    assert (again.get(b"org-1"), again.offset()) == (b"state", 41)
    again.close()


@pytest.mark.parametrize("kind", ["memory", "rocksdb"])
def test_a_table_holds_the_partitions_assigned_and_lists_the_active_ones(
    kind: str, tmp_path: Path
) -> None:
    table = TableState(kind, tmp_path / "accounts")
    table.hold([0, 1, 2], active=[0, 1])
    for partition in (0, 1, 2):
        table.write(partition, {b"org-%d" % partition: b"s"}, partition)
    assert sorted(key for key, _ in table.items()) == [b"org-0", b"org-1"]  # not the standby
    table.hold([1], active=[1])
    assert set(table.partitions) == {1}
    assert (table.get(b"org-1", 1), table.offset(1), table.offset(0)) == (b"s", 1, None)
    table.hold([0, 1], active=[0, 1])
    expected = b"s" if kind == "rocksdb" else None  # a revoked partition stays on disk
    assert (table.get(b"org-0", 0), table.offset(0)) == (expected, 0 if expected else None)
    table.close()


def test_an_unknown_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown store kind 'disk'"):
        TableState("disk", tmp_path)
