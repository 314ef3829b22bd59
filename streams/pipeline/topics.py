"""Topic names: the contract's, behind the optional STREAMS_TOPIC_PREFIX, and our internal one."""

from __future__ import annotations

from dataclasses import dataclass

from streams.settings import Settings

CALL_USAGE = "usage.call-minutes"
CONFERENCE_USAGE = "usage.conference-minutes"
COMMANDS = "credits.commands"
RECHARGE_RESULTS = "billing.recharge-results"
RECHARGE_REQUESTED = "credits.recharge-requested"
LEDGER = "credits.ledger"
NOTIFICATIONS = "credits.notifications"
DEAD_LETTER = "credits.dead-letter"
ACCOUNT_STATUS = "credits.account-status"

# Input topic -> the kind of message it carries (a schema name, or "command").
INPUT_KINDS = {
    CALL_USAGE: "call-usage",
    CONFERENCE_USAGE: "conference-usage",
    COMMANDS: "command",
    RECHARGE_RESULTS: "recharge-result",
}
OUTPUTS = (RECHARGE_REQUESTED, LEDGER, NOTIFICATIONS, DEAD_LETTER, ACCOUNT_STATUS)
# Outputs read for their latest record per key: created compacted.
COMPACTED = frozenset({ACCOUNT_STATUS})


@dataclass(frozen=True)
class TopicNames:
    """Real topic names for one deployment."""

    prefix: str
    account_inputs: str

    @classmethod
    def from_settings(cls, settings: Settings) -> TopicNames:
        return cls(settings.topic_prefix, f"{settings.app_id}-account-inputs")

    def contract(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def kind_of(self) -> dict[str, str]:
        """Real input topic name -> message kind."""
        return {self.contract(name): kind for name, kind in INPUT_KINDS.items()}

    def all_contract_topics(self) -> list[str]:
        return [self.contract(name) for name in (*INPUT_KINDS, *OUTPUTS)]

    def compacted(self) -> set[str]:
        return {self.contract(name) for name in COMPACTED}
