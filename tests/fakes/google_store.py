"""What the fake Google Calendar holds: calendars, event resources, their change history and sync tokens.

Terms:
- *entry*: one stored event resource: a single event, a recurring *master*, or an *exception* (one instance of a
  master that was modified or cancelled: it has `recurringEventId` and `originalStartTime`).
- *cancelled*: deleted. Entries stay as tombstones (status `cancelled`) so incremental syncs can report them and a
  deleted id cannot be inserted again.
- *sequence*: a counter bumped by every change; each entry remembers the sequence of its last change, and a sync
  token names the sequence it was issued at (plus the window and singleEvents of the full sync it continues).
Every method raises ApiError with Google's status and reason when the real API would refuse.
"""

from __future__ import annotations

import copy
import itertools
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.google_recurrence import (
    BadTime,
    instance_of,
    instant,
    original_starts,
    rfc3339,
    span_of,
)

EVENT_ID = re.compile(r"[a-v0-9]{5,1024}")
_EXPANSION_PAST, _EXPANSION_FUTURE = timedelta(days=366), timedelta(days=3 * 366)


class ApiError(Exception):
    def __init__(self, status: int, reason: str, message: str, domain: str = "global",
                 location_type: str | None = None, location: str | None = None) -> None:
        super().__init__(message)
        self.status, self.reason, self.message, self.domain = status, reason, message, domain
        self.location_type, self.location = location_type, location

    def body(self) -> dict[str, Any]:
        detail: dict[str, Any] = {"domain": self.domain, "reason": self.reason, "message": self.message}
        if self.location_type:
            detail.update(locationType=self.location_type, location=self.location)
        return {"error": {"errors": [detail], "code": self.status, "message": self.message}}


def not_found() -> ApiError:
    return ApiError(404, "notFound", "Not Found")


@dataclass
class Entry:
    resource: dict[str, Any]
    changed: int
    by_rule: bool = False  # a tombstone for an instance the master's rule no longer has (comes back if it does)


@dataclass
class SyncState:
    sequence: int
    time_min: datetime | None
    time_max: datetime | None
    single_events: bool


@dataclass
class FakeCalendar:
    calendar_id: str
    summary: str
    time_zone: str
    access_role: str = "owner"
    background_color: str = "#9fe1e7"
    primary: bool = False
    entries: dict[str, Entry] = field(default_factory=dict)
    resource_id: str = field(default_factory=lambda: secrets.token_urlsafe(18))

    def list_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "kind": "calendar#calendarListEntry", "etag": '"1700000000000000"', "id": self.calendar_id,
            "summary": self.summary, "timeZone": self.time_zone, "colorId": "14",
            "backgroundColor": self.background_color, "foregroundColor": "#000000", "selected": True,
            "accessRole": self.access_role, "defaultReminders": [],
        }
        if self.primary:
            entry["primary"] = True
        return entry


