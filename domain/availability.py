"""Which service start times a staff member (or a team) can be booked at.

Terms used throughout (working hours, day ranges and stretches of working time: see domain/working_time.py):

* *candidate start*: a local wall time ``day range start + k * step`` (``k >= 0``,
  before the range end), read as every real instant the local clock shows it
  (none in a spring-forward gap, two in a fall-back repeat). Generating the grid
  in wall-clock time keeps "9:00, 9:30, ..." the same local times all year; each
  local date counts from its own day ranges, so the count starts again at midnight.
* *buffered span*: ``[start - buffer_before, start + duration + buffer_after)``,
  the time a booking takes out of the calendar.
* *slot*: a candidate start that lies in its day range's UTC span, whose buffered
  span lies inside working time (one stretch, which may run across midnight) and
  overlaps no busy span, that respects minimum notice and the booking horizon,
  and is not in the past.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from domain.intervals import BusyIndex, Span, as_utc
from domain.working_time import (
    ONE_DAY,
    ONE_MINUTE,
    StaffAvailability,
    WorkingRange,
    day_ranges,
    grid,
    in_working_time,
    local_dates_reaching,
    ranges_between,
    spans_of,
    stretch_of,
    stretches_of,
    wall_at,
    working_spans,
)
from domain.zones import load_zone, local_wall

# What callers of the slot engine import from here along with it.
__all__ = [
    "STAFF_PAST_GRACE", "Slot", "SlotRules", "StaffAvailability", "Unbookable", "WorkingRange", "available_slots",
    "bookable_range", "day_ranges", "free_slots", "free_starts_between", "hours_problem", "merged_slots",
    "why_unbookable", "working_spans",
]
# A staff member entering a walk-in that started a moment ago is still fine.
STAFF_PAST_GRACE = timedelta(minutes=5)


@dataclass(frozen=True)
class SlotRules:
    """How slots are cut: service ``duration``, buffers around it, grid ``step``,
    ``minimum_notice`` before a start, and the booking ``horizon`` after now."""

    duration: timedelta
    buffer_before: timedelta
    buffer_after: timedelta
    step: timedelta
    minimum_notice: timedelta
    horizon: timedelta

    def __post_init__(self) -> None:
        zero = timedelta(0)
        for name in ("duration", "step", "horizon"):
            if getattr(self, name) <= zero:
                raise ValueError(f"{name} must be > 0")
        for name in ("buffer_before", "buffer_after", "minimum_notice"):
            if getattr(self, name) < zero:
                raise ValueError(f"{name} must be >= 0")
        if self.step % ONE_MINUTE:
            raise ValueError("step must be a whole number of minutes")


@dataclass(frozen=True)
class Slot:
    """A bookable service time: UTC ``start``, ``end = start + duration``, and the
    ids (ascending) of every staff member free for it."""

    start: datetime
    end: datetime
    staff_ids: tuple[int, ...]


class Unbookable(Enum):
    """Why a start time cannot be booked (see ``why_unbookable``)."""

    OUTSIDE_WORKING_HOURS = "outside_working_hours"
    OFF_STEP = "off_step"
    TAKEN = "taken"
    TOO_SOON = "too_soon"
    BEYOND_HORIZON = "beyond_horizon"
    IN_PAST = "in_past"


def bookable_range(rules: SlotRules, window: Span, now: datetime) -> tuple[datetime, datetime] | None:
    """``(lowest, limit)``: slot starts ``s`` of ``window`` with ``lowest <= s < limit`` respect minimum notice and
    the horizon at ``now``; None when no start can."""
    now = as_utc(now)
    lowest = max(window.start, now + rules.minimum_notice)  # minimum_notice >= 0 covers "not past"
    limit = min(window.end, now + rules.horizon)  # starts must be < limit
    return (lowest, limit) if lowest < limit else None


def _free_starts(staff: StaffAvailability, rules: SlotRules, window: Span, now: datetime) -> list[datetime]:
    """Sorted slot starts of one staff member (the engine behind free_slots)."""
    bounds = bookable_range(rules, window, now)
    return [] if bounds is None else free_starts_between(staff, rules, *bounds)


def free_starts_between(staff: StaffAvailability, rules: SlotRules, lowest: datetime, limit: datetime
                        ) -> list[datetime]:
    """Sorted starts ``s``, ``lowest <= s < limit``, of ``staff`` whose buffered span fits working hours and is
    free: the slot rules without minimum notice and horizon, which only narrow ``[lowest, limit)``. So the starts of
    a wider range, cut to a narrower one, are the narrower range's starts (what makes them worth caching)."""
    if lowest >= limit:
        return []
    lead = rules.buffer_before
    tail = rules.duration + rules.buffer_after
    # Only busy spans that can touch a buffered span starting in [lowest, limit) matter;
    # a year of bookings then costs one linear filter instead of a full index build.
    near_lo, near_hi = lowest - lead, limit + tail
    busy = BusyIndex([b for b in staff.busy if b.start < near_hi and near_lo < b.end])
    # Working time around every buffered span that can start in [lowest, limit): one stretch may hold day ranges of
    # several dates (an evening and the next morning).
    day, last_day = local_dates_reaching(staff.zone, lowest, limit)
    near_first, near_last = local_dates_reaching(staff.zone, near_lo, near_hi)
    by_day = ranges_between(staff, min(day, near_first), max(last_day, near_last))  # each date's ranges, once
    working = stretches_of(staff.zone, by_day)
    step_minutes = rules.step // ONE_MINUTE
    starts: list[datetime] = []
    while day <= last_day:
        for rng, span in spans_of(staff.zone, day, by_day[day]):
            stretch = stretch_of(working, span)
            if stretch is None:  # every span of these dates is part of `working`; kept for the type checker
                continue
            # The start lies in its own range; its buffered span lies in the stretch holding that range.
            first = max(lowest, span.start, stretch.start + lead)
            last = stretch.end - tail
            stop = min(limit, span.end)
            if first > last or first >= stop:
                continue
            candidates = grid(staff.zone, day, rng.start_minute, rng.end_minute, step_minutes)
            i = bisect_left(candidates, first)
            j = min(bisect_right(candidates, last), bisect_left(candidates, stop))
            if i < j:
                starts.extend(busy.free_starts(candidates[i:j], lead, tail))
        day += ONE_DAY
    starts.sort()
    return starts


