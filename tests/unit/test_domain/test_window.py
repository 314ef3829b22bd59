"""The dedupe window: too-late inputs, forgotten ids, and the stream time; rules, then
properties over streams whose times span the window several times."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.domain import AccountState, AddFunds, Arrival, CallUsage, LedgerEntry, Seen
from streams.domain import apply_once as apply_once_
from streams.domain.dedupe import AppliedOnce, digest_of, id_key
from streams.domain.window import DedupeWindow, newest_of, time_of
from tests.unit.test_domain.builders import ACCOUNT, RATE_CARD, parse_money

DAY = 86400
WINDOW = DedupeWindow(2 * DAY)
START = datetime(2026, 11, 1)


def when(hours: float) -> str:
    return (START + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def call(event_id: str, hours: float, seconds: int = 60) -> CallUsage:
    return CallUsage(event_id, ACCOUNT, when(hours), "domestic", "outbound", "US", seconds)


def once(
    arrivals: list[Arrival],
    stream_time: str | None,
    seen: dict[str, Seen] | None = None,
    state: AccountState | None = None,
) -> AppliedOnce:
    funded = state or AccountState(ACCOUNT, "USD", balance=parse_money("1000.00"))
    return apply_once_(
        funded,
        ACCOUNT,
        arrivals,
        (seen or {}).get,
        rate_card=RATE_CARD,
        default_currency="USD",
        window=WINDOW,
        stream_time=stream_time,
    )


def test_an_input_older_than_the_window_is_too_late() -> None:
    result = once([Arrival(7, call("c-1", hours=0))], stream_time=when(48 + 1))
    assert [r.code for r in result.refused.values()] == ["too_late"]
    assert "older than the dedupe window (2d)" in result.refused[0].reason
    assert result.remembered == {}


def test_an_input_just_inside_the_window_is_applied() -> None:
    result = once([Arrival(7, call("c-1", hours=1))], stream_time=when(48 + 1))
    assert result.refused == {}
    assert result.remembered["e:c-1"].day == when(1)[:10]


def test_the_first_input_of_a_partition_is_never_too_late() -> None:
    assert once([Arrival(0, call("c-1", hours=0))], stream_time=None).refused == {}


def test_a_repeat_of_a_forgotten_day_counts_as_new_when_it_is_not_too_late() -> None:
    """Its record is still in the table (its tombstone on its way): its day left the
    window, so the id is forgotten, as if the record were gone."""
    old = Seen(3, digest_of(call("c-1", hours=0)), when(0)[:10])
    result = once([Arrival(9, call("c-1", hours=60))], stream_time=when(72), seen={"e:c-1": old})
    assert result.repeats == []
    assert result.remembered["e:c-1"] == Seen(9, digest_of(call("c-1", hours=60)), when(60)[:10])


def test_a_record_kept_before_the_window_is_never_forgotten() -> None:
    result = once(
        [Arrival(9, call("c-1", hours=60))], stream_time=when(72), seen={"e:c-1": Seen(3, None)}
    )
    assert result.repeats == [0]


def test_the_same_record_read_again_is_applied_again_even_once_too_late() -> None:
    """At least once: its dedupe record landed, its state did not, and meanwhile the
    partition's stream time moved on. Replaying it must give the same outputs."""
    item = call("c-1", hours=0)
    first = once([Arrival(5, item)], stream_time=when(1))
    replay = once([Arrival(5, item)], stream_time=when(200), seen=first.remembered)
    assert replay.refused == {}
    assert replay.outputs == first.outputs


def test_days_are_forgotten_whole_once_every_moment_of_them_is_older_than_the_window() -> None:
    assert WINDOW.first_day_kept("2026-11-05T00:00:00Z") == "2026-11-03"
    assert WINDOW.first_day_kept("2026-11-05T23:59:59Z") == "2026-11-03"
    assert WINDOW.first_day_kept("2026-11-06T00:00:00Z") == "2026-11-04"


def test_the_stream_time_only_moves_forward() -> None:
    assert newest_of(None, []) is None
    assert newest_of(None, [when(3), when(1)]) == when(3)[:19]
    assert newest_of(when(5)[:19], [when(3)]) == when(5)[:19]


def test_each_kind_of_input_has_its_time() -> None:
    funds = AddFunds("f-1", ACCOUNT, when(2), 1, "USD")
    assert (time_of(funds), time_of(call("c", 4))) == (when(2), when(4))


