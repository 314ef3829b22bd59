"""Reading a table without Faust's per-lookup cost."""

from __future__ import annotations

from collections.abc import Callable

import faust


def store_reader(table: faust.Table) -> Callable[[bytes], bytes | None]:
    """``get`` of a table, through its memory store's dict where it has one.

    Replaces: ``faust.Table.get``, which runs the table's sensors and, for a key that is
    not there, raises and catches a KeyError: 2.4 us a lookup here, against 0.06 us for
    the store's own dict (``faust.stores.memory.Store.data``), and the accounts stage
    looks up each input's id, usually not there. It reads what ``raw_update`` wrote, as
    ``Table.get`` does; a store without such a dict gets ``Table.get``.
    """
    data = getattr(table.data, "data", None)
    return data.get if type(data) is dict else table.get
