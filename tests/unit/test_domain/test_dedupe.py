"""Each input applied once: repeats, conflicting repeats, kinds of ids, refused inputs,
billing results by status, and replays after a crash; rules, then properties."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.domain import (
    AccountState,
    AddFunds,
    AppliedOnce,
    Arrival,
    CallUsage,
    Input,
    LedgerEntry,
    RateCard,
    Seen,
    apply_once,
    parse_money,
)
from streams.domain.dedupe import digest_of, id_key
from streams.domain.window import DedupeWindow
from tests.unit.test_domain.builders import ACCOUNT, AT, RATE_CARD, auto, failed, funds, succeeded

EMPTY_CARD = RateCard([])
WINDOW = DedupeWindow(30 * 86400)


def once(
    arrivals: Sequence[Arrival],
    *,
    state: AccountState | None = None,
    seen: dict[str, Seen] | None = None,
    rate_card: RateCard = RATE_CARD,
) -> AppliedOnce:
    known = seen or {}
    return apply_once(
        state,
        ACCOUNT,
        list(arrivals),
        known.get,
        rate_card=rate_card,
        default_currency="USD",
        window=WINDOW,
        stream_time=AT,
    )


def at(*items: Input, start: int = 0) -> list[Arrival]:
    return [Arrival(start + n, item) for n, item in enumerate(items)]


def call(event_id: str, seconds: int = 60) -> CallUsage:
    return CallUsage(event_id, ACCOUNT, AT, "domestic", "outbound", "US", seconds)


def add(command_id: str, amount: str = "10.00") -> AddFunds:
    return AddFunds(command_id, ACCOUNT, AT, parse_money(amount), "USD")


def codes(result: AppliedOnce) -> list[str]:
    return [refusal.code for refusal in result.refused.values()]


def debits(result: AppliedOnce) -> list[str]:
    return [o.source_id for o in result.outputs if isinstance(o, LedgerEntry)]


def test_a_repeat_with_the_same_content_has_no_effect() -> None:
    result = once(at(add("f-1"), call("c-1"), call("c-1"), add("f-1")))
    assert debits(result) == ["f-1", "c-1"]
    assert result.repeats == [2, 3]
    assert result.refused == {}


def test_a_repeat_with_other_content_is_refused_and_the_first_stands() -> None:
    result = once(at(add("f-1"), call("c-1", 60), call("c-1", 600)))
    assert codes(result) == ["conflicting_duplicate"]
    assert "event_id c-1 was applied before (account-inputs offset 1)" in result.refused[2].reason
    assert result.state.balance == 9_000_000  # one minute at 1.00, not ten
    assert result.remembered["e:c-1"] == Seen(1, digest_of(call("c-1", 60)), AT[:10])


def test_ids_of_different_kinds_are_kept_apart() -> None:
    result = once(at(add("x"), call("x")))
    assert debits(result) == ["x", "x"]
    assert set(result.remembered) == {"c:x", "e:x"}


def test_billing_results_are_remembered_by_request_and_status() -> None:
    setup = once(at(funds("10.00"), auto("20.00", "15.00")))
    assert setup.state.pending is not None
    result = once(
        at(failed(1), succeeded(1, "20.00"), succeeded(1, "20.00"), failed(1), start=10),
        state=setup.state,
        seen=setup.remembered,
    )
    assert debits(result) == ["contoso:rr:1"]  # the late success credits, once
    assert result.repeats == [2, 3]
    assert {"f:contoso:rr:1", "s:contoso:rr:1"} <= set(result.remembered)


def test_a_refused_input_is_not_remembered_and_applies_once_its_cause_is_fixed() -> None:
    first = once(at(add("f-1"), call("c-1")), rate_card=EMPTY_CARD)
    assert codes(first) == ["no_rate"]
    assert "e:c-1" not in first.remembered
    redriven = once(at(call("c-1"), start=5), state=first.state, seen=first.remembered)
    assert debits(redriven) == ["c-1"]


def test_the_same_record_read_again_after_a_crash_is_applied_again() -> None:
    """Its dedupe record landed, the state that applied it did not: same state, same
    record, same outputs."""
    before = once(at(add("f-1")))
    first = once(at(call("c-1"), start=1), state=before.state, seen=before.remembered)
    replay = once(
        at(call("c-1"), start=1),
        state=before.state,
        seen={**before.remembered, **first.remembered},
    )
    assert replay.outputs == first.outputs
    assert replay.repeats == []


def test_a_record_remembered_without_a_digest_counts_as_the_same() -> None:
    """v1 kept only the offset of each id."""
    result = once(at(call("c-1", 600), start=9), seen={"e:c-1": Seen(3, None)})
    assert result.repeats == [0]


# --- properties ---------------------------------------------------------------------------

IDS = st.sampled_from(["a", "b", "c"])


def refused(command_id: str) -> AddFunds:
    return AddFunds(command_id, ACCOUNT, AT, 0, "USD")  # not_positive, always


@st.composite
def arrivals(draw: st.DrawFn) -> list[Arrival]:
    """Inputs with ids from a small pool, so that repeats and conflicts are common."""
    moves = st.one_of(
        st.builds(call, IDS, st.sampled_from([60, 120, 7200])),
        st.builds(add, IDS, st.sampled_from(["5.00", "50.00"])),
        st.builds(refused, IDS),
    )
    return at(*draw(st.lists(moves, max_size=30)))


def play(moves: list[Arrival], cuts: set[int]) -> tuple[AccountState | None, list, dict]:
    """Apply in batches ending at ``cuts``, remembering as the tables would."""
    state, outputs, remembered = None, [], {}
    batch: list[Arrival] = []
    for index, arrival in enumerate(moves):
        batch.append(arrival)
        if index in cuts or index == len(moves) - 1:
            step = once(batch, state=state, seen=remembered)
            state, batch = step.state, []
            outputs += step.outputs
            remembered |= step.remembered
    return state, outputs, remembered


def is_refused(arrival: Arrival) -> bool:
    return isinstance(arrival.item, AddFunds) and arrival.item.amount == 0


@settings(max_examples=300, deadline=None)
@given(moves=arrivals(), cuts=st.sets(st.integers(min_value=0, max_value=30)))
def test_the_first_applicable_input_of_an_id_is_applied_and_no_other(
    moves: list[Arrival], cuts: set[int]
) -> None:
    _, outputs, remembered = play(moves, cuts)
    applied = [(o.kind, o.source_id) for o in outputs if isinstance(o, LedgerEntry)]
    assert len(applied) == len(set(applied)), "an id applied twice"
    firsts: dict[str, Arrival] = {}
    for arrival in moves:
        if not is_refused(arrival):  # refused inputs are not remembered
            firsts.setdefault(id_key(arrival.item), arrival)
    assert {key: seen.offset for key, seen in remembered.items()} == {
        key: arrival.offset for key, arrival in firsts.items()
    }
    for key, arrival in firsts.items():
        assert remembered[key].digest == digest_of(arrival.item)  # the first content stands


@settings(max_examples=300, deadline=None)
@given(moves=arrivals(), cuts=st.sets(st.integers(min_value=0, max_value=30)))
def test_batching_does_not_change_what_is_applied(moves: list[Arrival], cuts: set[int]) -> None:
    assert play(moves, cuts) == play(moves, set(range(len(moves))))


@settings(max_examples=300, deadline=None)
@given(moves=arrivals(), crash=st.integers(min_value=0, max_value=30))
def test_a_replay_from_an_older_state_repeats_the_same_outputs(
    moves: list[Arrival], crash: int
) -> None:
    """The dedupe records of a batch landed, its state did not: the batch runs again."""
    done, rest = moves[:crash], moves[crash:]
    state, _, remembered = play(done, set())
    first = once(rest, state=state, seen=remembered)
    replay = once(rest, state=state, seen={**remembered, **first.remembered})
    assert (replay.state, replay.outputs, replay.refused) == (
        first.state,
        first.outputs,
        first.refused,
    )


@settings(max_examples=200, deadline=None)
@given(
    field=st.sampled_from(["event_id", "occurred_at", "country", "duration_seconds"]),
    data=st.data(),
)
def test_the_digest_tells_any_change_of_content(field: str, data: st.DataObject) -> None:
    first = call("c-1", 60)
    if field == "duration_seconds":
        other = data.draw(st.integers(0, 86_400).filter(lambda v: v != 60))
    else:
        other = data.draw(
            st.text(min_size=1, max_size=30).filter(lambda v: v != getattr(first, field))
        )
    changed = CallUsage(**{**{f: getattr(first, f) for f in first.__slots__}, field: other})
    assert digest_of(call("c-1", 60)) == digest_of(first)
    assert digest_of(changed) != digest_of(first)