class Store:
    """Every calendar of the fake's one user, and the sync tokens handed out."""

    def __init__(self, user_email: str) -> None:
        self.user_email = user_email
        self.calendars: dict[str, FakeCalendar] = {}
        self.sync_tokens: dict[str, SyncState] = {}
        self._sequence = itertools.count(1)
        self.sequence = 0

    def _next(self) -> int:
        self.sequence = next(self._sequence)
        return self.sequence

    def calendar(self, calendar_id: str) -> FakeCalendar:
        if calendar_id == "primary":
            calendar_id = self.user_email
        if calendar_id not in self.calendars:
            raise not_found()
        return self.calendars[calendar_id]

    # -- reading ------------------------------------------------------------------------------------------------

    def instances(self, calendar: FakeCalendar, master: dict[str, Any], show_deleted: bool = False,
                  ) -> list[dict[str, Any]]:
        """The master's instances in their current state (exceptions applied), at most MAX_INSTANCES."""
        found = []
        for original, all_day, zone in original_starts(master, calendar.time_zone):
            resource = instance_of(master, original, all_day, zone, calendar.time_zone)
            stored = calendar.entries.get(resource["id"])
            if stored is not None:
                resource = stored.resource
            if show_deleted or resource.get("status") != "cancelled":
                found.append(copy.deepcopy(resource))
        return found

    def expanded(self, calendar: FakeCalendar, show_deleted: bool) -> list[dict[str, Any]]:
        """Every single event and every instance (singleEvents=true), exceptions included."""
        items = []
        for entry in calendar.entries.values():
            resource = entry.resource
            if resource.get("recurringEventId"):
                continue  # exceptions come with their master's instances
            if resource.get("recurrence") and resource.get("status") != "cancelled":
                items.extend(self.instances(calendar, resource, show_deleted))
            elif show_deleted or resource.get("status") != "cancelled":
                items.append(copy.deepcopy(resource))
        return items

    def listing(self, calendar: FakeCalendar, time_min: datetime | None, time_max: datetime | None,
                single_events: bool, show_deleted: bool) -> list[dict[str, Any]]:
        """A full listing: events whose end is after timeMin and whose start is before timeMax."""
        if single_events:
            items = self.expanded(calendar, show_deleted)
        else:
            items = [copy.deepcopy(entry.resource) for entry in calendar.entries.values()
                     if show_deleted or entry.resource.get("status") != "cancelled"]

        def in_window(resource: dict[str, Any]) -> bool:
            if resource.get("status") == "cancelled" and "start" not in resource:
                return True
            start, end = span_of(resource, calendar.time_zone)
            if resource.get("recurrence"):
                return time_max is None or start < time_max  # a series may run on past its first instance
            return (time_min is None or end > time_min) and (time_max is None or start < time_max)

        items = [item for item in items if in_window(item)]
        items.sort(key=lambda item: (self._sort_key(item, calendar), item["id"]))
        return items

    @staticmethod
    def _sort_key(resource: dict[str, Any], calendar: FakeCalendar) -> datetime:
        source = resource.get("start") or resource.get("originalStartTime")
        return instant(source, calendar.time_zone) if source else datetime.min.replace(tzinfo=UTC)

    def changes(self, calendar: FakeCalendar, state: SyncState) -> list[dict[str, Any]]:
        """What changed since the sync token's sequence, cancelled items in their minimal form."""
        items: dict[str, dict[str, Any]] = {}
        for entry in calendar.entries.values():
            if entry.changed <= state.sequence:
                continue
            resource = entry.resource
            if resource.get("recurrence") and state.single_events:
                # One change to a series is a change to each of its instances (the deleted ones included).
                low = state.time_min or datetime.now(UTC) - _EXPANSION_PAST
                high = state.time_max or datetime.now(UTC) + _EXPANSION_FUTURE
                deleted = resource.get("status") == "cancelled"
                for instance in self.instances(calendar, resource, show_deleted=True):
                    start, end = span_of(instance, calendar.time_zone)
                    if end > low and start < high:
                        items[instance["id"]] = minimal(instance) if deleted else instance
                continue
            items[resource["id"]] = (minimal(resource) if resource.get("status") == "cancelled"
                                     else copy.deepcopy(resource))
        return sorted(items.values(), key=lambda item: item["id"])

    def new_sync_token(self, time_min: datetime | None, time_max: datetime | None, single_events: bool) -> str:
        token = "CP" + secrets.token_urlsafe(24)
        self.sync_tokens[token] = SyncState(self.sequence, time_min, time_max, single_events)
        return token

    # -- writing ------------------------------------------------------------------------------------------------

    def _stamp(self, calendar: FakeCalendar, resource: dict[str, Any], **flags: bool) -> dict[str, Any]:
        number = self._next()
        resource["etag"] = f'"{3181161784712000 + number}"'
        resource["updated"] = rfc3339(datetime.now(UTC).replace(microsecond=0))
        calendar.entries[resource["id"]] = Entry(resource, number, **flags)
        return copy.deepcopy(resource)

    def _check(self, calendar: FakeCalendar, resource: dict[str, Any]) -> None:
        if "start" not in resource or "end" not in resource:
            raise ApiError(400, "required", "Missing end time." if "start" in resource else "Missing start time.")
        if resource.get("recurrence") and not resource["start"].get("timeZone"):
            raise ApiError(400, "required", "Missing time zone definition for start time.")
        try:
            start, end = span_of(resource, calendar.time_zone)
            if resource.get("recurrence"):
                original_starts(resource, calendar.time_zone)
        except BadTime as exc:
            raise ApiError(400, "invalid", f"Invalid value: {exc}") from exc
        if end <= start:
            raise ApiError(400, "timeRangeEmpty", "The specified time range is empty.", "calendar")

    def insert(self, calendar: FakeCalendar, body: dict[str, Any]) -> dict[str, Any]:
        event_id = body.get("id") or secrets.token_hex(13)
        if not EVENT_ID.fullmatch(event_id):
            raise ApiError(400, "invalid", "Invalid resource id value.")
        if event_id in calendar.entries:
            raise ApiError(409, "duplicate", "The requested identifier already exists.")
        now = rfc3339(datetime.now(UTC).replace(microsecond=0))
        resource: dict[str, Any] = {
            "kind": "calendar#event", "status": "confirmed", "htmlLink": f"https://calendar.example/e/{event_id}",
            "created": now, "creator": {"email": self.user_email, "self": True},
            "organizer": {"email": calendar.calendar_id, "self": True}, "iCalUID": f"{event_id}@google.com",
            "sequence": 0, "reminders": {"useDefault": True}, "eventType": "default",
            **copy.deepcopy(body), "id": event_id,
        }
        self._check(calendar, resource)
        return self._stamp(calendar, resource)

    def get(self, calendar: FakeCalendar, event_id: str) -> dict[str, Any]:
        """The event (cancelled ones too), an instance of a series included."""
        entry = calendar.entries.get(event_id)
        if entry is not None:
            return copy.deepcopy(entry.resource)
        master_id, _, _ = event_id.rpartition("_")
        master = calendar.entries.get(master_id)
        if master is not None and master.resource.get("recurrence"):
            for instance in self.instances(calendar, master.resource, show_deleted=True):
                if instance["id"] == event_id:
                    return instance
        raise not_found()

    def _current(self, calendar: FakeCalendar, event_id: str, if_match: str | None) -> dict[str, Any]:
        resource = self.get(calendar, event_id)
        if if_match is not None and if_match != "*" and if_match != resource["etag"]:
            raise ApiError(412, "conditionNotMet", "Precondition Failed", "global", "header", "If-Match")
        return resource

    def patch(self, calendar: FakeCalendar, event_id: str, body: dict[str, Any],
              if_match: str | None) -> dict[str, Any]:
        resource = self._current(calendar, event_id, if_match)
        if "eventType" in body and body["eventType"] != resource.get("eventType", "default"):
            raise ApiError(400, "eventTypeRestriction", "The event type cannot be changed.", "calendar")
        if "id" in body and body["id"] != event_id:
            raise ApiError(400, "invalid", "The id of an event cannot be changed.")
        before = copy.deepcopy(resource)
        merged = merge(resource, body)
        merged["sequence"] = int(merged.get("sequence", 0)) + 1
        self._check(calendar, merged)
        written = self._stamp(calendar, merged)
        if before.get("recurrence") or merged.get("recurrence"):
            self._reconcile(calendar, before, merged)
        return written

    def _reconcile(self, calendar: FakeCalendar, before: dict[str, Any], after: dict[str, Any]) -> None:
        """After a master changed: instances its rule dropped become cancelled, instances it has again come back,
        and exceptions for instances it no longer has are cancelled too."""
        old = {item["id"]: item for item in self.instances(calendar, before, show_deleted=True)}
        new = ({item["id"] for item in self.instances(calendar, after, show_deleted=True)}
               if after.get("recurrence") else set())
        for instance_id, instance in old.items():
            entry = calendar.entries.get(instance_id)
            if instance_id in new:
                if entry is not None and entry.by_rule:
                    del calendar.entries[instance_id]
                continue
            if entry is None or entry.resource.get("status") != "cancelled":
                tombstone = {**instance, "status": "cancelled"}
                self._stamp(calendar, tombstone, by_rule=True)

    def delete(self, calendar: FakeCalendar, event_id: str, if_match: str | None) -> None:
        resource = self.get(calendar, event_id)
        if resource.get("status") == "cancelled":
            raise ApiError(410, "deleted", "Resource has been deleted")
        self._current(calendar, event_id, if_match)
        resource["status"] = "cancelled"
        self._stamp(calendar, resource)


def merge(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Patch semantics: nested objects merge, arrays and other values replace, null removes."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


def minimal(resource: dict[str, Any]) -> dict[str, Any]:
    """A cancelled item as incremental sync lists it: only the id is guaranteed (plus the series and original start
    for a cancelled instance)."""
    item = {"kind": "calendar#event", "etag": resource.get("etag", '"0"'), "id": resource["id"],
            "status": "cancelled"}
    for key in ("recurringEventId", "originalStartTime"):
        if key in resource:
            item[key] = resource[key]
    return item
