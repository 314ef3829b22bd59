"""Faust's table store, over this project's partition stores (``streams/state``).

Faust's own stores do not fit a pipeline that writes its changelogs itself:

- ``faust.stores.memory.Store`` keeps no changelog offset (``persisted_offset`` is None),
  so every restart and every rebalance reads whole changelogs again, and it keeps a
  second dict entry per key for the key's partition.
- ``faust.stores.rocksdb.Store`` writes a record only inside a Faust event
  (``current_event()``), looks a key up in every partition's database when its LRU key
  index misses (most dedupe lookups miss), writes its offset apart from the records it
  covers, and never closes a revoked partition's database.

``PartitionedStore`` is the store Faust builds for a table whose URL is ``streams://KIND``
(registered under ``faust.stores`` in pyproject.toml, Faust's way to add a store). It
keeps a ``TableState``: one partition store per held partition, each written with its
changelog offset in one step. Faust's recovery reads it through ``persisted_offset`` and
``apply_changelog_batch``; the accounts stage writes it through ``table_state``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import faust
from faust.stores import base
from faust.types import TP, EventT

from streams.pipeline.partitioning import account_partition
from streams.state import TableState


def store_url(kind: str) -> str:
    """The URL of a table kept in ``kind`` ("rocksdb" or "memory") stores."""
    return f"streams://{kind}"


def kept_here(table: faust.Table) -> bool:
    """Whether a table is kept in this project's store (declared with ``store_url``)."""
    return isinstance(table.data, PartitionedStore)


def table_state(table: faust.Table) -> TableState:
    """The partition stores of a table declared with ``store_url``."""
    store = table.data
    if not isinstance(store, PartitionedStore):
        raise TypeError(f"table {table.name} is not kept in a streams:// store")
    return store.kept


class PartitionedStore(base.Store):
    """Replaces: Faust's memory and rocksdb stores, as the module says."""

    def __init__(self, url: Any, app: faust.App, table: Any, **kwargs: Any) -> None:
        super().__init__(url, app, table, **kwargs)
        directory = Path(app.conf.tabledir) / self.table_name
        self.kept = TableState(self.url.host or "", directory)

    # What Faust's recovery and rebalances call.

    def persisted_offset(self, tp: TP) -> int | None:
        return self.kept.offset(tp.partition)

    def set_persisted_offset(self, tp: TP, offset: int) -> None:
        self.kept.write(tp.partition, {}, offset)

    def apply_changelog_batch(
        self, batch: Iterable[EventT], to_key: Any = None, to_value: Any = None
    ) -> None:
        """Each partition's changelog records, in order, and its last offset, in one write."""
        changes: dict[int, dict[bytes, bytes | None]] = {}
        offsets: dict[int, int] = {}
        for event in batch:
            message = event.message
            changes.setdefault(message.partition, {})[message.key] = message.value
            offsets[message.partition] = message.offset
        for partition, partition_changes in changes.items():
            self.kept.write(partition, partition_changes, offsets[partition])

    async def on_rebalance(
        self,
        assigned: set[TP],
        revoked: set[TP],
        newly_assigned: set[TP],
        generation_id: int = 0,
    ) -> None:
        """Hold the stores of this table's changelog partitions assigned, active or standby."""
        topic = self.table.changelog_topic_name
        actives = self.app.assignor.assigned_actives()
        mine = {tp.partition for tp in assigned if tp.topic == topic}
        self.kept.hold(mine, {tp.partition for tp in actives if tp.topic == topic})

    async def on_stop(self) -> None:
        self.kept.close()

    def reset_state(self) -> None:
        """Faust's ``--reset``: nothing is kept apart from the partitions held."""

    async def backup_partition(
        self, tp: Any, flush: bool = True, purge: bool = False, keep: int = 1
    ) -> None:
        raise NotImplementedError("backups: the changelog is the backup")

    def restore_backup(self, tp: Any, latest: bool = True, backup_id: int = 0) -> None:
        raise NotImplementedError("backups: the changelog is the backup")

    # The mapping Faust's Table reads (the HTTP views): keys are account-first bytes.
    # (mode's dict base class would read an attribute ``data``, which this store has not.)

    def get(self, key: bytes, default: Any = None) -> Any:
        value = self.kept.get(key, account_partition(key, self.table.partitions))
        return default if value is None else value

    def __getitem__(self, key: bytes) -> bytes:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, bytes) and self.get(key) is not None

    def __setitem__(self, key: bytes, value: bytes) -> None:
        raise TypeError("tables are written through table_state(table).write")

    def __delitem__(self, key: bytes) -> None:
        raise TypeError("tables are written through table_state(table).write")

    def __iter__(self) -> Iterator[bytes]:
        return (key for key, _ in self.kept.items())

    def __len__(self) -> int:
        return len(self.kept)

    def items(self) -> Iterator[tuple[bytes, bytes]]:  # type: ignore[override]
        return self.kept.items()

    def keys(self) -> Iterator[bytes]:  # type: ignore[override]
        return iter(self)

    def values(self) -> Iterator[bytes]:  # type: ignore[override]
        return (value for _, value in self.kept.items())
