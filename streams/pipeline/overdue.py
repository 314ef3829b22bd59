"""Overdue recharge requests: an index of the pending ones, and the worker's periodic look
at it that puts an overdue check into each late one's account log.

The rule is the domain's (an ``OverdueCheck`` input): a request still pending
``STREAMS_RECHARGE_TIMEOUT`` after it was sent is notified once. A clock has no place in
a pipeline whose state changes only through inputs, so the clock comes in as an input:
every ``interval`` the worker reads the index of its partitions for requests sent before
now - timeout and writes an ``overdue-check`` record, with the time it looked, to the
account's own account-inputs partition. Applied in the account's order, a check decides
the same on a replay, a check for a request settled meanwhile changes nothing, and one
written twice notifies once.

The index lives in the accounts table, beside the states it follows and written with
them: ``PARTITION_MARK p \\0 due \\0 sent_at \\0 account \\0 request_id``. A request gets
its entry when sent and loses it (a tombstone) once it is settled, cancelled or notified;
an entry that outlived its request (at least once, a crash between records) is dropped
when a check finds it stale.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import orjson

from streams.domain import AccountState
from streams.domain.inputs import OverdueCheck
from streams.observe.metrics import Metrics
from streams.pipeline.partitioning import SEPARATOR, partition_key
from streams.pipeline.records import Origin, forward_headers
from streams.pipeline.writes import Write
from streams.state import PartitionStore

log = logging.getLogger(__name__)

KIND = "overdue-check"  # the kind header of a check in account-inputs
DUE = b"due"
_SECOND = "%Y-%m-%dT%H:%M:%SZ"


class DueIndex:
    """The index entries of one partition's pending requests."""

    def __init__(self, partition: int) -> None:
        self.partition = partition

    def key(self, account: bytes, since: str, request_id: str) -> bytes:
        return partition_key(self.partition, DUE, since.encode(), account, request_id.encode())

    def changes(
        self,
        account: bytes,
        before: AccountState | None,
        after: AccountState,
        checks: Iterable[OverdueCheck],
    ) -> dict[bytes, bytes | None]:
        """The entries an account's batch adds and removes: the request it now waits for,
        if any, and none of the others (those it settled, and stale ones checked)."""
        old, new = self._entry(account, before), self._entry(account, after)
        changes: dict[bytes, bytes | None] = {}
        if old is not None and old != new:
            changes[old] = None
        for check in checks:
            checked = self.key(account, check.waiting_since, check.request_id)
            if checked != new:
                changes[checked] = None
        if new is not None and new != old:
            changes[new] = b""
        return changes

    def _entry(self, account: bytes, state: AccountState | None) -> bytes | None:
        pending = None if state is None else state.pending
        if pending is None or pending.overdue_notified:
            return None
        return self.key(account, pending.waiting_since, pending.request_id)

    def late(self, store: PartitionStore, now: datetime, timeout: int) -> list[OverdueCheck]:
        """A check, at ``now``, of each request sent more than ``timeout`` seconds ago."""
        first = partition_key(self.partition, DUE, b"")
        cutoff = (now - timedelta(seconds=timeout)).strftime(_SECOND)
        end = partition_key(self.partition, DUE, cutoff.encode() + b"\xff")
        checked_at = now.strftime(_SECOND)
        checks = []
        for key, _ in store.between(first, end):
            _, _, since, account, request_id = key.split(SEPARATOR)
            checks.append(
                OverdueCheck(account.decode(), request_id.decode(), checked_at, since.decode())
            )
        return checks


def check_record(topic: str, partition: int, check: OverdueCheck) -> Write:
    """A check as the accounts stage reads it from account-inputs."""
    value = orjson.dumps(
        {
            "account_id": check.account_id,
            "request_id": check.request_id,
            "checked_at": check.checked_at,
            "waiting_since": check.waiting_since,
        }
    )
    key = check.account_id.encode()
    return topic, key, value, forward_headers(KIND, Origin(topic, partition, -1, key))


def overdue_check(message: dict) -> OverdueCheck:
    return OverdueCheck(
        message["account_id"],
        message["request_id"],
        message["checked_at"],
        message.get("waiting_since", ""),
    )


class Lookout:
    """Looks at the held partitions' index every ``interval`` seconds (a tenth of the
    timeout, from 1 s to a minute); writes a check for each late request, not again for
    ``interval`` * 3 (a check takes a moment to apply)."""

    def __init__(self, timeout: int, metrics: Metrics) -> None:
        self.timeout = timeout
        self.interval = max(1.0, min(60.0, timeout / 10))
        self.metrics = metrics
        self._written: dict[str, float] = {}  # request_id -> when its check was written

    def checks(self, partitions: dict[int, PartitionStore], topic: str) -> list[Write]:
        self.metrics.overdue_looks.inc()
        now, moment = datetime.now(UTC), time.monotonic()
        self._written = {r: t for r, t in self._written.items() if moment - t < self.interval * 3}
        writes = []
        for partition, store in partitions.items():
            for check in DueIndex(partition).late(store, now, self.timeout):
                if check.request_id not in self._written:
                    self._written[check.request_id] = moment
                    writes.append(check_record(topic, partition, check))
        if writes:
            log.info("%d recharge request(s) waited %d s: checking them", len(writes), self.timeout)
            self.metrics.overdue_checks.inc(len(writes))
        return writes
