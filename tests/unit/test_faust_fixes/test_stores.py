"""Faust builds the streams:// store for a table, reads its offsets in recovery, applies
changelog batches to it, and Table.get reads it."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import faust
import pytest
from faust.types import TP

from streams.faust_fixes import store_url, table_state
from streams.faust_fixes.stores import PartitionedStore, kept_here
from streams.pipeline.partitioning import account_partition


def _table(tmp_path: Path, kind: str) -> faust.Table:
    app = faust.App("stores-test", broker="kafka://127.0.0.1:1", datadir=str(tmp_path))
    return app.Table(
        "accounts", key_type=bytes, value_type=bytes, partitions=4, store=store_url(kind)
    )


def _event(partition: int, offset: int, key: bytes, value: bytes | None) -> SimpleNamespace:
    message = SimpleNamespace(partition=partition, offset=offset, key=key, value=value)
    return SimpleNamespace(message=message)


@pytest.mark.parametrize("kind", ["memory", "rocksdb"])
def test_faust_builds_the_store_from_its_url(tmp_path: Path, kind: str) -> None:
    table = _table(tmp_path, kind)
    assert isinstance(table.data, PartitionedStore)
    assert kept_here(table)
    assert table_state(table).kind == kind


@pytest.mark.parametrize("kind", ["memory", "rocksdb"])
def test_a_changelog_batch_lands_with_its_offsets_and_table_get_reads_it(
    tmp_path: Path, kind: str
) -> None:
    table = _table(tmp_path, kind)
    state = table_state(table)
    state.hold(range(4), active=range(4))
    key = b"org-7"
    partition = account_partition(key, 4)
    changelog = TP(table.changelog_topic_name, partition)
    assert table.data.persisted_offset(changelog) is None
    table.apply_changelog_batch(
        [_event(partition, 5, key, b"old"), _event(partition, 6, key, b"new")]
    )
    assert table.data.persisted_offset(changelog) == 6
    assert (table.get(key), table.get(b"nobody")) == (b"new", None)
    assert dict(table.data.items()) == {key: b"new"}
    table.apply_changelog_batch([_event(partition, 9, key, None)])  # a tombstone
    assert (table.get(key), table.data.persisted_offset(changelog)) == (None, 9)
    state.close()


def test_the_store_is_not_written_through_faust(tmp_path: Path) -> None:
    table = _table(tmp_path, "memory")
    with pytest.raises(TypeError, match="table_state"):
        table.data[b"org"] = b"x"


def test_a_table_of_another_store_is_told_apart(tmp_path: Path) -> None:
    app = faust.App("stores-test", broker="kafka://127.0.0.1:1", store="memory://")
    other = app.Table("other", key_type=bytes, value_type=bytes)
    assert not kept_here(other)
    with pytest.raises(TypeError, match="not kept in a streams:// store"):
        table_state(other)
