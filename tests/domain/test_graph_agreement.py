"""The same event means the same busy time on Microsoft Graph, Google and CalDAV: one logical event, written as a
Graph resource, a Google resource and an iCalendar VEVENT, read by the three readers with one policy."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from hypothesis import given, settings, strategies as st

from domain.busy import BusyPolicy, caldav_busy_spans
from domain.google_events import google_busy_spans
from domain.graph_events import graph_busy_spans
from domain.intervals import Span
from domain.zones import load_zone, local_wall, to_utc

ME = "tech@example.com"
WINDOWS_NAMES = {"Europe/Berlin": "W. Europe Standard Time", "America/New_York": "Eastern Standard Time",
                 "Asia/Tokyo": "Tokyo Standard Time", "America/Los_Angeles": "Pacific Standard Time",
                 "Pacific/Auckland": "New Zealand Standard Time", "UTC": "UTC"}
TITLES = ["Dentist", "Zahnarzt 🦷", "Réunion d'équipe", "歯医者", ""]
_PARTSTAT = {"accepted": "ACCEPTED", "declined": "DECLINED", "tentative": "TENTATIVE"}
_GRAPH_RESPONSE = {"accepted": "accepted", "declined": "declined", "tentative": "tentativelyAccepted"}


@dataclass(frozen=True)
class LogicalEvent:
    zone: str
    start: datetime | date  # an instant, or the first local date of an all-day event
    end: datetime | date
    title: str
    availability: str  # busy, free or tentative
    cancelled: bool
    response: str | None  # the staff member's: accepted, declined, tentative, or not listed

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)


def as_graph(event: LogicalEvent, time_zone: str, show_busy_as: str | None, response_as_attendee: bool) -> str:
    def graph_time(moment: datetime | date) -> dict[str, str]:
        if not isinstance(moment, datetime):
            return {"dateTime": f"{moment.isoformat()}T00:00:00.0000000", "timeZone": time_zone}
        zone = load_zone(event.zone if time_zone != "UTC" else "UTC")
        wall = local_wall(moment, zone)
        if to_utc(wall, zone) != moment:  # the second showing of a repeated hour has no wall time of its own
            return {"dateTime": f"{moment:%Y-%m-%dT%H:%M:%S}.0000000", "timeZone": "UTC"}
        return {"dateTime": f"{wall:%Y-%m-%dT%H:%M:%S}.0000000", "timeZone": time_zone}

    show_as = {"free": "free", "tentative": "tentative", "busy": show_busy_as}[event.availability]
    resource: dict[str, Any] = {
        "id": "AAMkADentist=", "type": "singleInstance", "subject": event.title, "isAllDay": event.all_day,
        "isCancelled": event.cancelled, "start": graph_time(event.start), "end": graph_time(event.end),
        "originalStartTimeZone": WINDOWS_NAMES[event.zone] if time_zone != event.zone else event.zone}
    if show_as is not None:
        resource["showAs"] = show_as
    if event.response is not None and response_as_attendee:
        resource["attendees"] = [
            {"type": "required", "emailAddress": {"address": "boss@example.com"}, "status": {"response": "organizer"}},
            {"type": "required", "emailAddress": {"address": ME.upper()},
             "status": {"response": _GRAPH_RESPONSE[event.response]}}]
    elif event.response is not None:
        resource["responseStatus"] = {"response": _GRAPH_RESPONSE[event.response], "time": "2029-12-01T10:00:00Z"}
    return json.dumps(resource)


def as_google(event: LogicalEvent) -> str:
    def google_time(moment: datetime | date) -> dict[str, str]:
        return {"dateTime": moment.isoformat()} if isinstance(moment, datetime) else {"date": moment.isoformat()}

    status = "cancelled" if event.cancelled else "tentative" if event.availability == "tentative" else "confirmed"
    resource: dict[str, Any] = {
        "kind": "calendar#event", "id": "dentist0001", "status": status, "summary": event.title,
        "transparency": "transparent" if event.availability == "free" else "opaque",
        "start": google_time(event.start), "end": google_time(event.end)}
    if event.response is not None:
        resource["attendees"] = [{"email": ME, "self": True, "responseStatus": event.response}]
    return json.dumps(resource)


def as_ical(event: LogicalEvent) -> str:
    def value(name: str, moment: datetime | date) -> str:
        if isinstance(moment, datetime):
            return f"{name}:{moment:%Y%m%dT%H%M%SZ}"
        return f"{name};VALUE=DATE:{moment:%Y%m%d}"

    status = "CANCELLED" if event.cancelled else "TENTATIVE" if event.availability == "tentative" else "CONFIRMED"
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", "BEGIN:VEVENT", "UID:dentist@phone",
             "DTSTAMP:20291201T120000Z", value("DTSTART", event.start), value("DTEND", event.end),
             f"STATUS:{status}", f"TRANSP:{'TRANSPARENT' if event.availability == 'free' else 'OPAQUE'}"]
    if event.title:
        lines.append(f"SUMMARY:{event.title}")
    if event.response is not None:
        lines.append(f"ATTENDEE;PARTSTAT={_PARTSTAT[event.response]}:mailto:{ME}")
    return "\r\n".join([*lines, "END:VEVENT", "END:VCALENDAR", ""])


@st.composite
def logical_events(draw: st.DrawFn) -> LogicalEvent:
    zone = draw(st.sampled_from(sorted(WINDOWS_NAMES)))
    first = draw(st.datetimes(datetime(2030, 1, 1), datetime(2030, 12, 30))).replace(second=0, microsecond=0)
    hours = draw(st.integers(1, 72))
    start: datetime | date = to_utc(first, load_zone(zone))
    end: datetime | date = start + timedelta(hours=hours)
    if draw(st.booleans()):
        start, end = first.date(), first.date() + timedelta(days=1 + hours // 24)
    return LogicalEvent(zone, start, end, draw(st.sampled_from(TITLES)),
                        draw(st.sampled_from(["busy", "busy", "free", "tentative"])),
                        draw(st.sampled_from([False, False, True])),
                        draw(st.sampled_from([None, "accepted", "declined", "tentative"])))


@settings(max_examples=500, deadline=None)
@given(event=logical_events(), tentative_blocks=st.booleans(), all_day_blocks=st.booleans(),
       window_from=st.integers(-36, 12), window_hours=st.sampled_from([2, 48, 240]),
       time_zone=st.sampled_from(["UTC", "own", "windows"]),
       show_busy_as=st.sampled_from(["busy", "oof", "unknown", None]), response_as_attendee=st.booleans())
def test_graph_google_and_caldav_agree_on_the_same_event(event: LogicalEvent, tentative_blocks: bool,
                                                         all_day_blocks: bool, window_from: int,
                                                         window_hours: int, time_zone: str, show_busy_as: str | None,
                                                         response_as_attendee: bool) -> None:
    # given one event written three ways, one policy in the event's zone, and a window near the event
    policy = BusyPolicy(event.zone, frozenset({ME}), tentative_blocks, all_day_blocks)
    near = event.start if isinstance(event.start, datetime) else datetime.combine(event.start, time(), UTC)
    window = Span(near + timedelta(hours=window_from), near + timedelta(hours=window_from + window_hours))
    graph_zone = {"UTC": "UTC", "own": event.zone, "windows": WINDOWS_NAMES[event.zone]}[time_zone]
    graph = as_graph(event, graph_zone, show_busy_as, response_as_attendee)
    # then the three readers find the same busy time, with the same keys, titles and all-day flags
    expected = caldav_busy_spans(as_ical(event), window, policy)
    assert google_busy_spans(as_google(event), window, policy) == expected
    assert graph_busy_spans(graph, window, policy) == expected
