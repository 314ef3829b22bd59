"""The committable offset moves only over offsets that were processed or are holes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streams.pipeline.progress import PartitionProgress

START = 10


def test_processed_in_order_moves_the_commit_along() -> None:
    progress = PartitionProgress(START)
    assert progress.to_commit() is None
    for offset in range(START, START + 3):
        progress.processed(offset, now=0.0)
    assert progress.to_commit() == START + 3
    progress.committed = START + 3
    assert progress.to_commit() is None


def test_an_offset_never_processed_holds_the_commit_and_starts_the_stall_clock() -> None:
    progress = PartitionProgress(START)
    progress.processed(START + 1, now=5.0)
    progress.processed(START + 2, now=6.0)
    assert progress.to_commit() is None
    assert progress.stalled_for(now=65.0) == 60.0
    # The redelivered copy fills the hole; later acks of the same offsets count again.
    progress.processed(START, now=70.0)
    assert progress.stalled_for(now=100.0) == 0.0
    for offset in (START + 1, START + 2):
        progress.processed(offset, now=71.0)
    assert progress.to_commit() == START + 3


def test_a_hole_with_nothing_to_process_is_gone_over() -> None:
    progress = PartitionProgress(START)
    progress.processed(START, now=0.0)
    progress.skip(START + 1, START + 5)  # offsets 11-14 hold nothing for this worker
    progress.processed(START + 5, now=0.0)
    assert progress.to_commit() == START + 6


def test_a_new_position_inside_the_processed_run_keeps_it() -> None:
    progress = PartitionProgress(START)
    for offset in range(START, START + 5):
        progress.processed(offset, now=0.0)
    assert progress.positioned_at(START + 2).done == START + 5
    assert progress.positioned_at(START + 5).done == START + 5


def test_a_position_outside_the_run_starts_a_new_one() -> None:
    progress = PartitionProgress(START)
    progress.processed(START, now=0.0)
    assert progress.positioned_at(START + 7).done == START + 7  # committed there by another
    assert progress.positioned_at(START - 3).done == START - 3  # the group went back


@given(
    acks=st.lists(st.integers(min_value=START - 5, max_value=START + 40), max_size=80),
    holes=st.lists(st.tuples(st.integers(START, START + 40), st.integers(1, 5)), max_size=5),
)
def test_the_commit_never_passes_an_offset_neither_processed_nor_a_hole(
    acks: list[int], holes: list[tuple[int, int]]
) -> None:
    """Whatever order acks come in (redeliveries, stale copies), nothing is jumped."""
    progress = PartitionProgress(START)
    covered: set[int] = set()
    for start, length in holes:
        progress.skip(start, start + length)
        covered.update(range(start, start + length))
    for offset in acks:
        progress.processed(offset, now=0.0)
        covered.add(offset)
    first_missing = START
    while first_missing in covered:
        first_missing += 1
    assert START <= progress.done <= first_missing
