"""Which service start times a staff member (or a team) can be booked at.

Terms used throughout:

* *working range*: local wall-clock minutes of one local date during which a
  staff member works; 1440 is the midnight that ends the day.
* *candidate start*: a local wall time ``range start + k * step`` (``k >= 0``,
  before the range end), read as every real instant the local clock shows it
  (none in a spring-forward gap, two in a fall-back repeat). Generating the grid
  in wall-clock time keeps "9:00, 9:30, ..." the same local times all year.
* *buffered span*: ``[start - buffer_before, start + duration + buffer_after)``,
  the time a booking takes out of the calendar.
* *slot*: a candidate start whose buffered span lies inside its working range's
  UTC span and overlaps no busy span, that respects minimum notice and the
  booking horizon, and is not in the past.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from functools import lru_cache
from operator import attrgetter

from domain.intervals import BusyIndex, Span, as_utc
from domain.zones import load_zone, local_wall, to_utc, wall_instants

MINUTES_PER_DAY = 1440
ONE_DAY = timedelta(days=1)
ONE_MINUTE = timedelta(minutes=1)
# A staff member entering a walk-in that started a moment ago is still fine.
STAFF_PAST_GRACE = timedelta(minutes=5)


@dataclass(frozen=True)
class WorkingRange:
    """Local wall-clock minutes since midnight, start_minute < end_minute, 0 <= start,
    end <= 1440 (1440 = midnight at the end of the day)."""

    start_minute: int
    end_minute: int

    def __post_init__(self) -> None:
        if not 0 <= self.start_minute < self.end_minute <= MINUTES_PER_DAY:
            raise ValueError(f"working range needs 0 <= start < end <= 1440: {self.start_minute}..{self.end_minute}")


@dataclass(frozen=True)
class StaffAvailability:
    """One staff member's working hours (local to ``zone``) and busy time (UTC).

    ``weekly`` maps weekday 0=Monday..6=Sunday to ranges; ``overrides`` maps a
    local date to ranges replacing that weekday's hours (() = closed all day).
    ``busy`` holds UTC spans already taken: other bookings' BUFFERED spans and
    busy blocks. Ranges of one day should not overlap; touching ranges are
    merged into one (overlapping ones are merged too rather than rejected).
    """

    staff_id: int
    zone: str
    weekly: Mapping[int, tuple[WorkingRange, ...]]
    overrides: Mapping[date, tuple[WorkingRange, ...]]
    busy: tuple[Span, ...]


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


def day_ranges(staff: StaffAvailability, local_date: date) -> tuple[WorkingRange, ...]:
    """The working ranges of ``local_date``: its override if present, else its weekday's
    hours; sorted, with touching (or overlapping) ranges merged."""
    if local_date in staff.overrides:
        ranges = staff.overrides[local_date]
    else:
        ranges = staff.weekly.get(local_date.weekday(), ())
    return _merge_ranges(tuple(ranges))


_BOUNDS = attrgetter("start_minute", "end_minute")


@lru_cache(maxsize=1024)
def _merge_ranges(ranges: tuple[WorkingRange, ...]) -> tuple[WorkingRange, ...]:
    merged: list[WorkingRange] = []
    for rng in sorted(ranges, key=_BOUNDS):
        if merged and rng.start_minute <= merged[-1].end_minute:
            last = merged[-1]
            merged[-1] = WorkingRange(last.start_minute, max(last.end_minute, rng.end_minute))
        else:
            merged.append(rng)
    return tuple(merged)


def _wall(local_date: date, minute: int) -> datetime:
    # Minute 1440 lands on 00:00 of the next date, as WorkingRange promises.
    return datetime(local_date.year, local_date.month, local_date.day) + minute * ONE_MINUTE


@lru_cache(maxsize=4096)
def _utc_ranges(
    zone_name: str, local_date: date, ranges: tuple[WorkingRange, ...]
) -> tuple[tuple[WorkingRange, Span], ...]:
    zone = load_zone(zone_name)
    out: list[tuple[WorkingRange, Span]] = []
    for rng in ranges:
        start = to_utc(_wall(local_date, rng.start_minute), zone)
        end = to_utc(_wall(local_date, rng.end_minute), zone)
        # A range lying wholly in a spring-forward gap (or running from inside it
        # to just past it) reads as an empty or reversed UTC span: no real time.
        if start < end:
            out.append((rng, Span(start, end)))
    return tuple(out)


def working_spans(staff: StaffAvailability, local_date: date) -> list[tuple[WorkingRange, Span]]:
    """Each working range of that local date (override if present else weekday hours), touching
    ranges merged first, with its UTC span: both ends converted with to_utc (RFC 5545 reading);
    end_minute 1440 means 00:00 of the next local date.

    A merged range whose UTC span would be empty or reversed (it lies in a
    spring-forward gap) has no real working time and is left out.
    """
    return list(_utc_ranges(staff.zone, local_date, day_ranges(staff, local_date)))


@lru_cache(maxsize=4096)
def _grid(
    zone_name: str, local_date: date, start_minute: int, end_minute: int, step_minutes: int
) -> tuple[datetime, ...]:
    """Sorted UTC instants of the candidate starts of one merged working range.

    Same result as calling wall_instants on every grid wall time, but cheaper: a
    cached grid is reused by every staff member sharing zone, hours and step, and
    computing one costs two offset look-ups per wall time in the common case.
    """
    zone = load_zone(zone_name)
    year, month, day = local_date.year, local_date.month, local_date.day
    step = timedelta(minutes=step_minutes)
    wall = _wall(local_date, start_minute)
    # The same clock fields labelled UTC: subtracting the UTC offset from it
    # yields the instant directly, with no per-candidate replace().
    labelled = wall.replace(tzinfo=UTC)
    instants: list[datetime] = []
    for minute in range(start_minute, end_minute, step_minutes):
        # ZoneInfo reads the offset from the clock fields and fold; the two
        # readings differ only in a gap or a fold, which wall_instants sorts out.
        offset = zone.utcoffset(wall)
        later = zone.utcoffset(datetime(year, month, day, minute // 60, minute % 60, fold=1))
        if offset is not None and offset == later:
            instants.append(labelled - offset)
        else:
            instants.extend(wall_instants(wall, zone))
        wall += step
        labelled += step
    # A fall-back repeat interleaves first and second readings; sort them.
    instants.sort()
    return tuple(instants)


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
    zone = load_zone(staff.zone)
    step_minutes = rules.step // ONE_MINUTE
    # A start's local date is the date whose grid produced it. Local dates move
    # forward with UTC under every current rule (a fall-back "at midnight" goes
    # from 24:00 to 23:00 of the same date), but a fall-back from just after
    # midnight would revisit the previous date: one date of slack costs little.
    day = local_wall(lowest, zone).date() - ONE_DAY
    last_day = local_wall(limit, zone).date() + ONE_DAY
    starts: list[datetime] = []
    while day <= last_day:
        for rng, span in _utc_ranges(staff.zone, day, day_ranges(staff, day)):
            first = max(lowest, span.start + lead)
            last = span.end - tail  # the buffered span must end inside the range
            if first > last or first >= limit:
                continue
            grid = _grid(staff.zone, day, rng.start_minute, rng.end_minute, step_minutes)
            i = bisect_left(grid, first)
            j = min(bisect_right(grid, last), bisect_left(grid, limit))
            if i < j:
                starts.extend(busy.free_starts(grid[i:j], lead, tail))
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
    are not enforced, but the buffered span must still fit working hours and be
    free, and start must not be more than 5 minutes before now (IN_PAST).

    "Fits working hours" means: the buffered span lies inside the UTC span of the
    working range (of the start's local date) that contains the start's local
    wall time. Reasons are checked in this order: IN_PAST, TOO_SOON,
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

    zone = load_zone(staff.zone)
    wall = local_wall(start, zone)
    local_date = wall.date()
    buffered_start = start - rules.buffer_before
    buffered_end = start + rules.duration + rules.buffer_after
    for rng, span in working_spans(staff, local_date):
        range_start = _wall(local_date, rng.start_minute)
        if not range_start <= wall < _wall(local_date, rng.end_minute):
            continue
        if not (span.start <= buffered_start and buffered_end <= span.end):
            return Unbookable.OUTSIDE_WORKING_HOURS
        if customer_rules and (wall - range_start) % rules.step:
            return Unbookable.OFF_STEP
        taken = any(b.start < buffered_end and buffered_start < b.end for b in staff.busy)
        return Unbookable.TAKEN if taken else None
    return Unbookable.OUTSIDE_WORKING_HOURS
