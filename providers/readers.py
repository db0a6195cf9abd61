"""Reading fetched events, per provider: Lockstep's own events, or the busy spans of everyone else's. The registry
(providers/registry.py) names each provider's reader and reading zone; jobs/pull.py asks it.

Terms:
- *reading*: what one fetched event is: one of Lockstep's own (its `OwnEvent`, never a busy block) or busy spans.
- *own id*: the id Lockstep's mapping knows the event by. CalDAV lists a series as one object, so it is the
  object's id. Google lists each instance of a series apart (singleEvents), so an instance's own id is its series'
  (`recurringEventId`): the pull gathers the instances of one series into one own event. Graph likewise
  (`seriesMasterId`, or the group id of the singles standing for a series Graph cannot repeat).
- *reading zone*: the zone all-day dates and floating times are read in.
- *recurring*: the event repeats (a CalDAV object with a rule, extra dates or overridden occurrences; an instance of
  a Google or Graph series). Such an event is never taken over as a booking's nor deleted as a duplicate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from domain.busy import BusyPolicy, BusySpan, caldav_busy_spans, parse_calendar
from domain.google_events import google_busy_spans, parse_event, read_own_google_event
from domain.graph_events import graph_busy_spans, parse_event as parse_graph_event, read_own_graph_event
from domain.intervals import Span
from domain.own_events import OwnEvent, read_own_event
from domain.zones import is_valid_zone
from providers.base import RemoteEvent
from providers.microsoft_singles import group_of


@dataclass(frozen=True)
class Reading:
    own: OwnEvent | None = None
    own_id: str = ""
    spans: list[BusySpan] = field(default_factory=list)
    instance: bool = False  # one instance of a series listed apart (its etag is the instance's, not the event's)
    recurring: bool = False


EventReader = Callable[[RemoteEvent, Span, BusyPolicy, bool], Reading]
# (the calendar's zone as the provider gave it, the staff member's zone) -> the reading zone
ZoneRule = Callable[[str, str], str]


_CALDAV_RECURRENCE = ("RRULE", "RDATE", "RECURRENCE-ID")
_GRAPH_INSTANCES = ("occurrence", "exception", "seriesMaster")


def read_caldav(remote: RemoteEvent, window: Span, policy: BusyPolicy, import_busy: bool) -> Reading:
    calendar = parse_calendar(remote.payload)  # parsed once for both questions (parsing is the costly part)
    own = read_own_event(calendar, window, policy.zone)
    if own is not None:
        return Reading(own=own, own_id=remote.event_id)
    recurring = any(name in event for event in calendar.walk("VEVENT") for name in _CALDAV_RECURRENCE)
    return Reading(spans=caldav_busy_spans(calendar, window, policy) if import_busy else [], recurring=recurring)


def read_google(remote: RemoteEvent, window: Span, policy: BusyPolicy, import_busy: bool) -> Reading:
    resource = parse_event(remote.payload)  # parsed once for every question below
    own = read_own_google_event(resource, window, policy.zone)
    if own is not None:
        series = str(resource.get("recurringEventId") or "")
        return Reading(own=own, own_id=series or remote.event_id, instance=bool(series))
    recurring = bool(resource.get("recurringEventId") or resource.get("recurrence"))
    return Reading(spans=google_busy_spans(resource, window, policy) if import_busy else [], recurring=recurring)


def read_microsoft(remote: RemoteEvent, window: Span, policy: BusyPolicy, import_busy: bool) -> Reading:
    """Graph lists each occurrence of a series apart (calendarView delta), hydrated from its master by the client:
    an occurrence's own id is its series' (`seriesMasterId`), as for Google. A single standing for an occurrence of a
    series Graph cannot repeat is one occurrence of its group (providers/microsoft_singles.py): its own id is the
    group's."""
    resource = parse_graph_event(remote.payload)
    own = read_own_graph_event(resource, window, policy.zone)
    if own is not None:
        series = str(resource.get("seriesMasterId") or group_of(resource) or "")
        return Reading(own=own, own_id=series or remote.event_id, instance=bool(series))
    recurring = bool(resource.get("seriesMasterId") or resource.get("type") in _GRAPH_INSTANCES
                     or group_of(resource))
    return Reading(spans=graph_busy_spans(resource, window, policy) if import_busy else [], recurring=recurring)


def calendar_zone_first(calendar_zone: str, staff_zone: str) -> str:
    """Google gives each calendar a zone, in which its all-day events are days: that zone when it is valid."""
    return calendar_zone if is_valid_zone(calendar_zone) else staff_zone


def staff_zone_always(calendar_zone: str, staff_zone: str) -> str:
    """A CalDAV calendar's zone is often unknown, so all-day and floating times are read in the staff member's."""
    return staff_zone


def nothing_readable(remote: RemoteEvent, window: Span, policy: BusyPolicy, import_busy: bool) -> Reading:
    """The reader of a provider not available on this server: it is never asked (no client is built for one)."""
    raise LookupError("this provider's events cannot be read on this server")
