from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise

import pytest
from hypothesis import given, settings, strategies as st

from domain.intervals import BusyIndex, Span, as_utc, covering_spans, merge_spans


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, 5, hour, minute, tzinfo=UTC)


def span(h1: int, m1: int, h2: int, m2: int) -> Span:
    return Span(at(h1, m1), at(h2, m2))


# --- Span ---------------------------------------------------------------------


def test_span_rejects_empty_and_reversed() -> None:
    with pytest.raises(ValueError):
        Span(at(10), at(10))
    with pytest.raises(ValueError):
        Span(at(11), at(10))


def test_span_rejects_naive_datetimes() -> None:
    with pytest.raises(ValueError):
        Span(datetime(2026, 1, 5, 9), datetime(2026, 1, 5, 10))


def test_span_normalises_other_offsets_to_utc() -> None:
    # given an aware span written in +02:00
    plus_two = timezone(timedelta(hours=2))
    # when it is built
    s = Span(datetime(2026, 1, 5, 11, tzinfo=plus_two), datetime(2026, 1, 5, 12, tzinfo=plus_two))
    # then it holds the same instants, labelled UTC
    assert s.start == at(9) and s.start.tzinfo is UTC
    assert s.end == at(10) and s.end.tzinfo is UTC


def test_touching_spans_do_not_overlap() -> None:
    assert not span(9, 0, 10, 0).overlaps(span(10, 0, 11, 0))
    assert not span(10, 0, 11, 0).overlaps(span(9, 0, 10, 0))
    assert span(9, 0, 10, 1).overlaps(span(10, 0, 11, 0))
    assert span(9, 0, 12, 0).overlaps(span(10, 0, 11, 0))


def test_contains_and_duration() -> None:
    outer = span(9, 0, 12, 0)
    assert outer.contains(span(9, 0, 12, 0))
    assert outer.contains(span(10, 0, 11, 0))
    assert not outer.contains(span(11, 30, 12, 1))
    assert not span(10, 0, 11, 0).contains(outer)
    assert outer.duration == timedelta(hours=3)


def test_as_utc() -> None:
    assert as_utc(at(9)) is not None and as_utc(at(9)) == at(9)
    with pytest.raises(ValueError):
        as_utc(datetime(2026, 1, 5, 9))


# --- merge_spans ----------------------------------------------------------------


def test_merge_spans_joins_overlapping_and_touching_and_sorts() -> None:
    # given unsorted spans: two touching, one overlapping, one nested, one apart
    spans = [span(13, 0, 14, 0), span(9, 0, 10, 0), span(10, 0, 10, 30), span(10, 15, 11, 0),
             span(9, 10, 9, 20)]
    # when merged
    merged = merge_spans(spans)
    # then
    assert merged == [span(9, 0, 11, 0), span(13, 0, 14, 0)]


def test_merge_spans_empty() -> None:
    assert merge_spans([]) == []


def test_covering_spans_are_the_merged_ones_up_to_the_limit_then_one_envelope() -> None:
    spans = [span(13, 0, 14, 0), span(9, 0, 10, 0), span(9, 30, 11, 0)]
    assert covering_spans(spans, most=2) == [span(9, 0, 11, 0), span(13, 0, 14, 0)]
    assert covering_spans(spans, most=1) == [span(9, 0, 14, 0)]
    assert covering_spans([], most=1) == []



# --- BusyIndex --------------------------------------------------------------------


def test_busy_index_is_free() -> None:
    # given busy 10:00-10:30 and 10:30-11:00 (merged into one) and 13:00-14:00
    index = BusyIndex([span(10, 30, 11, 0), span(13, 0, 14, 0), span(10, 0, 10, 30)])
    assert len(index) == 2
    assert index.spans == [span(10, 0, 11, 0), span(13, 0, 14, 0)]
    # then touching either side is free, any overlap is not
    assert index.is_free(span(9, 0, 10, 0))
    assert index.is_free(span(11, 0, 13, 0))
    assert index.is_free(span(14, 0, 15, 0))
    assert not index.is_free(span(9, 0, 10, 1))
    assert not index.is_free(span(10, 40, 10, 50))
    assert not index.is_free(span(10, 59, 13, 0))
    assert not index.is_free(span(8, 0, 15, 0))


def test_empty_busy_index_is_always_free() -> None:
    assert BusyIndex([]).is_free(span(0, 0, 23, 59))


def test_free_starts_sweeps_candidates() -> None:
    # given busy 10:00-10:30, a 10-minute lead and a 30-minute tail
    index = BusyIndex([span(10, 0, 10, 30)])
    starts = [at(9, 0), at(9, 30), at(9, 45), at(10, 30), at(10, 40), at(10, 45)]
    # when filtered: [s - 10min, s + 30min) must be free
    free = index.free_starts(starts, timedelta(minutes=10), timedelta(minutes=30))
    # then 9:30 ends exactly at 10:00 (touching) and 10:40 starts its lead at 10:30
    assert free == [at(9, 0), at(9, 30), at(10, 40), at(10, 45)]


minutes = st.integers(min_value=0, max_value=600)


@st.composite
def spans(draw: st.DrawFn) -> Span:
    start = draw(minutes)
    length = draw(st.integers(min_value=1, max_value=120))
    return Span(at(0) + timedelta(minutes=start), at(0) + timedelta(minutes=start + length))


@settings(max_examples=200, deadline=None)
@given(busy=st.lists(spans(), max_size=12), probe=spans())
def test_is_free_matches_brute_force(busy: list[Span], probe: Span) -> None:
    assert BusyIndex(busy).is_free(probe) == (not any(b.overlaps(probe) for b in busy))


@settings(max_examples=200, deadline=None)
@given(busy=st.lists(spans(), max_size=12), starts=st.lists(minutes, max_size=20),
       lead=st.integers(0, 60), tail=st.integers(1, 120))
def test_free_starts_matches_is_free(busy: list[Span], starts: list[int], lead: int, tail: int) -> None:
    index = BusyIndex(busy)
    instants = sorted({at(0) + timedelta(minutes=m) for m in starts})
    before, after = timedelta(minutes=lead), timedelta(minutes=tail)
    expected = [s for s in instants if index.is_free(Span(s - before, s + after))]
    assert index.free_starts(instants, before, after) == expected


@settings(max_examples=200, deadline=None)
@given(busy=st.lists(spans(), max_size=12))
def test_merge_spans_covers_the_same_minutes(busy: list[Span]) -> None:
    merged = merge_spans(busy)
    assert all(a.end < b.start for a, b in pairwise(merged))
    probe_minutes = {at(0) + timedelta(minutes=m) for m in range(0, 721)}
    for t in probe_minutes:
        assert any(s.start <= t < s.end for s in busy) == any(s.start <= t < s.end for s in merged)


@given(st.lists(spans(), max_size=12), st.integers(min_value=1, max_value=5))
def test_covering_spans_cover_every_span_within_the_limit(given_spans: list[Span], most: int) -> None:
    covering = covering_spans(given_spans, most)
    assert len(covering) <= most
    assert all(any(c.start <= s.start and s.end <= c.end for c in covering) for s in given_spans)
