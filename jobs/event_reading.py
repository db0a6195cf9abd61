"""Reading fetched events, per provider: Lockstep's own events, or the busy spans of everyone else's.

Terms:
- *reading*: what one fetched event is: one of Lockstep's own (its `OwnEvent`, never a busy block) or busy spans.
- *own id*: the id Lockstep's mapping knows the event by. CalDAV lists a series as one object, so it is the
  object's id. Google lists each instance of a series apart (singleEvents), so an instance's own id is its series'
  (`recurringEventId`): the pull gathers the instances of one series into one own event.
- *partial* own event: gathered from an incremental listing, so it holds only the instances that changed; the
  occurrences it lacks were not listed, not deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from domain.busy import BusyPolicy, BusySpan, caldav_busy_spans, parse_calendar
from domain.google_events import google_busy_spans, parse_event, read_own_google_event
from domain.intervals import Span
from domain.own_events import OwnEvent, read_own_event
from domain.zones import is_valid_zone
from models import Provider
from providers.base import RemoteEvent
from services.sync_edits import OwnSeen


@dataclass(frozen=True)
class Reading:
    own: OwnEvent | None = None
    own_id: str = ""
    spans: list[BusySpan] = field(default_factory=list)
    instance: bool = False  # one instance of a series listed apart (its etag is the instance's, not the event's)


EventReader = Callable[[RemoteEvent, Span, BusyPolicy, bool], Reading]


def read_caldav(remote: RemoteEvent, window: Span, policy: BusyPolicy, import_busy: bool) -> Reading:
    calendar = parse_calendar(remote.payload)  # parsed once for both questions (parsing is the costly part)
    own = read_own_event(calendar, window, policy.zone)
    if own is not None:
        return Reading(own=own, own_id=remote.event_id)
    return Reading(spans=caldav_busy_spans(calendar, window, policy) if import_busy else [])


def read_google(remote: RemoteEvent, window: Span, policy: BusyPolicy, import_busy: bool) -> Reading:
    resource = parse_event(remote.payload)  # parsed once for every question below
    own = read_own_google_event(resource, window, policy.zone)
    if own is not None:
        series = str(resource.get("recurringEventId") or "")
        return Reading(own=own, own_id=series or remote.event_id, instance=bool(series))
    return Reading(spans=google_busy_spans(resource, window, policy) if import_busy else [])


def reading_zone(provider: str, calendar_zone: str, staff_zone: str) -> str:
    """The zone all-day dates and floating times are read in: Google gives each calendar a zone, in which its
    all-day events are days; a CalDAV calendar's zone is often unknown, so there it is the staff member's."""
    if provider == Provider.GOOGLE and is_valid_zone(calendar_zone):
        return calendar_zone
    return staff_zone


def reader_for(provider: str) -> EventReader:
    return read_google if provider == Provider.GOOGLE else read_caldav


def gather_own(seen: dict[str, OwnSeen], reading: Reading, remote: RemoteEvent, complete: bool) -> None:
    """Add one reading of Lockstep's own event to `seen`, gathering a series' instances under its own id."""
    assert reading.own is not None
    if not reading.instance:
        seen[reading.own_id] = OwnSeen(remote.etag, reading.own)
        return
    before = seen.get(reading.own_id)
    occurrences = {**(before.event.occurrences if before else {}), **reading.own.occurrences}
    seen[reading.own_id] = OwnSeen("", OwnEvent(reading.own.kind, reading.own.target_id, occurrences),
                                   partial=not complete)
