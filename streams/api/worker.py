"""What the API reads of the worker it runs in: whether it is ready, and its tables' rows
as domain values."""

from __future__ import annotations

import faust

from streams.domain import AccountState
from streams.domain.usage import UsageWindows
from streams.pipeline.partitioning import PARTITION_MARK
from streams.pipeline.state import decode, decode_windows


def readiness(recovered: bool, assigned: bool, rebalancing: bool) -> dict[str, bool]:
    """The body of GET /readyz: ready once the tables are recovered and partitions are
    assigned, and while the group is not rebalancing."""
    ready = recovered and assigned and not rebalancing
    return {"ready": ready, "tables_recovered": recovered, "partitions_assigned": assigned}


class Readiness:
    """The worker's readiness, read from its app when asked."""

    def __init__(self, app: faust.App) -> None:
        self.app = app

    def state(self) -> dict[str, bool]:
        return readiness(
            recovered=self.app.tables.recovery.completed.is_set(),
            assigned=bool(self.app.consumer.assignment()),
            rebalancing=self.app.rebalancing,
        )


class AccountStore:
    """The accounts and usage-windows tables, read as domain values (this worker's copy)."""

    def __init__(self, accounts: faust.Table, usage_windows: faust.Table) -> None:
        self.accounts = accounts
        self.usage_windows = usage_windows

    def state(self, account_id: str) -> AccountState | None:
        stored = self.accounts.get(account_id.encode())
        return None if stored is None else decode(stored)[0]

    def windows(self, account_id: str) -> UsageWindows:
        stored = self.usage_windows.get(account_id.encode())
        return decode_windows(stored)[0] if stored else UsageWindows()

    def rows(self) -> list[tuple[bytes, bytes]]:
        """Every stored account, as (key, value): a copy, as the stage may write meanwhile.
        Not the records about a partition that the table also keeps (their keys begin with
        PARTITION_MARK, which no account id does)."""
        return [row for row in self.accounts.data.items() if not row[0].startswith(PARTITION_MARK)]
