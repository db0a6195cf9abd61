"""Reading Lockstep's own events back from a calendar, and telling what the staff member changed in them.

Terms:
- *own event*: a calendar object Lockstep wrote, recognised by its marker UID (domain.sync.parse_marker): one per
  single booking ("booking-N@lockstep") or one per recurring series ("series-N@lockstep"). Own events are never busy
  blocks (domain.busy), but the staff member may move or delete them in their calendar app.
- *planned start*: when an occurrence was planned to start, in UTC. For an occurrence of a recurring event it is the
  RECURRENCE-ID, which calendar apps keep when one occurrence is moved; for a single event it is its DTSTART.
- *occurrence in the window*: an occurrence whose planned start lies in the half-open window. It is reported wherever
  it now takes place, even outside the window, so an occurrence moved far away reads as moved, not as deleted.
- *calendar edit*: a difference between what Lockstep last wrote and what the calendar holds now for one planned
  occurrence: MOVED (it takes place at another span) or DELETED (it no longer takes place: removed, EXDATE'd or
  overridden with STATUS:CANCELLED).

Times are read as domain.busy reads them (domain.ical_spans): zoned and UTC values as the instants they name,
floating values on the calendar's X-WR-TIMEZONE or else the staff member's wall clock (`zone`), dates from local
midnight. Every span and key returned is in UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.busy import parse_calendar
from domain.ical_spans import ReadingZones, event_span, expand, instant, reading_zones
from domain.intervals import Span
from domain.sync import MarkerKind, parse_marker


@dataclass(frozen=True)
class OwnEvent:
    """One of Lockstep's events as the calendar holds it now: which booking or series it is for, and each occurrence
    in the window that still takes place, keyed by planned start and valued with where it actually is now."""

    kind: MarkerKind
    target_id: int
    occurrences: Mapping[datetime, Span]


class EditKind(StrEnum):
    MOVED = "moved"
    DELETED = "deleted"


@dataclass(frozen=True)
class CalendarEdit:
    """The staff member moved or deleted the occurrence planned at `planned_start`. `expected` is where Lockstep last
    wrote it; `new_span` is where it is now (None when DELETED)."""

    kind: EditKind
    planned_start: datetime
    expected: Span
    new_span: Span | None = None


def _planned_start(component: Any, zones: ReadingZones) -> datetime:
    recurrence_id = component.get("RECURRENCE-ID")
    source = recurrence_id if recurrence_id is not None else component["DTSTART"]
    return instant(source.dt, zones)


def _taking_place(component: Any, zones: ReadingZones) -> Span | None:
    """Where the occurrence is now, or None when it no longer takes place. An occurrence that takes no time cannot
    hold a booking, so it counts as gone rather than as a span (Span refuses empty spans)."""
    if str(component.get("STATUS", "CONFIRMED")).upper() == "CANCELLED":
        return None
    return event_span(component, zones)[0]


def _in_window(instant: datetime, window: Span) -> bool:
    return window.start <= instant < window.end


def read_own_event(ical_text: str | Any, window: Span, zone: str) -> OwnEvent | None:
    """The own event in `ical_text` (text, or a calendar parsed by domain.busy.parse_calendar), or None when the
    object is not one of Lockstep's (no VEVENT, several UIDs, or a
    UID that is not exactly a marker). Raises UnreadableCalendarData for text that is not iCalendar.

    A single event (no RRULE/RDATE) has one occurrence, reported whatever the window: after a hand move its planned
    start is unknowable from the calendar (DTSTART is the new one), and it cannot run away unbounded."""
    calendar = parse_calendar(ical_text) if isinstance(ical_text, str) else ical_text
    components = list(calendar.walk("VEVENT"))
    uids = {str(component.get("UID", "")) for component in components}
    marker = parse_marker(uids.pop()) if len(uids) == 1 else None
    if marker is None:
        return None
    local = reading_zones(calendar, zone)
    occurrences: dict[datetime, Span] = {}

    def take(component: Any) -> None:
        span = _taking_place(component, local)
        if span is not None:
            occurrences[_planned_start(component, local)] = span

    masters = [component for component in components if component.get("RECURRENCE-ID") is None]
    if not any(master.get("RRULE") is not None or master.get("RDATE") is not None for master in masters):
        for master in masters:
            take(master)
        return OwnEvent(marker[0], marker[1], occurrences)
    # The expansion applies EXDATE and RECURRENCE-ID overrides, but only lists what now overlaps the window.
    for occurrence in expand(calendar, window):
        if _in_window(_planned_start(occurrence, local), window):
            take(occurrence)
    # An override planned in the window but moved out of it is found in the text itself.
    for override in components:
        if override.get("RECURRENCE-ID") is not None and _in_window(_planned_start(override, local), window):
            take(override)
    return OwnEvent(marker[0], marker[1], occurrences)


def calendar_edits(expected: Mapping[datetime, Span], found: OwnEvent | None, window: Span) -> list[CalendarEdit]:
    """What the staff member changed: for each occurrence Lockstep last wrote (`expected`: planned start -> span)
    whose planned start lies in `window`, DELETED when `found` (None: the whole event is gone) no longer has it, MOVED
    when it takes place at another span. Occurrences found that Lockstep never planned are ignored: edits are only
    about bookings. Sorted by planned start; [] when the calendar holds exactly what Lockstep wrote, so re-reading
    Lockstep's own write is never an edit (no echo).

    A single booking's event is matched by being its one occurrence rather than by key, since moving it by hand
    changes the DTSTART that keys it."""
    planned = sorted((start, span) for start, span in expected.items() if _in_window(start, window))
    now: Mapping[datetime, Span] = found.occurrences if found is not None else {}
    edits: list[CalendarEdit] = []
    for start, span in planned:
        current = now.get(start)
        if current is None and found is not None and found.kind == "booking" and len(planned) == 1 and now:
            current = now[min(now)]
        if current is None:
            edits.append(CalendarEdit(EditKind.DELETED, start, span))
        elif current != span:
            edits.append(CalendarEdit(EditKind.MOVED, start, span, current))
    return edits
