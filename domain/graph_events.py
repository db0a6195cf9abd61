"""Busy semantics of Microsoft Graph events, and reading Lockstep's own events back from Graph.

A payload is one Graph event resource as JSON text (or parsed already): a singleInstance, an exception, or an
occurrence. Graph's delta lists an occurrence with only its id, type, seriesMasterId, start, end and etag; the
provider *hydrates* it (copies subject, showAs, sensitivity, isAllDay, isCancelled, responseStatus, attendees,
singleValueExtendedProperties, originalStartTimeZone, ... from its series master) before it is read here. A
seriesMaster itself never takes time: its occurrences come as items of their own.

Terms:
- *dateTimeTimeZone*: Graph's time value, a wall time without offset ("2030-01-08T14:00:00.0000000") and the zone
  it is read in: an IANA name, a Windows name ("Pacific Standard Time"), "UTC", or a legacy custom zone
  ("tzone://Microsoft/Custom") that names nothing we can read, for which a fallback zone stands in;
- *event zone*: the zone the event was written in: its originalStartTimeZone when that names a zone, else its
  start's zone unless that is UTC (Graph answers in UTC unless asked otherwise, which says nothing of the event),
  else the fallback (the calendar's zone);
- *marker property*: the single-value extended property MARKER_PROPERTY_ID that Lockstep writes on its own events,
  holding the marker (domain.sync.parse_marker);
- *planned-start property*: PLANNED_PROPERTY_ID, which Lockstep writes beside the marker on each single event that
  stands for one occurrence of a series Graph cannot repeat (providers/microsoft_singles.py): the occurrence's
  planned start, an ISO 8601 UTC instant ("2030-01-15T09:00:00Z").

Rules (DESIGN.md), with the same BusyPolicy and BusySpan as domain.busy:
- free: showAs free or workingElsewhere, isCancelled true, the staff member's own response declined (the event's
  responseStatus, or their attendee entry: the one whose address is one of the policy's own addresses), a
  seriesMaster, an item Graph reports as removed; and Lockstep's own events (the marker property), which are
  bookings already;
- busy: showAs busy, oof, unknown, or none given;
- tentative (showAs tentative, or the own response tentativelyAccepted) blocks only when the policy's
  `tentative_blocks` says so;
- all-day events (isAllDay) block only when the policy's `all_day_blocks` says so, and then from local midnight to
  local midnight of their dates in the event zone. Graph gives all-day events as midnight-to-midnight dates whatever
  zone it answers in, so the dates are the date parts of start and end, never UTC midnights; an end on or before
  the start means the one day of the start.
The title is the subject as it reads (sensitivity does not hide it: titles are shown to the staff member only);
is_private tells callers that show it to anyone else.
Occurrence key: the occurrence's original start (`originalStart`, a UTC instant), else its start: the UTC instant in
ISO 8601, or for an all-day event its local date. Lockstep's own single standing for an occurrence is keyed by its
planned-start property.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from domain.busy import BusyPolicy, BusySpan, UnreadableCalendarData
from domain.intervals import Span
from domain.json_events import json_resource
from domain.own_events import OwnEvent
from domain.sync import MarkerKind, parse_marker
from domain.text import printable
from domain.zones import is_valid_zone, load_zone, to_utc

MARKER_GUID = "7b2f3c1e-5a4d-4e8b-9c61-0d2e3f4a5b6c"
MARKER_NAME = "lockstepMarker"
MARKER_PROPERTY_ID = f"String {{{MARKER_GUID}}} Name {MARKER_NAME}"
PLANNED_NAME = "lockstepPlannedStart"
PLANNED_PROPERTY_ID = f"String {{{MARKER_GUID}}} Name {PLANNED_NAME}"

_PROPERTY_ID = re.compile(r"(\S+) \{([0-9A-Fa-f-]+)\} Name (.+)")
# Graph writes up to 7 fractional digits; Python reads at most 6.
_DATE_TIME = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2})?)(?:\.([0-9]+))?(Z|[+-][0-9:]+)?")
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu",
                        "GMT", "Etc/GMT", "Etc/GMT0", "Etc/GMT+0", "Etc/GMT-0", "GMT0", "GMT+0", "GMT-0"})
_FREE_SHOW_AS = {"free", "workingElsewhere"}
_INSTANCE_TYPES = {"occurrence", "exception"}


class UnreadableGraphEvent(UnreadableCalendarData):
    """The payload is not a Graph event resource we can read."""


def parse_event(payload: str | dict[str, Any]) -> dict[str, Any]:
    """The event resource of `payload`: JSON text, or a resource parsed already (returned as it is), so a caller
    asking several questions of one event parses it once."""
    return json_resource(payload, UnreadableGraphEvent, "Graph event resource")


def _is_own_property(property_id: str, name: str) -> bool:
    match = _PROPERTY_ID.fullmatch(property_id)
    return (match is not None and match.group(1) == "String" and match.group(2).lower() == MARKER_GUID
            and match.group(3) == name)


def _own_property(resource: dict[str, Any], name: str) -> str | None:
    """The value of Lockstep's property `name` on the event (its GUID compared without regard to case, as Graph may
    spell it either way; its type and name exactly), or None when the event has none that is text."""
    properties = resource.get("singleValueExtendedProperties")
    for item in properties if isinstance(properties, list) else []:
        if isinstance(item, dict) and isinstance(item.get("id"), str) and _is_own_property(item["id"], name):
            value = item.get("value")
            return value if isinstance(value, str) else None
    return None


def marker_value(resource: dict[str, Any]) -> str | None:
    """The marker property's text as written, when the event carries one that parses as a marker."""
    value = _own_property(resource, MARKER_NAME)
    return value if value is not None and parse_marker(value) is not None else None


