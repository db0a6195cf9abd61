"""How the fake Microsoft Graph writes its stored events on the wire: full event resources (singleInstance,
seriesMaster, occurrence, exception), the bare occurrences and `@removed` stubs of delta pages, and the expansion of
a calendar into the items of a window.

Terms:
- *view*: what the request's Prefer headers ask of the answer: the zone times are written in
  (`outlook.timezone`, UTC by default) and which ids (`IdType="ImmutableId"` or the REST ids).
- *window*: the [startDateTime, endDateTime) of a calendarView; an item is in it when it overlaps it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.microsoft_store import Mailbox, Removal, StoredEvent, occurrence_id
from tests.fakes.microsoft_times import original_starts, render, shifted, utc_timestamp, wall_clock

EVENT_TYPE = "#microsoft.graph.event"


@dataclass(frozen=True)
class View:
    zone: str = "UTC"
    immutable: bool = False


def _id(event: StoredEvent, view: View) -> str:
    return event.immutable_id if view.immutable else event.rest_id


def _defaults(mailbox: Mailbox, event: StoredEvent) -> dict[str, Any]:
    owner = {"emailAddress": {"name": mailbox.display_name, "address": mailbox.account}}
    return {
        "createdDateTime": utc_timestamp(event.created), "lastModifiedDateTime": utc_timestamp(event.modified_at),
        "categories": [], "reminderMinutesBeforeStart": 15, "isReminderOn": True, "hasAttachments": False,
        "subject": "", "bodyPreview": "", "importance": "normal", "sensitivity": "normal", "isAllDay": False,
        "isCancelled": False, "isOrganizer": True, "responseRequested": True, "seriesMasterId": None,
        "showAs": "busy", "onlineMeetingUrl": None, "isOnlineMeeting": False, "onlineMeetingProvider": "unknown",
        "allowNewTimeProposals": True, "isDraft": False, "hideAttendees": False, "recurrence": None,
        "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
        "body": {"contentType": "html", "content": ""},
        "location": {"displayName": "", "locationType": "default", "uniqueIdType": "unknown"},
        "locations": [], "attendees": [], "organizer": owner, "onlineMeeting": None,
    }


def event_resource(mailbox: Mailbox, event: StoredEvent, view: View) -> dict[str, Any]:
    """A single event or series master as GET /me/events/{id} answers it."""
    start, end = event.span()
    resource: dict[str, Any] = {"@odata.etag": f'W/"{event.change_key}"', "id": _id(event, view),
                                **_defaults(mailbox, event)}
    resource.update(copy.deepcopy({key: value for key, value in event.properties.items()
                                   if key not in ("start", "end")}))
    resource.update(
        changeKey=event.change_key, iCalUId=event.ical_uid,
        type="seriesMaster" if event.is_series else "singleInstance",
        originalStartTimeZone=event.properties["start"].get("timeZone") or "UTC",
        originalEndTimeZone=event.properties["end"].get("timeZone") or "UTC",
        start=render(start, event.all_day, view.zone), end=render(end, event.all_day, view.zone),
        webLink=f"https://outlook.office365.com/owa/?itemid={_id(event, view)}&exvsurl=1&path=/calendar/item")
    if "transactionId" not in event.properties:
        resource.pop("transactionId", None)  # only returned when the client set one
    return resource


def occurrence_resource(mailbox: Mailbox, event: StoredEvent, original: datetime, view: View) -> dict[str, Any]:
    """One occurrence of a series, full (as calendarView and GET answer it), an exception when it was modified."""
    master = event_resource(mailbox, event, view)
    start = original.astimezone(event.span()[0].tzinfo)
    modified = event.modified.get(original)
    changes = modified.changes if modified else {}
    resource = {**master, **copy.deepcopy({key: value for key, value in changes.items()
                                           if key not in ("start", "end")})}
    first, last = occurrence_span(event, original)
    resource.update(
        id=occurrence_id(master["id"], original), seriesMasterId=master["id"], recurrence=None,
        type="exception" if modified else "occurrence", originalStart=utc_timestamp(original),
        iCalUId=f"{event.ical_uid}{start:%Y%m%d}", start=render(first, event.all_day, view.zone),
        end=render(last, event.all_day, view.zone))
    if modified:
        resource.update({"@odata.etag": f'W/"{modified.change_key}"', "changeKey": modified.change_key})
    return resource


def bare_occurrence(resource: dict[str, Any]) -> dict[str, Any]:
    """What a delta page carries of an unmodified occurrence: the rest is its master's."""
    return {"@odata.type": EVENT_TYPE, "@odata.etag": resource["@odata.etag"], "id": resource["id"],
            "seriesMasterId": resource["seriesMasterId"], "type": "occurrence", "start": resource["start"],
            "end": resource["end"]}


