"""Brute-force slot oracle for the property tests.

The production code goes forwards: it walks each day range's local grid, reads each wall time as instants and
checks the buffered span against merged stretches of working time. This oracle goes backwards, from the definition:
it visits every UTC minute of the window and asks "is this instant a slot start?" by reading the local clock at that
instant, and it decides "is this span working time?" by looking at every minute of the span. It uses only the
standard library (no ``domain`` helpers beyond the input dataclasses), so a shared bug would have to be written twice.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.availability import SlotRules, StaffAvailability
from domain.intervals import Span

MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)


def ranges_starting_on(staff: StaffAvailability, local_date: date) -> list[tuple[int, int]]:
    """The (start, end) minutes of the ranges written for that date: its override, else its weekday's hours."""
    raw = staff.overrides[local_date] if local_date in staff.overrides else staff.weekly.get(local_date.weekday(), ())
    return [(r.start_minute, r.end_minute) for r in raw]


def merged_minutes(staff: StaffAvailability, local_date: date) -> list[tuple[int, int]]:
    """That date's working hours as (start, end) minutes within [0, 1440]: its own ranges up to midnight and
    the after-midnight part of the previous date's overnight ranges; sorted, touching or overlapping ones joined."""
    pieces = [(start, min(end, 1440)) for start, end in ranges_starting_on(staff, local_date)]
    pieces += [(0, end - 1440) for _, end in ranges_starting_on(staff, local_date - DAY) if end > 1440]
    joined: list[tuple[int, int]] = []
    for start, end in sorted(pieces):
        if joined and start <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], end))
        else:
            joined.append((start, end))
    return joined


def rfc5545_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """A wall time read the RFC 5545 way: first occurrence in a fold, pre-gap offset in a gap."""
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


class _Day:
    """One local date's ranges as (range start wall, range end wall, UTC start, UTC end)."""

    def __init__(self, staff: StaffAvailability, local_date: date, zone: ZoneInfo) -> None:
        midnight = datetime(local_date.year, local_date.month, local_date.day)
        self.ranges = []
        for start, end in merged_minutes(staff, local_date):
            wall_start = midnight + start * MINUTE
            wall_end = midnight + end * MINUTE
            self.ranges.append(
                (wall_start, wall_end, rfc5545_instant(wall_start, zone), rfc5545_instant(wall_end, zone))
            )


class Schedule:
    """One staff member's days and working minutes, worked out lazily and kept."""

    def __init__(self, staff: StaffAvailability) -> None:
        self.staff = staff
        self.zone = ZoneInfo(staff.zone)
        self.days: dict[date, _Day] = {}
        self.working: set[datetime] = set()
        self.counted: set[date] = set()

    def day(self, local_date: date) -> _Day:
        if local_date not in self.days:
            self.days[local_date] = _Day(self.staff, local_date, self.zone)
        return self.days[local_date]

    def is_working_minute(self, t: datetime) -> bool:
        """Whether the whole UTC minute starting at ``t`` is worked in some range of some date."""
        around = t.astimezone(self.zone).date()
        for local_date in (around - 2 * DAY, around - DAY, around, around + DAY, around + 2 * DAY):
            if local_date not in self.counted:
                self.counted.add(local_date)
                for _, _, utc_start, utc_end in self.day(local_date).ranges:
                    m = utc_start
                    while m < utc_end:
                        self.working.add(m)
                        m += MINUTE
        return t in self.working


def is_slot_start(staff: StaffAvailability, rules: SlotRules, t: datetime, now: datetime,
                  schedule: Schedule | None = None) -> bool:
    """Whether the instant ``t`` (a whole UTC minute) is a slot start, decided straight from the definition."""
    if t < now or t < now + rules.minimum_notice or t >= now + rules.horizon:
        return False
    schedule = schedule or Schedule(staff)
    wall = t.astimezone(schedule.zone).replace(tzinfo=None, fold=0)
    step_minutes = rules.step // MINUTE
    for wall_start, wall_end, utc_start, utc_end in schedule.day(wall.date()).ranges:
        if not wall_start <= wall < wall_end:
            continue
        into = wall - wall_start
        if into % MINUTE or (into // MINUTE) % step_minutes:
            return False  # not on this range's grid
        if not utc_start <= t < utc_end:
            return False  # the clock shows a grid time, but outside this range's own time
        lo = t - rules.buffer_before
        hi = t + rules.duration + rules.buffer_after
        m = lo
        while m < hi:
            if not schedule.is_working_minute(m):
                return False
            m += MINUTE
        return not any(b.start < hi and lo < b.end for b in staff.busy)
    return False


def slot_starts(staff: StaffAvailability, rules: SlotRules, window: Span, now: datetime) -> list[datetime]:
    """Every slot start in ``window``, found by trying each whole UTC minute in it.

    Exhaustive because every zone offset in use is a whole number of minutes and
    grid wall times are whole minutes, so every slot start is a whole UTC minute;
    for the same reason every range boundary is one, so a span of whole minutes is
    working time exactly when each of its minutes is.
    """
    t = window.start.replace(second=0, microsecond=0)
    if t < window.start:
        t += MINUTE
    schedule = Schedule(staff)
    found = []
    while t < window.end:
        if is_slot_start(staff, rules, t, now, schedule):
            found.append(t)
        t += MINUTE
    return found
