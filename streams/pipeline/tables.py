"""The worker's tables: changelog-backed, keyed by account id, partitioned like the
account-inputs topic, so one worker owns an account's inputs and all its state."""

from __future__ import annotations

from dataclasses import dataclass

import faust

from streams.pipeline.accounts import Plan
from streams.pipeline.writes import Write

ACCOUNTS = "accounts"
SEEN_INPUTS = "seen-inputs"
USAGE_WINDOWS = "usage-windows"


@dataclass(frozen=True)
class Tables:
    accounts: faust.Table
    seen_inputs: faust.Table
    usage_windows: faust.Table

    @classmethod
    def declare(cls, app: faust.App, partitions: int) -> Tables:
        def table(name: str, help: str) -> faust.Table:
            return app.Table(
                name,
                key_type=bytes,
                value_type=bytes,
                partitions=partitions,
                use_partitioner=True,
                help=help,
            )

        return cls(
            accounts=table(
                ACCOUNTS, "Account state (balance, auto-recharge, pending request) by account id"
            ),
            seen_inputs=table(
                SEEN_INPUTS,
                "Offset and content digest of each applied input, by account id + kind:id",
            ),
            usage_windows=table(
                USAGE_WINDOWS,
                "Billable minutes and spend per service, by day and month of the usage, "
                "by account id",
            ),
        )

    def seen_writes(self, plan: Plan) -> list[Write]:
        topic = self.seen_inputs.changelog_topic.get_topic_name()
        return [(topic, key, value, None) for key, value in plan.seen.items()]

    def state_writes(self, plan: Plan) -> list[Write]:
        """The accounts' states and usage windows: written together, after the outputs."""
        accounts = self.accounts.changelog_topic.get_topic_name()
        windows = self.usage_windows.changelog_topic.get_topic_name()
        writes: list[Write] = [(accounts, key, value, None) for key, value in plan.states.items()]
        writes += [(windows, key, value, None) for key, value in plan.windows.items()]
        return writes

    def land(self, plan: Plan) -> None:
        """Update the tables in memory, once their changelog writes are in Kafka."""
        self.seen_inputs.raw_update(plan.seen)
        self.usage_windows.raw_update(plan.windows)
        self.accounts.raw_update(plan.states)
