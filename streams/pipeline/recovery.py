"""Table recovery that knows changelogs can end in a transaction marker.

With exactly_once, every batch ends its transaction with a commit marker in each
changelog partition it wrote, so a changelog's last offset is a marker, never a record.
Faust's recovery waits to receive a record at that last offset, except when Faust runs
its own transactions: then it counts a partition as recovered once the consumer's
position is past the end. Faust's own transactions are not used here (see
``streams/app.py``), so recovery is shown an app that says it is in transactions; the
rest of the worker is not.
"""

from __future__ import annotations

from typing import Any

from faust.tables import TableManager
from faust.tables.recovery import Recovery
from faust.types import AppT


class _AppInTransactions:
    """``app``, except that ``in_transaction`` is true."""

    in_transaction = True

    def __init__(self, app: AppT) -> None:
        object.__setattr__(self, "_app", app)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._app, name, value)


class MarkerAwareTables(TableManager):
    @property
    def recovery(self) -> Recovery:
        if self._recovery is None:
            app: Any = _AppInTransactions(self.app)
            self._recovery = Recovery(app, self, beacon=self.beacon, loop=self.loop)
        return self._recovery
