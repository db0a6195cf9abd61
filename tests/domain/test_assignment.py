"""Choosing who gets a booking that names no staff member: exact examples per policy, and properties over any pool."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings, strategies as st

from domain.assignment import (
    HIGHEST_PRIORITY,
    AssignmentPolicy,
    Candidate,
    balance_window,
    choose_staff,
    figures_needed,
)
from domain.intervals import Span

FIRST = AssignmentPolicy.FIRST_AVAILABLE
ROUND_ROBIN = AssignmentPolicy.ROUND_ROBIN
BALANCED = AssignmentPolicy.BALANCED
PRIORITY = AssignmentPolicy.PRIORITY


def test_first_available_takes_the_lowest_free_staff_id() -> None:
    pool = [Candidate(7, free=True, last_assignment=1), Candidate(3, free=False), Candidate(5, free=True, load=9)]
    assert choose_staff(FIRST, pool) == 5


def test_round_robin_takes_the_one_assigned_least_recently_and_never_assigned_first() -> None:
    pool = [Candidate(1, free=True, last_assignment=40), Candidate(2, free=True, last_assignment=12),
            Candidate(3, free=True, last_assignment=31)]
    assert choose_staff(ROUND_ROBIN, pool) == 2
    assert choose_staff(ROUND_ROBIN, [*pool, Candidate(9, free=True)]) == 9
    # the least recent one busy: the next least recent
    assert choose_staff(ROUND_ROBIN, [replace(pool[1], free=False), pool[0], pool[2]]) == 3


def test_balanced_takes_the_smallest_load_then_the_least_recent() -> None:
    pool = [Candidate(1, free=True, load=4, last_assignment=2), Candidate(2, free=True, load=3, last_assignment=9),
            Candidate(3, free=True, load=3, last_assignment=5)]
    assert choose_staff(BALANCED, pool) == 3
    assert choose_staff(BALANCED, [replace(c, last_assignment=None) for c in pool]) == 2  # then the lowest id


def test_priority_takes_the_highest_and_breaks_ties_by_balance() -> None:
    pool = [Candidate(1, free=True, priority=5, load=0), Candidate(2, free=True, priority=8, load=6),
            Candidate(3, free=True, priority=8, load=2), Candidate(4, free=False, priority=9)]
    assert choose_staff(PRIORITY, pool) == 3
    # no priorities at all: PRIORITY is BALANCED
    flat = [replace(c, priority=0, free=True) for c in pool]
    assert choose_staff(PRIORITY, flat) == choose_staff(BALANCED, flat) == 1


def test_nobody_free_is_nobody_chosen() -> None:
    for policy in AssignmentPolicy:
        assert choose_staff(policy, [Candidate(1, free=False), Candidate(2, free=False)]) is None
        assert choose_staff(policy, []) is None


def test_the_rolling_week_is_centred_on_the_start() -> None:
    start = datetime(2030, 3, 14, 9, tzinfo=UTC)
    assert balance_window(start) == Span(datetime(2030, 3, 10, 21, tzinfo=UTC), datetime(2030, 3, 17, 21, tzinfo=UTC))


def test_each_policy_reads_only_the_figures_it_weighs() -> None:
    assert figures_needed(FIRST) == frozenset()
    assert figures_needed(ROUND_ROBIN) == {"last_assignment"}
    assert figures_needed(BALANCED) == {"last_assignment", "load"}
    assert figures_needed(PRIORITY) == {"last_assignment", "load", "priority"}


candidates = st.lists(
    st.builds(Candidate, staff_id=st.integers(1, 60), free=st.booleans(),
              last_assignment=st.none() | st.integers(1, 10_000), load=st.integers(0, 50),
              priority=st.integers(0, HIGHEST_PRIORITY)),
    max_size=12, unique_by=lambda c: c.staff_id)
policies = st.sampled_from(list(AssignmentPolicy))


@given(policies, candidates)
def test_the_chosen_one_is_always_a_free_candidate_and_someone_is_chosen_when_anyone_is_free(
    policy: AssignmentPolicy, pool: list[Candidate]
) -> None:
    chosen = choose_staff(policy, pool)
    free = {c.staff_id for c in pool if c.free}
    assert (chosen in free) if free else (chosen is None)


@given(policies, candidates, st.randoms(use_true_random=False))
def test_the_choice_does_not_depend_on_the_order_candidates_come_in(
    policy: AssignmentPolicy, pool: list[Candidate], rng: object
) -> None:
    reordered = list(pool)
    rng.shuffle(reordered)  # type: ignore[attr-defined]
    assert choose_staff(policy, reordered) == choose_staff(policy, pool)


@given(candidates)
def test_no_free_candidate_beats_the_chosen_one_on_what_its_policy_weighs(pool: list[Candidate]) -> None:
    free = [c for c in pool if c.free]
    if not free:
        return
    by_id = {c.staff_id: c for c in pool}
    recency = {c.staff_id: -1 if c.last_assignment is None else c.last_assignment for c in free}
    round_robin = by_id[choose_staff(ROUND_ROBIN, pool) or 0]
    assert recency[round_robin.staff_id] == min(recency.values())
    balanced = by_id[choose_staff(BALANCED, pool) or 0]
    assert balanced.load == min(c.load for c in free)
    top = by_id[choose_staff(PRIORITY, pool) or 0]
    assert top.priority == max(c.priority for c in free)
    assert top.load == min(c.load for c in free if c.priority == top.priority)


def _simulate(policy: AssignmentPolicy, pool: list[Candidate], busy: list[set[int]]) -> list[int]:
    """Bookings made one after another, the n-th with the staff in busy[n] not free; who got each one."""
    state = {c.staff_id: c for c in pool}
    order = []
    for number, taken in enumerate(busy, start=1):
        chosen = choose_staff(policy, [replace(c, free=c.staff_id not in taken) for c in state.values()])
        if chosen is None:
            continue
        order.append(chosen)
        state[chosen] = replace(state[chosen], last_assignment=10_000 + number, load=state[chosen].load + 1)
    return order


staff_ids = st.lists(st.integers(1, 60), min_size=1, max_size=8, unique=True)


@settings(max_examples=100)
@given(st.sampled_from([ROUND_ROBIN, BALANCED, PRIORITY]), staff_ids, st.integers(0, 120))
def test_sequential_bookings_with_everyone_free_differ_by_at_most_one(
    policy: AssignmentPolicy, ids: list[int], bookings: int
) -> None:
    # (PRIORITY with equal priorities, and every booking within one rolling week.)
    order = _simulate(policy, [Candidate(staff_id, free=True) for staff_id in ids], [set()] * bookings)
    counts = Counter(order)
    assert len(order) == bookings
    assert max(counts[i] for i in ids) - min(counts[i] for i in ids) <= 1
    # and it is a strict rotation in staff id order
    assert order == [sorted(ids)[n % len(ids)] for n in range(bookings)]


@settings(max_examples=100)
@given(staff_ids, st.lists(st.sets(st.integers(1, 60)), max_size=60))
def test_round_robin_never_passes_over_a_free_staff_member_twice(ids: list[int], busy: list[set[int]]) -> None:
    # Whoever is busy is skipped, and only while busy: each booking goes to the free staff member who has waited
    # longest since their own last booking (never booked: longest of all).
    pool = [Candidate(staff_id, free=True) for staff_id in ids]
    order = _simulate(ROUND_ROBIN, pool, busy)
    last_given = dict.fromkeys(ids, -1)
    made = 0
    for taken in busy:
        free = [i for i in ids if i not in taken]
        if not free:
            continue
        chosen = order[made]
        # the one chosen waited longest of everyone free
        assert last_given[chosen] == min(last_given[i] for i in free)
        last_given[chosen] = made
        made += 1
    assert made == len(order)


@given(st.integers(-10_000, 10_000))
def test_the_rolling_week_is_seven_days_with_the_start_in_its_middle(minutes: int) -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    week = balance_window(start)
    assert week.duration == timedelta(days=7)
    assert start - week.start == week.end - start