def test_a_window_reads_as_its_setting() -> None:
    assert [str(DedupeWindow(s)) for s in (30 * DAY, 7200, 90, 61)] == ["30d", "2h", "90s", "61s"]


# --- properties: a partition's stream, batched, with its records expired as the worker does


@dataclass
class Partition:
    """The dedupe table and stream time of one partition, kept as the accounts stage does."""

    state: AccountState | None = None
    seen: dict[str, Seen] = field(default_factory=dict)
    stream_time: str | None = None
    applied: list[tuple[Arrival, str | None]] = field(default_factory=list)  # and its time
    too_late: list[tuple[Arrival, str | None]] = field(default_factory=list)
    debits: int = 0

    def take(self, batch: list[Arrival]) -> None:
        result = once(batch, self.stream_time, self.seen, self.state)
        repeats = set(result.repeats)
        for index, arrival in enumerate(batch):
            refusal = result.refused.get(index)
            if refusal is not None and refusal.code == "too_late":
                self.too_late.append((arrival, self.stream_time))
            elif refusal is None and index not in repeats:
                self.applied.append((arrival, self.stream_time))
        self.debits += sum(isinstance(o, LedgerEntry) for o in result.outputs)
        self.state = result.state
        self.seen |= result.remembered
        self.stream_time = newest_of(self.stream_time, [time_of(a.item) for a in batch])
        kept_from = WINDOW.first_day_kept(self.stream_time)
        self.seen = {k: s for k, s in self.seen.items() if s.day is None or s.day >= kept_from}


@st.composite
def streams(draw: st.DrawFn) -> tuple[list[Arrival], set[int]]:
    """Calls with ids from a small pool, at times that span the window several times:
    a clock moves forward, and some calls come late, up to four days behind it."""
    moves = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["a", "b", "c", "d"]),
                st.sampled_from([0.0, 1.0, 6.0, 12.0, 24.0]),  # hours the clock moves on
                st.sampled_from([0.0, 0.0, 0.0, 30.0, 47.0, 50.0, 96.0]),  # hours late
                st.sampled_from([60, 120]),
            ),
            min_size=15,
            max_size=40,
        )
    )
    clock, arrivals = 0.0, []
    for offset, (event_id, advance, late, seconds) in enumerate(moves):
        clock += advance
        arrivals.append(Arrival(offset, call(event_id, max(0.0, clock - late), seconds)))
    cuts = draw(st.sets(st.integers(min_value=0, max_value=40)))
    return arrivals, cuts


def played(arrivals: list[Arrival], cuts: set[int]) -> Partition:
    partition, batch = Partition(), []
    for index, arrival in enumerate(arrivals):
        batch.append(arrival)
        if index in cuts or index == len(arrivals) - 1:
            partition.take(batch)
            batch = []
    return partition


@settings(max_examples=400, deadline=None)
@given(stream=streams())
def test_the_same_input_is_never_applied_twice_however_late_it_comes(
    stream: tuple[list[Arrival], set[int]],
) -> None:
    """A repeat inside the window finds its first input; one outside it is too late."""
    partition = played(*stream)
    applied = [(id_key(a.item), digest_of(a.item)) for a, _ in partition.applied]
    assert len(applied) == len(set(applied))
    assert partition.debits == len(partition.applied)  # each applied call debited once


@settings(max_examples=400, deadline=None)
@given(stream=streams())
def test_no_input_older_than_the_window_is_applied(
    stream: tuple[list[Arrival], set[int]],
) -> None:
    partition = played(*stream)
    for arrival, stream_time in partition.applied:
        assert not WINDOW.too_late(time_of(arrival.item), stream_time)
    for arrival, stream_time in partition.too_late:
        assert WINDOW.too_late(time_of(arrival.item), stream_time)


@settings(max_examples=300, deadline=None)
@given(stream=streams())
def test_what_is_remembered_is_bounded_by_the_window(
    stream: tuple[list[Arrival], set[int]],
) -> None:
    """Every id still remembered is of a day inside the window of the stream time."""
    partition = played(*stream)
    if partition.stream_time is not None:
        kept_from = WINDOW.first_day_kept(partition.stream_time)
        assert all(seen.day >= kept_from for seen in partition.seen.values())