def marker_of(resource: dict[str, Any]) -> tuple[MarkerKind, int] | None:
    """("booking", N) or ("series", N) when the event carries Lockstep's marker property, else None."""
    value = _own_property(resource, MARKER_NAME)
    return parse_marker(value) if value is not None else None


def planned_start_of(resource: dict[str, Any]) -> datetime | None:
    """The planned-start property's instant (UTC), or None when the event has none. A value that is not an ISO 8601
    instant is UnreadableGraphEvent (Lockstep writes it; one it cannot read is not taken for a plain event)."""
    value = _own_property(resource, PLANNED_NAME)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise UnreadableGraphEvent("the planned start of an occurrence is not readable") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def zone_name(name: Any) -> str | None:
    """The IANA name for a Graph zone: an IANA name itself, a Windows name mapped, "UTC"; None for anything else
    (a legacy custom zone, a name this system does not know)."""
    if not isinstance(name, str):
        return None
    if is_valid_zone(name):
        return name
    mapped = WINDOWS_TO_OLSON.get(name)
    return mapped if isinstance(mapped, str) and is_valid_zone(mapped) else None


def event_zone(resource: dict[str, Any], fallback: str) -> str:
    """The event zone (see the module's terms): the IANA name it resolves to, else `fallback`."""
    original = zone_name(resource.get("originalStartTimeZone"))
    if original is not None:
        return original
    start = resource.get("start")
    own = zone_name(start.get("timeZone")) if isinstance(start, dict) else None
    return own if own is not None and own not in _UTC_NAMES else fallback


def _wall(text: Any) -> datetime:
    """A dateTime's wall time (naive), or the instant it names when it carries an offset (aware)."""
    match = _DATE_TIME.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise UnreadableGraphEvent("an event time is not readable")
    clock, fraction, offset = match.groups()
    digits = f".{fraction[:6].ljust(6, '0')}" if fraction else ""
    zone = "" if offset is None else "+00:00" if offset == "Z" else offset
    try:
        return datetime.fromisoformat(clock + digits + zone)
    except ValueError as exc:
        raise UnreadableGraphEvent("an event time is not readable") from exc


def graph_instant(value: Any, zone_fallback: str) -> datetime:
    """The UTC instant a dateTimeTimeZone names: its wall time read in its timeZone, or in `zone_fallback` when that
    names no zone we can read."""
    if not isinstance(value, dict):
        raise UnreadableGraphEvent("an event time is missing")
    moment = _wall(value.get("dateTime"))
    if moment.tzinfo is not None:
        return moment.astimezone(UTC)
    return to_utc(moment, load_zone(zone_name(value.get("timeZone")) or zone_fallback))


