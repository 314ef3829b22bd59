"""Table state kept per partition, with the changelog offset it reflects.

No Faust here: ``base.py`` says what a partition store is, ``memory.py`` and
``rocksdb.py`` keep one (``STREAMS_STORE``), ``table.py`` holds a table's partitions.
Faust reaches them through ``streams/faust_fixes/stores.py``.
"""

from streams.state.base import Changes, PartitionStore
from streams.state.table import STORE_KINDS, TableState

__all__ = ["STORE_KINDS", "Changes", "PartitionStore", "TableState"]
