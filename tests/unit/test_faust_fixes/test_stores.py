"""The accounts stage reads the tables through their stores' dicts: the same values as
Faust's Table.get, without its cost."""

from __future__ import annotations

import faust

from streams.faust_fixes import store_reader as reader


def test_a_reader_sees_what_the_stage_landed_as_table_get_does() -> None:
    app = faust.App("tables-test", broker="kafka://127.0.0.1:1", store="memory://")
    table = app.Table("t", key_type=bytes, value_type=bytes)
    get = reader(table)
    table.raw_update({b"a": b"1"})
    assert (get(b"a"), get(b"missing")) == (table.get(b"a"), table.get(b"missing")) == (b"1", None)
    # Faust's memory store keeps a dict: if an upgrade changes that, the stage falls back
    # to Table.get (correct, slower) and this says so.
    assert get == table.data.data.get, "the memory store no longer keeps a dict"
