"""What a slot query costs, and the budget one request spends it from.

Terms:

* *starts per day*: the candidate starts a day can hold at the service's step, ``ceil(1440 / step minutes)``. It is
  the worst case (working hours round the clock), so the cost never depends on hours an account can change later.
* *days*: the window's length in days, a started day counting as a whole one.
* *cost* of a slot query: ``staff x days x starts per day``, the number of candidate starts the engine may have to
  check. It bounds the engine's CPU and, with the window, the size of the answer.
* *budget*: the cost one request may spend in all. Every ``availableSlots`` selection of a request (each alias
  too) spends from the same budget, so twenty aliases cost twenty times one query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from domain.intervals import Span

MINUTES_PER_DAY = 1440
ONE_DAY = timedelta(days=1)


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


@dataclass(frozen=True)
class SlotQueryCost:
    """The cost of one slot query and its three factors."""

    staff_count: int
    days: int
    starts_per_day: int

    @property
    def total(self) -> int:
        return self.staff_count * self.days * self.starts_per_day

    def days_within(self, budget: int) -> int:
        """The most whole days this query's staff could be asked for within `budget` (0: not even one)."""
        return budget // (self.staff_count * self.starts_per_day) if self.staff_count else self.days

    def staff_within(self, budget: int) -> int:
        """The most staff that could be asked for over this query's days within `budget` (0: not even one)."""
        return budget // (self.days * self.starts_per_day)


def slot_query_cost(staff_count: int, window: Span, step: timedelta) -> SlotQueryCost:
    """The cost of asking for `staff_count` staff over `window` at a grid of `step` (a whole number of minutes)."""
    step_minutes = max(1, step // timedelta(minutes=1))
    days = max(1, _ceil_div(int((window.end - window.start).total_seconds()), int(ONE_DAY.total_seconds())))
    return SlotQueryCost(staff_count, days, _ceil_div(MINUTES_PER_DAY, step_minutes))


class SlotBudget:
    """The cost one request may still spend on slot queries; `spend` takes from it all or nothing."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.spent = 0

    @property
    def left(self) -> int:
        return max(0, self.limit - self.spent)

    def spend(self, cost: int) -> bool:
        """Take `cost` from the budget if it fits; False (and nothing taken) if it does not."""
        if cost > self.left:
            return False
        self.spent += cost
        return True