def free_slots(staff: StaffAvailability, rules: SlotRules, window: Span, now: datetime) -> list[Span]:
    """The service spans ``[s, s + duration)`` of every slot start ``s`` of ``staff`` with
    ``window.start <= s < window.end``, sorted by start.

    A candidate start ``s`` is a slot when its buffered span lies inside its working
    range's UTC span, overlaps no busy span (touching allowed), and
    ``now + minimum_notice <= s < now + horizon``. Times are UTC.
    """
    duration = rules.duration
    return [Span(s, s + duration) for s in _free_starts(staff, rules, window, now)]


def available_slots(staff: Sequence[StaffAvailability], rules: SlotRules, window: Span, now: datetime) -> list[Slot]:
    """Union over staff: one Slot per distinct (start,end) with every staff member free then, sorted by start."""
    return merged_slots([(member.staff_id, _free_starts(member, rules, window, now)) for member in staff],
                        rules.duration)


def merged_slots(starts_by_staff: Sequence[tuple[int, Sequence[datetime]]], duration: timedelta) -> list[Slot]:
    """One Slot per distinct start of any staff member, listing (ascending) every staff member free then."""
    by_start: dict[datetime, set[int]] = {}
    for staff_id, starts in starts_by_staff:
        for s in starts:
            ids = by_start.get(s)
            if ids is None:
                by_start[s] = {staff_id}
            else:
                ids.add(staff_id)
    return [Slot(s, s + duration, tuple(sorted(by_start[s]))) for s in sorted(by_start)]


def why_unbookable(
    staff: StaffAvailability, rules: SlotRules, start: datetime, now: datetime, *, customer_rules: bool
) -> Unbookable | None:
    """None when `start` may be booked, else the first reason it may not.

    customer_rules=True: exactly the free_slots rules (so a start is bookable iff
    free_slots over a window containing it returns it). customer_rules=False
    (staff/owner booking, e.g. walk-ins): step grid, minimum notice and horizon
    are not enforced, but the start must still fit working hours and be free, and
    it must not be more than 5 minutes before now (IN_PAST).

    "Fits working hours" means: the start's local wall time lies in a day range of
    its local date, the start instant lies in that range's UTC span, and the
    buffered span lies inside working time (one stretch, which may run across
    midnight). Reasons are checked in this order: IN_PAST, TOO_SOON,
    BEYOND_HORIZON, OUTSIDE_WORKING_HOURS, OFF_STEP, TAKEN.
    """
    start, now = as_utc(start), as_utc(now)
    if customer_rules:
        if start < now:
            return Unbookable.IN_PAST
        if start < now + rules.minimum_notice:
            return Unbookable.TOO_SOON
        if start >= now + rules.horizon:
            return Unbookable.BEYOND_HORIZON
    elif start < now - STAFF_PAST_GRACE:
        return Unbookable.IN_PAST

    buffered = Span(start - rules.buffer_before, start + rules.duration + rules.buffer_after)
    problem = hours_problem(staff, start, buffered, rules.step if customer_rules else None)
    if problem is not None:
        return problem
    taken = any(b.overlaps(buffered) for b in staff.busy)
    return Unbookable.TAKEN if taken else None


def hours_problem(staff: StaffAvailability, start: datetime, buffered: Span, step: timedelta | None
                  ) -> Unbookable | None:
    """OUTSIDE_WORKING_HOURS unless the start's local wall time lies in a day range of its local date, the start
    instant in that range's UTC span, and `buffered` inside working time (one stretch, which may run across
    midnight); else OFF_STEP when a `step` is given and the start is not a whole number of steps after the range's
    start in wall-clock time; else None."""
    wall = local_wall(start, load_zone(staff.zone))
    local_date = wall.date()
    for rng, span in working_spans(staff, local_date):
        range_start = wall_at(local_date, rng.start_minute)
        if not range_start <= wall < wall_at(local_date, rng.end_minute):
            continue
        # Most buffered spans lie within their own range; only the rest need the stretches around them.
        if not (span.start <= start < span.end and (span.contains(buffered) or in_working_time(staff, buffered))):
            return Unbookable.OUTSIDE_WORKING_HOURS
        if step is not None and (wall - range_start) % step:
            return Unbookable.OFF_STEP
        return None
    return Unbookable.OUTSIDE_WORKING_HOURS
