"""Brute-force slot oracle for the property tests.

The production code goes forwards: it walks each working range's local grid
and reads each wall time as instants. This oracle goes backwards, from the
definition: it visits every UTC minute of the window and asks "is this instant
a slot start?" by reading the local clock at that instant. It uses only the
standard library (no ``domain`` helpers beyond the input dataclasses), so a
shared bug would have to be written twice.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.availability import SlotRules, StaffAvailability
from domain.intervals import Span

MINUTE = timedelta(minutes=1)


def merged_minutes(staff: StaffAvailability, local_date: date) -> list[tuple[int, int]]:
    """That date's working ranges as (start, end) minutes: the override when the date has one,
    else the weekday's hours; sorted, touching or overlapping ones joined."""
    raw = staff.overrides[local_date] if local_date in staff.overrides else staff.weekly.get(local_date.weekday(), ())
    joined: list[tuple[int, int]] = []
    for start, end in sorted((r.start_minute, r.end_minute) for r in raw):
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


def is_slot_start(
    staff: StaffAvailability,
    rules: SlotRules,
    t: datetime,
    now: datetime,
    days: dict[date, _Day] | None = None,
) -> bool:
    """Whether the instant ``t`` is a slot start, decided straight from the definition."""
    if t < now or t < now + rules.minimum_notice or t >= now + rules.horizon:
        return False
    zone = ZoneInfo(staff.zone)
    wall = t.astimezone(zone).replace(tzinfo=None, fold=0)
    local_date = wall.date()
    if days is None:
        days = {}
    if local_date not in days:
        days[local_date] = _Day(staff, local_date, zone)
    step_minutes = rules.step // MINUTE
    for wall_start, wall_end, utc_start, utc_end in days[local_date].ranges:
        if not wall_start <= wall < wall_end:
            continue
        into = wall - wall_start
        if into % MINUTE or (into // MINUTE) % step_minutes:
            return False  # not on this range's grid
        lo = t - rules.buffer_before
        hi = t + rules.duration + rules.buffer_after
        if not (utc_start <= lo and hi <= utc_end):
            return False
        return not any(b.start < hi and lo < b.end for b in staff.busy)
    return False


def slot_starts(staff: StaffAvailability, rules: SlotRules, window: Span, now: datetime) -> list[datetime]:
    """Every slot start in ``window``, found by trying each whole UTC minute in it.

    Exhaustive because every zone offset in use is a whole number of minutes and
    grid wall times are whole minutes, so every slot start is a whole UTC minute.
    """
    t = window.start.replace(second=0, microsecond=0)
    if t < window.start:
        t += MINUTE
    days: dict[date, _Day] = {}
    found = []
    while t < window.end:
        if is_slot_start(staff, rules, t, now, days):
            found.append(t)
        t += MINUTE
    return found
