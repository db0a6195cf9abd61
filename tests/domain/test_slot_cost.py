"""What a slot query costs (staff x days x starts a day) and the budget a request spends it from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, strategies as st

from domain.intervals import Span
from domain.slot_cost import SlotBudget, slot_query_cost

START = datetime(2030, 1, 7, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def days(n: float) -> Span:
    return Span(START, START + timedelta(days=n))


def test_the_reported_failure_costs_a_quarter_of_a_million_times_the_screen_it_served() -> None:
    # 40 staff over 62 days at a 1-minute step: every minute of every day of every technician
    cost = slot_query_cost(40, days(62), MINUTE)
    assert (cost.staff_count, cost.days, cost.starts_per_day, cost.total) == (40, 62, 1440, 3_571_200)


def test_a_started_day_counts_whole_and_an_uneven_step_rounds_up() -> None:
    assert slot_query_cost(1, Span(START, START + timedelta(hours=25)), 5 * MINUTE).total == 2 * 288
    assert slot_query_cost(1, Span(START, START + MINUTE), 7 * MINUTE).total == 206  # 1440 / 7 = 205.7
    assert slot_query_cost(3, days(14), 15 * MINUTE).total == 3 * 14 * 96


def test_how_far_a_query_must_narrow_to_fit() -> None:
    cost = slot_query_cost(40, days(62), 5 * MINUTE)  # 714,240
    assert cost.days_within(201_600) == 17  # 40 staff x 17 days x 288 = 195,840
    assert cost.staff_within(201_600) == 11  # 11 staff x 62 days x 288 = 196,416
    assert cost.days_within(100) == 0


@given(st.integers(1, 200), st.integers(1, 62 * 24 * 60), st.integers(5, 1440), st.integers(0, 10**7))
def test_the_narrowed_query_fits_and_one_more_does_not(staff: int, window_minutes: int, step: int,
                                                       budget: int) -> None:
    window = Span(START, START + window_minutes * MINUTE)
    cost = slot_query_cost(staff, window, step * MINUTE)
    fitting_days = cost.days_within(budget)
    assert staff * fitting_days * cost.starts_per_day <= budget < staff * (fitting_days + 1) * cost.starts_per_day
    fitting_staff = cost.staff_within(budget)
    assert fitting_staff * cost.days * cost.starts_per_day <= budget < (fitting_staff + 1) * cost.days * \
        cost.starts_per_day


def test_a_budget_is_spent_all_or_nothing() -> None:
    budget = SlotBudget(1000)
    assert budget.spend(600) is True
    assert budget.spend(500) is False
    assert (budget.spent, budget.left) == (600, 400)
    assert budget.spend(400) is True
    assert (budget.left, budget.spend(1)) == (0, False)


@given(st.lists(st.integers(0, 5000), max_size=30), st.integers(0, 20_000))
def test_a_budget_never_lets_more_through_than_its_limit(costs: list[int], limit: int) -> None:
    budget = SlotBudget(limit)
    granted = [cost for cost in costs if budget.spend(cost)]
    assert sum(granted) == budget.spent <= limit
