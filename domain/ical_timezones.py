"""VTIMEZONE components built from the zone's real UTC offsets (zoneinfo), for every iCalendar object Lockstep
writes for people's calendars: invitations (domain.invitations) and calendar feeds (domain.calendar_feeds).

icalendar can generate a VTIMEZONE from a zoneinfo zone, but the version in use writes a spring-forward onset at the
wall time after the change, which read by the RFC's rule puts the change an hour late (docs/invitations.md); so the
parts are built here: each change found by probing once a day and halving down to the second.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import icalendar

from domain.zones import load_zone, to_utc

# Offsets change at most a few times a year; probing once a day finds every change (none is less than a day from the
# next), and halving the day down to a second then places it exactly.
_PROBE = timedelta(days=1)


def _observance(instant: datetime, zone: ZoneInfo) -> tuple[timedelta, str, bool]:
    local = instant.astimezone(zone)
    offset, dst = local.utcoffset(), local.dst()
    assert offset is not None  # a ZoneInfo always has an offset
    # A zone whose summer is its standard time (Europe/Dublin's negative DST) is written with STANDARD parts only.
    return offset, local.tzname() or "", dst is not None and dst > timedelta(0)


def _offset_changes(zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """The UTC instants in (start, end] at which the zone's offset, abbreviation or DST flag changes."""
    changes: list[datetime] = []
    probe, state = start, _observance(start, zone)
    while probe < end:
        ahead = min(probe + _PROBE, end)
        if _observance(ahead, zone) == state:
            probe = ahead
            continue
        before, after = int(probe.timestamp()), int(ahead.timestamp())
        while after - before > 1:
            middle = (before + after) // 2
            if _observance(datetime.fromtimestamp(middle, UTC), zone) == state:
                before = middle
            else:
                after = middle
        probe = datetime.fromtimestamp(after, UTC)
        state = _observance(probe, zone)
        changes.append(probe)
    return changes


_Part = tuple[datetime, timedelta, timedelta, str, bool]  # onset (local wall), offset from, offset to, name, DST


@lru_cache(maxsize=256)
def _zone_parts(name: str, first_year: int, last_year: int) -> tuple[_Part, ...]:
    """The zone from 1 January of ``first_year`` to the end of ``last_year`` (local): the observance in force at the
    start, then one part per change, whose onset is the local time just before the change (clock time in its
    TZOFFSETFROM, RFC 5545 3.6.5). Whole years, so a zone with DST shows both of its observances."""
    zone = load_zone(name)
    start = to_utc(datetime(first_year, 1, 1), zone)
    end = to_utc(datetime(last_year + 1, 1, 1), zone)
    offset, abbreviation, daylight = _observance(start, zone)
    parts: list[_Part] = [(_wall(start, offset), offset, offset, abbreviation, daylight)]
    for change in _offset_changes(zone, start, end):
        new_offset, abbreviation, daylight = _observance(change, zone)
        parts.append((_wall(change, offset), offset, new_offset, abbreviation, daylight))
        offset = new_offset
    return tuple(parts)


def _wall(instant: datetime, offset: timedelta) -> datetime:
    return (instant.astimezone(UTC) + offset).replace(tzinfo=None)


def vtimezone(name: str, first_year: int, last_year: int) -> icalendar.Timezone:
    """The VTIMEZONE of the IANA zone `name` over the whole local years `first_year` to `last_year`: the observance
    in force on 1 January of the first, then one STANDARD or DAYLIGHT part per change of offset, abbreviation or DST
    flag, each part's DTSTART the local time just before its change read in its TZOFFSETFROM (RFC 5545 3.6.5).
    UnknownTimeZone for a bad name."""
    timezone = icalendar.Timezone()
    timezone.add("TZID", name)
    for onset, offset_from, offset_to, abbreviation, daylight in _zone_parts(name, first_year, last_year):
        part = icalendar.TimezoneDaylight() if daylight else icalendar.TimezoneStandard()
        part.add("DTSTART", onset)
        part.add("TZOFFSETFROM", offset_from)
        part.add("TZOFFSETTO", offset_to)
        if abbreviation:
            part.add("TZNAME", abbreviation)
        timezone.add_component(part)
    return timezone
