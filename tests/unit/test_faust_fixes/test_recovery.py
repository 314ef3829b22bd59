"""A recovery ends at the changelog's end markers, and never over records it did not apply."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from faust.types import TP

from streams.faust_fixes import MeteringApp
from streams.faust_fixes.recovery import MarkerAwareRecovery

CHANGELOG = TP("app-accounts-changelog", 0)
# Records at offsets 0-8, the last transaction's commit marker at 9: Faust's highwater
# (the last offset) is 9, the position after reading it all 10.
HIGHWATER = 9


class _Changelog:
    """The consumer's view of one changelog partition."""

    def __init__(self, position: int, records: list[int]) -> None:
        self.position_now = position
        self.records = records  # offsets holding a record a read_committed reader sees
        self.sought: list[int] = []

    async def position(self, tp: TP) -> int:
        return self.position_now

    async def records_between(self, tp: TP, start: int, end: int) -> list[int]:
        return [offset for offset in self.records if start <= offset < end]

    async def seek_wait(self, offsets: dict[TP, int]) -> None:
        self.sought.append(offsets[CHANGELOG])


@pytest.fixture
async def recovery(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[MarkerAwareRecovery]:
    app = MeteringApp("recovery", broker="kafka://localhost:9", autodiscover=False)
    recovery = app.tables.recovery
    assert isinstance(recovery, MarkerAwareRecovery)
    recovery.active_highwaters[CHANGELOG] = HIGHWATER
    recovery._set_recovery_started()
    yield recovery
    app.consumer._thread.thread_loop.close()  # never started: no broker in a unit test


def _read_to(
    monkeypatch: pytest.MonkeyPatch, recovery: MarkerAwareRecovery, applied: int, position: int
) -> _Changelog:
    """Records 0-8 in the changelog, ``applied`` the last one in the table, the consumer
    at ``position``."""
    recovery.active_offsets[CHANGELOG] = applied
    changelog = _Changelog(position=position, records=list(range(9)))
    consumer = recovery.app.consumer
    for name in ("position", "records_between", "seek_wait"):
        monkeypatch.setattr(consumer, name, getattr(changelog, name))
    return changelog


async def test_a_partition_read_to_its_end_marker_is_recovered(
    recovery: MarkerAwareRecovery, monkeypatch: pytest.MonkeyPatch
) -> None:
    _read_to(monkeypatch, recovery, applied=8, position=10)

    await recovery._check_partition_ends()

    assert recovery.active_offsets[CHANGELOG] == HIGHWATER
    assert not recovery.in_recovery
    assert recovery.signal_recovery_end.is_set()


async def test_records_read_past_without_being_applied_are_read_again(
    recovery: MarkerAwareRecovery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Offsets 5-8 were fetched and dropped on their way to the table (a rebalance).
    changelog = _read_to(monkeypatch, recovery, applied=4, position=10)

    await recovery._check_partition_ends()

    assert changelog.sought == [5]
    assert recovery.active_offsets[CHANGELOG] == 4
    assert recovery.in_recovery
    assert not recovery.signal_recovery_end.is_set()


async def test_a_partition_still_being_read_is_left_to_faust(
    recovery: MarkerAwareRecovery, monkeypatch: pytest.MonkeyPatch
) -> None:
    changelog = _read_to(monkeypatch, recovery, applied=4, position=6)

    await recovery._check_partition_ends()

    assert changelog.sought == []
    assert recovery.active_offsets[CHANGELOG] == 4
    assert recovery.in_recovery


async def test_a_rebalance_during_the_check_leaves_the_recovery_to_start_over(
    recovery: MarkerAwareRecovery, monkeypatch: pytest.MonkeyPatch
) -> None:
    _read_to(monkeypatch, recovery, applied=8, position=10)
    app = recovery.app

    async def rebalanced_meanwhile(tp: TP, start: int, end: int) -> list[int]:
        app.consumer_generation_id += 1
        return []

    monkeypatch.setattr(app.consumer, "records_between", rebalanced_meanwhile)

    await recovery._check_partition_ends()

    assert recovery.active_offsets[CHANGELOG] == 8
    assert recovery.in_recovery
    assert not recovery.signal_recovery_end.is_set()


async def test_an_end_signalled_before_a_recovery_starts_does_not_end_it(
    recovery: MarkerAwareRecovery,
) -> None:
    recovery.signal_recovery_end.set()  # by a check of the generation before the rebalance

    recovery._set_recovery_started()

    assert not recovery.signal_recovery_end.is_set()


async def test_a_standby_offset_that_is_no_offset_reads_from_the_start(
    recovery: MarkerAwareRecovery, monkeypatch: pytest.MonkeyPatch
) -> None:
    others = [TP("app-accounts-changelog", n) for n in (1, 2)]
    sought: list[dict[TP, int]] = []

    async def seek_wait(offsets: dict[TP, int]) -> None:
        sought.append(offsets)

    consumer = recovery.app.consumer
    monkeypatch.setattr(consumer, "seek_wait", seek_wait)
    recovery.standby_offsets.update({CHANGELOG: None, others[0]: -4, others[1]: 7})
    await recovery._seek_offsets(
        consumer, {CHANGELOG, *others}, recovery.standby_offsets, "standby"
    )
    assert sought == [{CHANGELOG: 0, others[0]: 0, others[1]: 7}]


class _Ends:
    """Changelog ends as a read_committed consumer reads them, one answer per call."""

    def __init__(self, *answers: int) -> None:
        self.answers = list(answers)
        self.calls = 0

    async def highwaters(self, *tps: TP) -> dict[TP, int]:
        self.calls += 1
        end = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return dict.fromkeys(tps, end)


@pytest.fixture
def stored_618(recovery: MarkerAwareRecovery, monkeypatch: pytest.MonkeyPatch) -> None:
    """The accounts store holds CHANGELOG up to offset 618."""

    class Table:
        def persisted_offset(self, tp: TP) -> int:
            return 618

    monkeypatch.setitem(recovery.tp_to_table, CHANGELOG, Table())
    monkeypatch.setattr("streams.faust_fixes.recovery.MARKER_CHECK_SECONDS", 0.01)


@pytest.mark.usefixtures("stored_618")
async def test_an_end_short_of_the_store_is_read_again_until_the_markers_are_written(
    recovery: MarkerAwareRecovery,
) -> None:
    # The commit returned and the store landed 618; the commit marker comes after.
    ends = _Ends(0, 0, 620)
    await recovery._build_highwaters(ends, {CHANGELOG}, recovery.active_highwaters, "active")
    assert (ends.calls, recovery.active_highwaters[CHANGELOG]) == (3, 619)


@pytest.mark.usefixtures("stored_618")
async def test_an_end_that_stays_short_is_left_to_fausts_consistency_check(
    recovery: MarkerAwareRecovery, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("streams.faust_fixes.recovery.END_BEHIND_STORE_SECONDS", 0.05)
    ends = _Ends(0)
    await recovery._build_highwaters(ends, {CHANGELOG}, recovery.active_highwaters, "active")
    assert ends.calls > 1
    assert recovery.active_highwaters[CHANGELOG] == -1


@pytest.mark.usefixtures("stored_618")
async def test_standby_ends_are_read_once(recovery: MarkerAwareRecovery) -> None:
    ends = _Ends(0, 620)
    await recovery._build_highwaters(ends, {CHANGELOG}, recovery.standby_highwaters, "standby")
    assert (ends.calls, recovery.standby_highwaters[CHANGELOG]) == (1, -1)


async def test_a_crashed_recovery_exits_for_redelivery(
    recovery: MarkerAwareRecovery, monkeypatch: pytest.MonkeyPatch
) -> None:
    exits: list[str] = []
    monkeypatch.setattr(
        "streams.faust_fixes.recovery.exit_for_redelivery",
        lambda reason, *args, error=None: exits.append(f"{reason}: {error!r}"),
    )
    await recovery.crash(RuntimeError("changelog gone"))
    assert exits == ["table recovery failed: RuntimeError('changelog gone')"]
