"""Working hours read as real time: which instants a staff member works.

Terms used throughout:

* *written range*: a ``WorkingRange`` as a person typed it for one local date (a weekday's hours or a date's
  override): local wall-clock minutes since that date's midnight. 1440 is the midnight that ends the date; an end
  past 1440 runs into the next local date, so 22:00-06:00 is ``WorkingRange(1320, 1800)``, an *overnight* range.
  A written range belongs to the date it starts on.
* *day range*: working hours as they fall on one local date, minutes within [0, 1440]: the date's own written
  ranges up to midnight plus the after-midnight part of the previous date's overnight ranges, touching or
  overlapping ones merged. The slot grid of a date is counted from the start of each of its day ranges.
* *working time*: the union of the UTC spans of every day range of every date. A *stretch* is one unbroken piece of
  it: day ranges whose UTC spans touch or overlap lie in one stretch, across midnight as within a date, so a service
  may run across the join (Saturday 20:00-24:00 and Sunday 00:00-04:00 hold a 23:30-00:30 service). Joining by UTC
  instants rather than by clock readings also joins what a DST change at midnight puts on both sides of a missing
  hour (Saturday until 24:00 and Sunday from 01:00 when 00:00-01:00 does not exist).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from operator import attrgetter

from domain.intervals import Span, merge_spans
from domain.zones import load_zone, local_wall, to_utc, wall_instants

MINUTES_PER_DAY = 1440
ONE_DAY = timedelta(days=1)
ONE_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class WorkingRange:
    """Local wall-clock minutes since the midnight of its date: ``0 <= start < 1440`` and
    ``start < end <= start + 1440``. An end of 1440 is the midnight that ends the date; a larger end runs
    into the next date (overnight), so a range lasts at most a day."""

    start_minute: int
    end_minute: int

    def __post_init__(self) -> None:
        start, end = self.start_minute, self.end_minute
        if not (0 <= start < MINUTES_PER_DAY and start < end <= start + MINUTES_PER_DAY):
            raise ValueError(f"working range needs 0 <= start < 1440 and start < end <= start + 1440: {start}..{end}")

    @property
    def is_overnight(self) -> bool:
        """True when the range runs past the midnight that ends its date."""
        return self.end_minute > MINUTES_PER_DAY


@dataclass(frozen=True)
class StaffAvailability:
    """One staff member's working hours (local to ``zone``) and busy time (UTC).

    ``weekly`` maps weekday 0=Monday..6=Sunday to written ranges; ``overrides`` maps a local date to written ranges
    replacing that weekday's hours (() = no range starts that date). An override replaces only the ranges that
    start on its date: the previous date's overnight range still runs into it. ``busy`` holds UTC spans already
    taken: other bookings' BUFFERED spans and busy blocks. Ranges should not overlap; touching ones are joined
    (overlapping ones are joined too rather than rejected).
    """

    staff_id: int
    zone: str
    weekly: Mapping[int, tuple[WorkingRange, ...]]
    overrides: Mapping[date, tuple[WorkingRange, ...]]
    busy: tuple[Span, ...]


def written_ranges(staff: StaffAvailability, local_date: date) -> tuple[WorkingRange, ...]:
    """The ranges that start on ``local_date``: its override if it has one, else its weekday's hours."""
    if local_date in staff.overrides:
        return tuple(staff.overrides[local_date])
    return tuple(staff.weekly.get(local_date.weekday(), ()))


def day_ranges(staff: StaffAvailability, local_date: date) -> tuple[WorkingRange, ...]:
    """The day ranges of ``local_date`` (see the module docstring): sorted, merged, each within [0, 1440]."""
    return _day_ranges(written_ranges(staff, local_date), written_ranges(staff, local_date - ONE_DAY))


_BOUNDS = attrgetter("start_minute", "end_minute")


@lru_cache(maxsize=1024)
def _day_ranges(own: tuple[WorkingRange, ...], previous: tuple[WorkingRange, ...]) -> tuple[WorkingRange, ...]:
    pieces = [WorkingRange(r.start_minute, min(r.end_minute, MINUTES_PER_DAY)) for r in own]
    pieces += [WorkingRange(0, r.end_minute - MINUTES_PER_DAY) for r in previous if r.is_overnight]
    merged: list[WorkingRange] = []
    for rng in sorted(pieces, key=_BOUNDS):
        if merged and rng.start_minute <= merged[-1].end_minute:
            last = merged[-1]
            merged[-1] = WorkingRange(last.start_minute, max(last.end_minute, rng.end_minute))
        else:
            merged.append(rng)
    return tuple(merged)


def wall_at(local_date: date, minute: int) -> datetime:
    """The naive wall time ``minute`` minutes after the midnight of ``local_date`` (1440: the next midnight)."""
    return datetime(local_date.year, local_date.month, local_date.day) + minute * ONE_MINUTE


