"""The bound of a feed or an export: candidates are taken in their order while their cost fits, a series once at
its first candidate for all of its occurrences, and from the first that does not fit on nothing more."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, strategies as st

from domain.feed_window import Candidate, feed_window, select_within


def test_the_window_reaches_thirty_days_back_and_a_year_ahead() -> None:
    now = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
    assert feed_window(now) == (datetime(2026, 4, 4, 10, 0, tzinfo=UTC), datetime(2027, 5, 4, 10, 0, tzinfo=UTC))


def test_single_bookings_cost_one_and_a_series_its_occurrences_once() -> None:
    candidates = [Candidate(1), Candidate(2, series_id=9), Candidate(3), Candidate(4, series_id=9), Candidate(5)]
    chosen = select_within(candidates, {9: 4}, budget=10)
    assert (chosen.booking_ids, chosen.series_ids, chosen.cost, chosen.needed) == ((1, 3, 5), (9,), 7, 7)
    assert chosen.complete


def test_what_does_not_fit_ends_the_selection() -> None:
    # the series does not fit (4 > 3 left), and the single booking after it is not taken either
    chosen = select_within([Candidate(1), Candidate(2, series_id=9), Candidate(3)], {9: 4}, budget=4)
    assert (chosen.booking_ids, chosen.series_ids, chosen.cost, chosen.needed) == ((1,), (), 1, 6)
    assert not chosen.complete


def test_a_series_of_unknown_size_costs_one_and_a_negative_budget_is_refused() -> None:
    assert select_within([Candidate(1, series_id=3)], {}, budget=1).series_ids == (3,)
    assert select_within([], {}, budget=0).needed == 0
    with pytest.raises(ValueError, match="at least 0"):
        select_within([], {}, budget=-1)


candidate_lists = st.lists(st.tuples(st.integers(1, 50), st.one_of(st.none(), st.integers(1, 6))), max_size=30)


@given(candidate_lists, st.dictionaries(st.integers(1, 6), st.integers(1, 52)), st.integers(0, 60))
def test_the_selection_is_a_prefix_that_fits(raw: list[tuple[int, int | None]], sizes: dict[int, int],
                                             budget: int) -> None:
    candidates = [Candidate(booking_id, series_id) for booking_id, series_id in raw]
    chosen = select_within(candidates, sizes, budget)
    # it never costs more than the budget, and the series taken are each taken once
    assert chosen.cost <= budget and len(set(chosen.series_ids)) == len(chosen.series_ids)
    # it is what taking the candidates in order gives until one does not fit
    taken_singles, taken_series, seen, cost = [], [], set(), 0
    for candidate in candidates:
        if candidate.series_id is not None and candidate.series_id in seen:
            continue
        price = 1 if candidate.series_id is None else sizes.get(candidate.series_id, 1)
        if cost + price > budget:
            break
        cost += price
        if candidate.series_id is None:
            taken_singles.append(candidate.booking_id)
        else:
            seen.add(candidate.series_id)
            taken_series.append(candidate.series_id)
    assert (list(chosen.booking_ids), list(chosen.series_ids), chosen.cost) == (taken_singles, taken_series, cost)
    # and what every candidate would cost is counted in full
    series = {candidate.series_id for candidate in candidates if candidate.series_id is not None}
    assert chosen.needed == sum(1 for c in candidates if c.series_id is None) + sum(sizes.get(s, 1) for s in series)
    assert chosen.complete == (chosen.needed <= budget)