def _original_start(resource: dict[str, Any]) -> datetime | None:
    """The occurrence's originalStart (Graph writes it in UTC, with or without a Z)."""
    value = resource.get("originalStart")
    if not isinstance(value, str):
        return None
    moment = _wall(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def is_private(resource: dict[str, Any]) -> bool:
    """Whether the event is marked private or confidential: its title is for the staff member's eyes only."""
    return resource.get("sensitivity") in {"private", "confidential"}


def _own_responses(resource: dict[str, Any], own_addresses: frozenset[str]) -> set[str]:
    """The staff member's responses: the event's responseStatus, and their attendee entry's status if listed."""
    responses: set[str] = set()
    status = resource.get("responseStatus")
    if isinstance(status, dict) and isinstance(status.get("response"), str):
        responses.add(status["response"])
    own = {address.lower() for address in own_addresses}
    for attendee in resource.get("attendees") or []:
        if not isinstance(attendee, dict):
            continue
        email = attendee.get("emailAddress")
        address = email.get("address") if isinstance(email, dict) else None
        entry = attendee.get("status")
        if isinstance(address, str) and address.lower() in own and isinstance(entry, dict):
            responses.add(str(entry.get("response", "none")))
    return responses


def _blocks(resource: dict[str, Any], policy: BusyPolicy) -> bool:
    show_as = resource.get("showAs", "unknown")
    if resource.get("isCancelled") is True or show_as in _FREE_SHOW_AS:
        return False
    if "declined" in _own_responses(resource, policy.own_addresses):
        return False
    return policy.tentative_blocks or not _tentative(resource, policy.own_addresses)


def _tentative(resource: dict[str, Any], own: frozenset[str]) -> bool:
    return resource.get("showAs") == "tentative" or "tentativelyAccepted" in _own_responses(resource, own)


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return to_utc(datetime.combine(day, time()), zone)


def _times(resource: dict[str, Any], fallback: str) -> tuple[datetime, datetime, date | None]:
    """(start, end, local date of an all-day event's start, else None) of an event with a start."""
    if resource.get("isAllDay") is True:
        zone = load_zone(event_zone(resource, fallback))
        first = _wall(_date_time_of(resource["start"])).date()
        end_value = resource.get("end")
        last = _wall(_date_time_of(end_value)).date() if isinstance(end_value, dict) else first
        if last <= first:
            last = first + timedelta(days=1)
        return _local_midnight(first, zone), _local_midnight(last, zone), first
    reading = event_zone(resource, fallback)
    start = graph_instant(resource["start"], reading)
    return start, graph_instant(resource.get("end", resource["start"]), reading), None


def _date_time_of(value: Any) -> Any:
    if not isinstance(value, dict):
        raise UnreadableGraphEvent("an event time is missing")
    return value.get("dateTime")


def _key(resource: dict[str, Any], start: datetime, all_day_date: date | None, zone: str) -> str:
    original = _original_start(resource)
    if all_day_date is None:
        return (original or start).isoformat()
    if original is None:
        return all_day_date.isoformat()
    # An all-day occurrence's original start is its local midnight in UTC; read it back as that local date. Should
    # Graph ever give the bare date at UTC midnight instead, that date is the one meant.
    local = original.astimezone(load_zone(event_zone(resource, zone)))
    return (local.date() if local.time() == time() else original.date()).isoformat()


def _takes_no_time(resource: dict[str, Any]) -> bool:
    return "@removed" in resource or resource.get("type") == "seriesMaster" or "start" not in resource


def graph_busy_spans(payload: str | dict[str, Any], window: Span, policy: BusyPolicy) -> list[BusySpan]:
    """The busy span of one Graph event (or occurrence) when it blocks time overlapping `window`: [] or one span.
    Raises UnreadableGraphEvent (an UnreadableCalendarData) for a payload that is not an event resource."""
    resource = parse_event(payload)
    if marker_of(resource) is not None or _takes_no_time(resource) or not _blocks(resource, policy):
        return []
    if resource.get("isAllDay") is True and not policy.all_day_blocks:
        return []
    start, end, all_day_date = _times(resource, policy.zone)
    if end <= start or not (start < window.end and window.start < end):
        return []
    key = _key(resource, start, all_day_date, policy.zone)
    title = printable(str(resource.get("subject") or ""))
    return [BusySpan(Span(start, end), key, title, all_day_date is not None,
                     _tentative(resource, policy.own_addresses))]


def read_own_graph_event(payload: str | dict[str, Any], window: Span, zone: str) -> OwnEvent | None:
    """The own event in one Graph event resource (one occurrence or exception of a series, or a single booking's
    event), or None when it carries no marker property that parses as a marker.

    Like domain.own_events.read_own_event for one occurrence: the occurrence is keyed by its planned start (its
    originalStart, the planned-start property of a single standing for an occurrence, or else its start) and valued
    with where it takes place now. An occurrence, exception or single standing for an occurrence is reported only
    when its planned start lies in the half-open `window`; a single event whatever the window. A cancelled one, one
    that takes no time, and a series master (its occurrences come separately) have none."""
    resource = parse_event(payload)
    marker = marker_of(resource)
    if marker is None:
        return None
    kind, target_id = marker
    occurrences: dict[datetime, Span] = {}
    if resource.get("isCancelled") is True or _takes_no_time(resource):
        return OwnEvent(kind, target_id, occurrences)
    start, end, _ = _times(resource, zone)
    original = _original_start(resource) or planned_start_of(resource)
    planned = original or start
    instance = original is not None or resource.get("type") in _INSTANCE_TYPES or "seriesMasterId" in resource
    if (not instance or window.start <= planned < window.end) and start < end:
        occurrences[planned] = Span(start, end)
    return OwnEvent(kind, target_id, occurrences)
