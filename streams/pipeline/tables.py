"""The worker's tables: changelog-backed, keyed by account id, partitioned like the
account-inputs topic, so one worker owns an account's inputs and all its state.

Each is kept per partition (``streams/state``: RocksDB on disk, or memory) with the
changelog offset it reflects. The accounts stage writes the changelogs itself, then
lands the same records here with the offset Kafka gave the last of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import faust

from streams.faust_fixes import store_url, table_state
from streams.pipeline.accounts import PartitionTables, Plan
from streams.pipeline.writes import Where, Write
from streams.state import Changes, PartitionStore, TableState

ACCOUNTS = "accounts"
SEEN_INPUTS = "seen-inputs"
USAGE_WINDOWS = "usage-windows"


@dataclass(frozen=True)
class Tables:
    accounts: faust.Table
    seen_inputs: faust.Table
    usage_windows: faust.Table

    @classmethod
    def declare(cls, app: faust.App, partitions: int, store: str) -> Tables:
        def table(name: str, help: str) -> faust.Table:
            return app.Table(
                name,
                key_type=bytes,
                value_type=bytes,
                partitions=partitions,
                use_partitioner=True,
                store=store_url(store),
                help=help,
            )

        return cls(
            accounts=table(
                ACCOUNTS, "Account state (balance, auto-recharge, pending request) by account id"
            ),
            seen_inputs=table(
                SEEN_INPUTS,
                "Offset, content digest and day of each input applied inside the dedupe "
                "window, by account id + kind:id; each partition's stream time and ids by day",
            ),
            usage_windows=table(
                USAGE_WINDOWS,
                "Billable minutes and spend per service, by day and month of the usage, "
                "by account id",
            ),
        )

    def partition(self, partition: int) -> PartitionTables:
        """The stores of a partition this worker holds."""
        return PartitionTables(
            table_state(self.accounts).partition(partition),
            table_state(self.seen_inputs).partition(partition),
            table_state(self.usage_windows).partition(partition),
        )

    def held_accounts(self) -> dict[int, PartitionStore]:
        """The accounts table's stores of the partitions this worker owns (not standbys)."""
        state = table_state(self.accounts)
        return {p: state.partition(p) for p in sorted(state.active) if p in state.partitions}

    def seen_writes(self, plan: Plan) -> list[Write]:
        topic = self.seen_inputs.changelog_topic_name
        return [(topic, key, value, None) for key, value in plan.seen.items()]

    def state_writes(self, plan: Plan) -> list[Write]:
        """The accounts' states and usage windows: written together, after the outputs."""
        accounts = self.accounts.changelog_topic_name
        windows = self.usage_windows.changelog_topic_name
        writes: list[Write] = [(accounts, key, value, None) for key, value in plan.states.items()]
        writes += [(accounts, key, value, None) for key, value in plan.due.items()]
        writes += [(windows, key, value, None) for key, value in plan.windows.items()]
        return writes

    def land(self, plan: Plan, offsets: dict[Where, int]) -> None:
        """Write a plan's records to the local stores once Kafka has them, each table's
        with the offset of its last changelog record (``offsets``, from Kafka)."""
        self._land(self.seen_inputs, plan.partition, plan.seen, offsets)
        self._land(self.usage_windows, plan.partition, plan.windows, offsets)
        self._land(self.accounts, plan.partition, {**plan.states, **plan.due}, offsets)

    @staticmethod
    def _land(table: faust.Table, partition: int, changes: Changes, offsets: dict) -> None:
        if changes:
            offset = offsets[(table.changelog_topic_name, partition)]
            state: TableState = table_state(table)
            state.write(partition, changes, offset)