def removed(item_id: str) -> dict[str, Any]:
    return {"@odata.type": EVENT_TYPE, "id": item_id, "@removed": {"reason": "deleted"}}


def occurrence_span(event: StoredEvent, original: datetime) -> tuple[datetime, datetime]:
    """Where an occurrence is now: the rule's place, or where its exception moved it."""
    modified = event.modified.get(original)
    if modified and "start" in modified.changes:
        start = wall_clock(modified.changes["start"])[0]
        end = wall_clock(modified.changes.get("end", modified.changes["start"]))[0]
        return start, end
    local = original.astimezone(event.span()[0].tzinfo)
    return local, shifted(local, event.length())


def _overlaps(start: datetime, end: datetime, window: tuple[datetime, datetime]) -> bool:
    return start < window[1] and (end > window[0] or (start == end and start >= window[0]))


def occurrences_in(event: StoredEvent, window: tuple[datetime, datetime]) -> list[datetime]:
    """Original starts (UTC) of the live occurrences now overlapping the window, exceptions moved in included."""
    start = event.span()[0]
    length = event.length()
    reach = (window[0] - timedelta(days=366), window[1] + timedelta(days=366))  # exceptions may move far
    found = []
    for local in original_starts(event.properties["recurrence"], start, length, reach):
        original = local.astimezone(UTC)
        if original not in event.cancelled and _overlaps(*occurrence_span(event, original), window):
            found.append(original)
    return found


def in_window(event: StoredEvent, window: tuple[datetime, datetime]) -> bool:
    if event.is_series:
        return bool(occurrences_in(event, window))
    return _overlaps(*event.span(), window)


def calendar_view(mailbox: Mailbox, calendar_id: str, window: tuple[datetime, datetime],
                  view: View) -> list[dict[str, Any]]:
    """The singles, occurrences and exceptions of a calendar in a window, by start."""
    items: list[tuple[datetime, dict[str, Any]]] = []
    for event in mailbox.events.values():
        if event.calendar_id != calendar_id:
            continue
        if not event.is_series:
            if _overlaps(*event.span(), window):
                items.append((event.span()[0].astimezone(UTC), event_resource(mailbox, event, view)))
            continue
        for original in occurrences_in(event, window):
            items.append((occurrence_span(event, original)[0].astimezone(UTC),
                          occurrence_resource(mailbox, event, original, view)))
    return [item for _, item in sorted(items, key=lambda pair: pair[0])]


def delta_items(mailbox: Mailbox, event: StoredEvent, window: tuple[datetime, datetime],
                view: View) -> list[dict[str, Any]]:
    """What a delta round says of one stored event now: itself and its occurrences when in the window, else that it
    is removed (Graph reports changes outside the window as removals)."""
    if not in_window(event, window):
        return [removed(_id(event, view))]
    items = [event_resource(mailbox, event, view)]
    if event.is_series:
        for original in occurrences_in(event, window):
            occurrence = occurrence_resource(mailbox, event, original, view)
            items.append(occurrence if original in event.modified else bare_occurrence(occurrence))
    return items


def removal_items(removal: Removal, window: tuple[datetime, datetime], view: View) -> list[dict[str, Any]]:
    event = removal.event
    if removal.original is not None:
        return [removed(occurrence_id(_id(event, view), removal.original))]
    ids = [_id(event, view)]
    if event.is_series:
        ids += [occurrence_id(_id(event, view), original) for original in occurrences_in(event, window)]
    return [removed(item_id) for item_id in ids]
