"""Busy semantics of Google events, and reading Lockstep's own events back from Google.

A payload is one Google event resource as JSON text: a single event, or one instance of a recurring event (the
Google provider lists with singleEvents=true, so there is never a rule to expand here).

Rules (DESIGN.md), with the same BusyPolicy and BusySpan as domain.busy:
- free: `transparency` transparent, `status` cancelled, the staff member's own `responseStatus` declined (their
  attendee entry is the one with `self` true, or whose email is one of the policy's own addresses), `eventType`
  workingLocation or birthday; and Lockstep's own events (private extended property `lockstepMarker` holding a
  marker), which are bookings already;
- busy: everything else that is opaque (the default) and confirmed, whatever the eventType (default, outOfOffice,
  focusTime, fromGmail);
- tentative (`status` tentative, or the own responseStatus tentative or needsAction) blocks only when the policy's
  `tentative_blocks` says so;
- all-day events (`date` rather than `dateTime`) block only when the policy's `all_day_blocks` says so, and then
  from local midnight to local midnight of their dates in the policy's zone (the calendar's zone: Google's dates
  have none of their own), never 24 h from UTC midnight.
Occurrence key: the instance's original start (`originalStartTime`), else its start: the UTC instant in ISO 8601
for a dateTime, the date itself for a date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.busy import BusyPolicy, BusySpan, UnreadableCalendarData
from domain.intervals import Span
from domain.json_events import json_resource
from domain.own_events import OwnEvent
from domain.sync import MarkerKind, parse_marker
from domain.text import printable
from domain.zones import load_zone, to_utc

MARKER_PROPERTY = "lockstepMarker"
_FREE_TYPES = {"workingLocation", "birthday"}
_TENTATIVE_RESPONSES = {"tentative", "needsAction"}


class UnreadableGoogleEvent(UnreadableCalendarData):
    """The payload is not a Google event resource we can read."""


def parse_event(payload: str | dict[str, Any]) -> dict[str, Any]:
    """The event resource of `payload`: JSON text, or a resource parsed already (returned as it is), so a caller
    asking several questions of one event parses it once."""
    return json_resource(payload, UnreadableGoogleEvent, "Google event resource")


def marker_of(resource: dict[str, Any]) -> tuple[MarkerKind, int] | None:
    """("booking", N) or ("series", N) when the event carries Lockstep's marker property, else None."""
    properties = resource.get("extendedProperties")
    private = properties.get("private") if isinstance(properties, dict) else None
    value = private.get(MARKER_PROPERTY) if isinstance(private, dict) else None
    return parse_marker(value) if isinstance(value, str) else None


def instant_of(value: Any, zone: ZoneInfo) -> tuple[datetime, bool]:
    """(UTC instant, all-day) of an EventDateTime: a dateTime as the instant it names (read in its own timeZone, or
    `zone`, when it carries no offset), a date as its local midnight in `zone`."""
    if not isinstance(value, dict):
        raise UnreadableGoogleEvent("an event time is missing")
    try:
        if isinstance(value.get("dateTime"), str):
            moment = datetime.fromisoformat(value["dateTime"])
            if moment.tzinfo is None:
                own = value.get("timeZone")
                return to_utc(moment, load_zone(own) if isinstance(own, str) else zone), False
            return moment.astimezone(UTC), False
        if isinstance(value.get("date"), str):
            day = date.fromisoformat(value["date"])
            return to_utc(datetime(day.year, day.month, day.day), zone), True
    except ValueError as exc:
        raise UnreadableGoogleEvent("an event time is not readable") from exc
    raise UnreadableGoogleEvent("an event time has neither date nor dateTime")


def _key(value: Any, zone: ZoneInfo) -> str:
    if isinstance(value, dict) and isinstance(value.get("date"), str) and "dateTime" not in value:
        return str(value["date"])
    return instant_of(value, zone)[0].isoformat()


def own_response(resource: dict[str, Any], own_addresses: frozenset[str]) -> str | None:
    """The staff member's responseStatus as an attendee (None when they are not listed)."""
    for attendee in resource.get("attendees") or []:
        if not isinstance(attendee, dict):
            continue
        email = str(attendee.get("email", "")).lower()
        if attendee.get("self") is True or email in own_addresses:
            return str(attendee.get("responseStatus", "needsAction"))
    return None


def _blocks(resource: dict[str, Any], policy: BusyPolicy) -> bool:
    status = resource.get("status", "confirmed")
    if status == "cancelled" or resource.get("transparency") == "transparent":
        return False
    if resource.get("eventType") in _FREE_TYPES:
        return False
    if own_response(resource, policy.own_addresses) == "declined":
        return False
    return policy.tentative_blocks or not _tentative(resource, policy.own_addresses)


def _tentative(resource: dict[str, Any], own: frozenset[str]) -> bool:
    return resource.get("status") == "tentative" or own_response(resource, own) in _TENTATIVE_RESPONSES


def google_busy_spans(payload: str | dict[str, Any], window: Span, policy: BusyPolicy) -> list[BusySpan]:
    """The busy span of one Google event (or instance) when it blocks time overlapping `window`: [] or one span.
    Raises UnreadableGoogleEvent (an UnreadableCalendarData) for a payload that is not an event resource."""
    resource = parse_event(payload)
    if marker_of(resource) is not None or not _blocks(resource, policy):
        return []
    if "start" not in resource:
        return []  # a cancelled item carries no times; anything else without them takes no time
    zone = load_zone(policy.zone)
    start, all_day = instant_of(resource["start"], zone)
    end, _ = instant_of(resource.get("end", resource["start"]), zone)
    if all_day and not policy.all_day_blocks:
        return []
    if all_day and end <= start:
        end = instant_of({"date": (start.astimezone(zone).date() + timedelta(days=1)).isoformat()}, zone)[0]
    if end <= start or not (start < window.end and window.start < end):
        return []
    key = _key(resource.get("originalStartTime") or resource["start"], zone)
    return [BusySpan(Span(start, end), key, printable(str(resource.get("summary", ""))), all_day,
                     _tentative(resource, policy.own_addresses))]


def read_own_google_event(payload: str | dict[str, Any], window: Span, zone: str) -> OwnEvent | None:
    """The own event in one Google event resource (one instance of a series, or a single booking's event), or None
    when it carries no marker property that parses as a marker.

    Like domain.own_events.read_own_event for one instance: the occurrence is keyed by its planned start (the
    instance's originalStartTime, or for a single event its start) and valued with where it takes place now. An
    instance is reported only when its planned start lies in the half-open `window`; a single event whatever the
    window. A cancelled one, or one that takes no time, has no occurrence."""
    resource = parse_event(payload)
    marker = marker_of(resource)
    if marker is None:
        return None
    kind, target_id = marker
    local = load_zone(zone)
    occurrences: dict[datetime, Span] = {}
    original = resource.get("originalStartTime")
    if resource.get("status") == "cancelled" or "start" not in resource:
        return OwnEvent(kind, target_id, occurrences)
    planned = instant_of(original or resource["start"], local)[0]
    if original is None or window.start <= planned < window.end:
        start, end = instant_of(resource["start"], local)[0], instant_of(resource.get("end"), local)[0]
        if start < end:
            occurrences[planned] = Span(start, end)
    return OwnEvent(kind, target_id, occurrences)
