"""Choosing who performs a booking that names no staff member: the service's assignment policy.

Terms:
- **candidate**: a staff member who performs the service. A candidate is **free** when every occurrence the booking
  asks for fits their schedule (working hours, bookings, busy time, the service's rules).
- **last assignment**: where the candidate's most recent confirmed booking of this service stands in the order in
  which bookings were made (larger is more recent; the booking row's id serves, see docs/assignment.md); None when
  they hold none. "Assigned least recently" means the smallest last assignment, and never assigned comes first.
- **load**: how many confirmed bookings of this service the candidate holds that start within the booking's rolling
  week, `balance_window` (the seven days centred on the new booking's start).
- **priority**: how strongly the service prefers the candidate; a whole number, higher is preferred, 0 by default.

Policies, each among the free candidates only:
- FIRST_AVAILABLE: the lowest staff id (the order staff are listed in).
- ROUND_ROBIN: the one assigned least recently.
- BALANCED: the smallest load; ties go to the one assigned least recently.
- PRIORITY: the highest priority; ties are broken as BALANCED breaks them.
Whatever is still tied goes to the lowest staff id, so the choice never depends on the order candidates are given in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from domain.intervals import Span


class AssignmentPolicy(StrEnum):
    FIRST_AVAILABLE = "first_available"
    ROUND_ROBIN = "round_robin"
    BALANCED = "balanced"
    PRIORITY = "priority"


ROLLING_WEEK = timedelta(days=7)
LOWEST_PRIORITY = 0
HIGHEST_PRIORITY = 100


def balance_window(start: datetime) -> Span:
    """The rolling week a BALANCED (or PRIORITY) choice weighs load over: the seven days centred on `start`, so that
    bookings already made for later in the same week count as much as those earlier in it."""
    half = ROLLING_WEEK / 2
    return Span(start - half, start + half)


@dataclass(frozen=True)
class Candidate:
    """One staff member performing the service, with the figures a policy weighs (see the module's terms)."""

    staff_id: int
    free: bool
    last_assignment: int | None = None
    load: int = 0
    priority: int = 0


def _recency(candidate: Candidate) -> int:
    # Never assigned sorts before any booking (ids are positive).
    return -1 if candidate.last_assignment is None else candidate.last_assignment


_ORDER: dict[AssignmentPolicy, Callable[[Candidate], tuple[int, ...]]] = {
    AssignmentPolicy.FIRST_AVAILABLE: lambda c: (c.staff_id,),
    AssignmentPolicy.ROUND_ROBIN: lambda c: (_recency(c), c.staff_id),
    AssignmentPolicy.BALANCED: lambda c: (c.load, _recency(c), c.staff_id),
    AssignmentPolicy.PRIORITY: lambda c: (-c.priority, c.load, _recency(c), c.staff_id),
}


def choose_staff(policy: AssignmentPolicy, candidates: Sequence[Candidate]) -> int | None:
    """The staff id `policy` assigns the booking to, among the free `candidates`; None when none of them is free."""
    free = [candidate for candidate in candidates if candidate.free]
    if not free:
        return None
    return min(free, key=_ORDER[policy]).staff_id


def figures_needed(policy: AssignmentPolicy) -> frozenset[str]:
    """Which of a candidate's figures `policy` weighs ("last_assignment", "load", "priority"), so that only those
    are read."""
    return {
        AssignmentPolicy.FIRST_AVAILABLE: frozenset(),
        AssignmentPolicy.ROUND_ROBIN: frozenset({"last_assignment"}),
        AssignmentPolicy.BALANCED: frozenset({"last_assignment", "load"}),
        AssignmentPolicy.PRIORITY: frozenset({"last_assignment", "load", "priority"}),
    }[policy]