@lru_cache(maxsize=4096)
def _utc_ranges(
    zone_name: str, local_date: date, ranges: tuple[WorkingRange, ...]
) -> tuple[tuple[WorkingRange, Span], ...]:
    zone = load_zone(zone_name)
    out: list[tuple[WorkingRange, Span]] = []
    for rng in ranges:
        start = to_utc(wall_at(local_date, rng.start_minute), zone)
        end = to_utc(wall_at(local_date, rng.end_minute), zone)
        # A range lying wholly in a spring-forward gap (or running from inside it
        # to just past it) reads as an empty or reversed UTC span: no real time.
        if start < end:
            out.append((rng, Span(start, end)))
    return tuple(out)


def working_spans(staff: StaffAvailability, local_date: date) -> list[tuple[WorkingRange, Span]]:
    """Each day range of that local date with its UTC span: both ends converted with to_utc (RFC 5545 reading);
    end_minute 1440 means 00:00 of the next local date.

    A day range whose UTC span would be empty or reversed (it lies in a spring-forward gap) has no real working
    time and is left out.
    """
    return list(_utc_ranges(staff.zone, local_date, day_ranges(staff, local_date)))


def ranges_between(staff: StaffAvailability, first_day: date, last_day: date) -> dict[date, tuple[WorkingRange, ...]]:
    """The day ranges of each local date ``first_day..last_day`` (as day_ranges gives them), reading each date's
    written ranges once."""
    written: dict[date, tuple[WorkingRange, ...]] = {}
    day = first_day - ONE_DAY
    while day <= last_day:
        written[day] = written_ranges(staff, day)
        day += ONE_DAY
    return {day: _day_ranges(own, written[day - ONE_DAY]) for day, own in written.items() if day >= first_day}


def spans_of(zone_name: str, local_date: date, ranges: tuple[WorkingRange, ...]
             ) -> tuple[tuple[WorkingRange, Span], ...]:
    """``ranges`` (day ranges of ``local_date``) with their UTC spans, as working_spans gives them."""
    return _utc_ranges(zone_name, local_date, ranges)


def stretches_of(zone_name: str, by_day: Mapping[date, tuple[WorkingRange, ...]]) -> list[Span]:
    """The working time of these dates' day ranges as sorted, disjoint stretches (touching or overlapping UTC spans
    joined)."""
    return merge_spans([span for day, ranges in by_day.items() for _, span in _utc_ranges(zone_name, day, ranges)])


def stretches(staff: StaffAvailability, first_day: date, last_day: date) -> list[Span]:
    """The working time of the day ranges of the local dates ``first_day..last_day``, as sorted, disjoint stretches
    (touching or overlapping UTC spans joined). Exact for every instant those dates' day ranges can reach;
    a stretch running on beyond them is cut where they end."""
    return stretches_of(staff.zone, ranges_between(staff, first_day, last_day))


def local_dates_reaching(zone_name: str, start: datetime, end: datetime) -> tuple[date, date]:
    """The first and last local date whose day ranges can hold an instant of ``[start, end]``.

    A day range of date D lies within D's wall clock, so an instant's local date is its range's date; one date of
    slack on each side covers a fall-back that revisits the previous date just after midnight.
    """
    zone = load_zone(zone_name)
    return local_wall(start, zone).date() - ONE_DAY, local_wall(end, zone).date() + ONE_DAY


def stretch_of(found: list[Span], span: Span) -> Span | None:
    """The stretch of ``found`` (sorted, disjoint) that contains ``span``, if one does."""
    i = bisect_right(found, span.start, key=attrgetter("start")) - 1
    if i >= 0 and found[i].contains(span):
        return found[i]
    return None


def in_working_time(staff: StaffAvailability, need: Span) -> bool:
    """True when every instant of ``need`` is working time: it lies inside one stretch."""
    first, last = local_dates_reaching(staff.zone, need.start, need.end)
    return stretch_of(stretches(staff, first, last), need) is not None


@lru_cache(maxsize=4096)
def grid(zone_name: str, local_date: date, start_minute: int, end_minute: int, step_minutes: int
         ) -> tuple[datetime, ...]:
    """Sorted UTC instants of the candidate starts of one day range: every instant at which the local clock shows
    ``start + k * step`` (k >= 0) before the range's end.

    Same result as calling wall_instants on every grid wall time, but cheaper: a cached grid is reused by every
    staff member sharing zone, hours and step, and computing one costs two offset look-ups per wall time in the
    common case.
    """
    zone = load_zone(zone_name)
    year, month, day = local_date.year, local_date.month, local_date.day
    step = timedelta(minutes=step_minutes)
    wall = wall_at(local_date, start_minute)
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
