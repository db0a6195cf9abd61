"""Busy semantics for CalDAV events: which occurrences of an iCalendar object take a staff member's time.

Terms:
- *busy span*: one occurrence that blocks time, in UTC, with a key that names the occurrence (its RECURRENCE-ID or
  start) so a re-import updates rather than duplicates it.
- *own addresses*: the staff member's calendar addresses; their ATTENDEE line says whether they accepted.

Rules (DESIGN.md): TRANSP:TRANSPARENT, STATUS:CANCELLED and the staff member's own PARTSTAT=DECLINED never block;
STATUS:TENTATIVE or an own PARTSTAT of TENTATIVE or NEEDS-ACTION block only when the policy says so; all-day events
block only when the policy says so, and then from local midnight to local midnight of their dates in the staff
member's zone (never 24 h from UTC midnight). Floating times are read in the calendar's X-WR-TIMEZONE, else the staff
member's zone; domain.ical_spans says how DTSTART, DTEND and DURATION are read, for single and recurring events
alike, and why recurring events are expanded over a wider window than the one imported. Events Lockstep
wrote itself (UIDs ending in LOCKSTEP_UID_SUFFIX) are never busy blocks: they are bookings already.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import icalendar

from domain.ical_quick import quick_calendar
from domain.ical_spans import event_span, expand, reading_zones, starts_from_date
from domain.intervals import Span
from domain.text import printable

LOCKSTEP_UID_SUFFIX = "@lockstep"
_TENTATIVE_PARTSTATS = {"TENTATIVE", "NEEDS-ACTION"}


class UnreadableCalendarData(ValueError):
    """The payload is not iCalendar we can read."""


@dataclass(frozen=True)
class BusyPolicy:
    zone: str
    own_addresses: frozenset[str] = frozenset()
    tentative_blocks: bool = False
    all_day_blocks: bool = True


@dataclass(frozen=True)
class BusySpan:
    span: Span
    occurrence_key: str
    title: str
    all_day: bool
    # Blocks only because the policy lets tentative events block: the journal shows it as tentative.
    tentative: bool = False


def _own_partstat(component: Any, own: frozenset[str]) -> str | None:
    attendees = component.get("ATTENDEE", [])
    for attendee in attendees if isinstance(attendees, list) else [attendees]:
        address = str(attendee).lower().removeprefix("mailto:")
        if address in own:
            return str(attendee.params.get("PARTSTAT", "NEEDS-ACTION")).upper()
    return None


def _tentative(component: Any, own: frozenset[str]) -> bool:
    status = str(component.get("STATUS", "CONFIRMED")).upper()
    return status == "TENTATIVE" or _own_partstat(component, own) in _TENTATIVE_PARTSTATS


def _blocks(component: Any, policy: BusyPolicy, all_day: bool) -> bool:
    status = str(component.get("STATUS", "CONFIRMED")).upper()
    if status == "CANCELLED" or str(component.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
        return False
    if _own_partstat(component, policy.own_addresses) == "DECLINED":
        return False
    if _tentative(component, policy.own_addresses) and not policy.tentative_blocks:
        return False
    return policy.all_day_blocks or not all_day


_RECURRENCE = ("RRULE", "RDATE", "RECURRENCE-ID")


def _occurrences(calendar: Any, window: Span) -> tuple[list[Any], frozenset[str]]:
    """Every occurrence that may overlap `window` (the caller checks the overlap exactly), and the UIDs of the series
    that start on a date. Most events stand alone: those are their own single occurrence, which spares the
    expansion, the larger part of an import's cost; both kinds are then read by the same domain.ical_spans."""
    events = calendar.walk("VEVENT")
    if len(events) == 1 and not any(name in events[0] for name in _RECURRENCE):
        return events, frozenset()
    return expand(calendar, window), starts_from_date(calendar)


def parse_calendar(ical_text: str) -> Any:
    """Parse once, read many times: parsing is most of what an import costs. A plain single event is read by
    domain.ical_quick (it answers the readings' questions as the general parser's object does), anything else by
    the general parser."""
    quick = quick_calendar(ical_text)
    if quick is not None:
        return quick
    try:
        return icalendar.Calendar.from_ical(ical_text)
    except ValueError as exc:
        raise UnreadableCalendarData("not iCalendar data") from exc


def is_lockstep_event(ical_text: str | Any) -> bool:
    calendar = parse_calendar(ical_text) if isinstance(ical_text, str) else ical_text
    return any(str(event.get("UID", "")).endswith(LOCKSTEP_UID_SUFFIX) for event in calendar.walk("VEVENT"))


def caldav_busy_spans(ical_text: str | Any, window: Span, policy: BusyPolicy) -> list[BusySpan]:
    """The busy spans of one calendar object's occurrences that overlap `window`, sorted by start. The object may be
    given as text or as parsed by parse_calendar."""
    calendar = parse_calendar(ical_text) if isinstance(ical_text, str) else ical_text
    if is_lockstep_event(calendar):
        return []
    spans: list[BusySpan] = []
    zones = reading_zones(calendar, policy.zone)
    occurrences, from_date = _occurrences(calendar, window)
    for occurrence in occurrences:
        span, all_day = event_span(occurrence, zones, series_from_date=str(occurrence.get("UID", "")) in from_date)
        if span is None or not (span.start < window.end and window.start < span.end):
            continue  # takes no time, or lies outside the exact window (the expansion is asked for a wider one)
        if not _blocks(occurrence, policy, all_day):
            continue
        recurrence_id = occurrence.get("RECURRENCE-ID")
        key_source = recurrence_id.dt if recurrence_id is not None else occurrence["DTSTART"].dt
        key = key_source.isoformat() if isinstance(key_source, date) else str(key_source)
        spans.append(BusySpan(span, key, printable(str(occurrence.get("SUMMARY", ""))), all_day,
                              _tentative(occurrence, policy.own_addresses)))
    spans.sort(key=lambda busy: (busy.span.start, busy.occurrence_key))
    return spans
