"""What the fake Microsoft Graph holds: one mailbox per account, its calendars, events and master categories, and
the change history delta queries read.

Terms:
- *stored event*: a single event or a series master as created; a master's occurrences are not stored but expanded
  from its recurrence (microsoft_times), except *modified* ones (exceptions: the changes made to one occurrence) and
  *cancelled* ones (gone from the series), both named by their original start in UTC.
- *ids*: every event has an immutable id (what `Prefer: IdType="ImmutableId"` answers, kept for life) and a REST id
  (the default, replaced when the event moves to another calendar). An occurrence's id encodes its master's id and
  its original start, so it is stable and differs between the two id types as Graph's do.
- *sequence*: the mailbox's change counter. Each stored event remembers the sequence of its last change, and each
  *removal* (a deleted event, a cancelled occurrence, an event moved away) is kept with the sequence it happened at,
  so a delta token that names a sequence can say what changed since.
- *change key*: the version of an item; `@odata.etag` is `W/"<changeKey>"` and changes with every change.
"""

from __future__ import annotations

import base64
import copy
import itertools
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.microsoft_errors import CONFLICT_MESSAGE, GraphError, not_found
from tests.fakes.microsoft_times import original_starts, wall_clock, wall_length

_ID_PREFIX = "AAMkAD"
_TIME_KEYS = ("start", "end")
_READ_ONLY = {"id", "@odata.etag", "@odata.type", "@odata.context", "changeKey", "createdDateTime",
              "lastModifiedDateTime", "iCalUId", "type", "seriesMasterId", "originalStart", "webLink", "bodyPreview",
              "singleValueExtendedProperties", "hasAttachments", "cancelledOccurrences"}


def new_id() -> str:
    return _ID_PREFIX + base64.urlsafe_b64encode(secrets.token_bytes(45)).decode().rstrip("=") + "AAA="


def new_change_key() -> str:
    return base64.b64encode(secrets.token_bytes(21)).decode()


def occurrence_id(master_id: str, original: datetime) -> str:
    packed = f"{master_id}|{original.astimezone(UTC):%Y%m%dT%H%M%SZ}".encode()
    return _ID_PREFIX + base64.urlsafe_b64encode(packed).decode().rstrip("=") + "="


def split_occurrence_id(value: str) -> tuple[str, datetime] | None:
    """(master id, original start) of an occurrence id; None for any other id."""
    body = value.removeprefix(_ID_PREFIX).removesuffix("=")
    if value == body or body.endswith("AAA"):
        return None
    try:
        master, _, stamp = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode().partition("|")
        return master, datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


@dataclass
class Calendar:
    calendar_id: str
    name: str
    can_edit: bool
    color: str
    is_default: bool
    owner: dict[str, str]
    change_key: str = field(default_factory=new_change_key)


@dataclass
class Modified:
    """The changes made to one occurrence of a series (an exception)."""

    changes: dict[str, Any]
    change_key: str = field(default_factory=new_change_key)


@dataclass
class StoredEvent:
    immutable_id: str
    rest_id: str
    calendar_id: str
    properties: dict[str, Any]  # as sent (start, end, subject, showAs, recurrence, ...) less read-only ones
    extended: list[dict[str, str]]  # singleValueExtendedProperties
    sequence: int
    ical_uid: str = field(default_factory=lambda: "040000008200E00074C5B7101A82E008" + secrets.token_hex(28).upper())
    change_key: str = field(default_factory=new_change_key)
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    modified_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    modified: dict[datetime, Modified] = field(default_factory=dict)  # by original start (UTC)
    cancelled: set[datetime] = field(default_factory=set)

    @property
    def is_series(self) -> bool:
        return bool(self.properties.get("recurrence"))

    @property
    def all_day(self) -> bool:
        return bool(self.properties.get("isAllDay"))

    def span(self) -> tuple[datetime, datetime]:
        """(start, end) aware in the zones they were written in."""
        return wall_clock(self.properties["start"])[0], wall_clock(self.properties["end"])[0]

    def length(self) -> timedelta:
        start, end = self.span()
        return wall_length(start, end)

    def ids(self) -> tuple[str, str]:
        return self.rest_id, self.immutable_id


@dataclass
class Removal:
    """Something a delta round must report as removed: a whole event, or one occurrence of it."""

    sequence: int
    calendar_id: str
    event: StoredEvent  # as it was when removed (its ids then)
    original: datetime | None = None


@dataclass
class Mailbox:
    account: str
    display_name: str
    user_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    calendars: dict[str, Calendar] = field(default_factory=dict)
    events: dict[str, StoredEvent] = field(default_factory=dict)  # by immutable id
    removals: list[Removal] = field(default_factory=list)
    transactions: dict[str, str] = field(default_factory=dict)  # transactionId -> immutable id
    categories: list[dict[str, Any]] = field(default_factory=list)
    _sequence: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    sequence: int = 0

    def bump(self) -> int:
        self.sequence = next(self._sequence)
        return self.sequence

    @property
    def default_calendar(self) -> Calendar:
        return next(calendar for calendar in self.calendars.values() if calendar.is_default)

    def calendar(self, calendar_id: str) -> Calendar:
        found = self.calendars.get(calendar_id)
        if found is None:
            raise not_found()
        return found

    def find(self, event_id: str) -> tuple[StoredEvent, datetime | None]:
        """The stored event an id names and, for an occurrence's id, the occurrence's original start."""
        occurrence = split_occurrence_id(event_id)
        master_id, original = occurrence if occurrence else (event_id, None)
        for event in self.events.values():
            if master_id in event.ids():
                if original is not None and (not event.is_series or original in event.cancelled
                                             or not _rule_has(event, original)):
                    break
                return event, original
        raise not_found()

    # -- changes ------------------------------------------------------------------------------------------------

    def create(self, calendar: Calendar, body: dict[str, Any]) -> StoredEvent:
        transaction = body.get("transactionId")
        if transaction and transaction in self.transactions:
            existing = self.events.get(self.transactions[transaction])
            if existing is not None:
                return existing  # a retried POST: the event the first one made
        properties = _writable(body)
        for key in _TIME_KEYS:
            if key not in properties:
                raise GraphError(400, "ErrorInvalidRequest", f"The event needs a {key}.")
        event = StoredEvent(new_id(), new_id(), calendar.calendar_id, properties, _extended(body, []), self.bump())
        _check_times(event)
        self.events[event.immutable_id] = event
        if transaction:
            self.transactions[transaction] = event.immutable_id
        return event

    def patch(self, event: StoredEvent, original: datetime | None, changes: dict[str, Any],
              if_match: str | None) -> None:
        current = event.modified[original].change_key if original in event.modified else event.change_key
        if if_match not in (None, "*", f'W/"{current}"'):
            raise GraphError(412, "ErrorIrresolvableConflict", CONFLICT_MESSAGE)
        writable = _writable(changes)
        if original is not None:
            kept = event.modified.get(original)
            event.modified[original] = Modified({**(kept.changes if kept else {}), **writable})
        else:
            before = copy.deepcopy(event.properties)
            event.properties.update(writable)
            try:
                _check_times(event)
            except GraphError:
                event.properties = before
                raise
            if any(key in writable for key in ("recurrence", "start", "end")):
                event.modified.clear()  # a new pattern or time of the series resets its exceptions, as Outlook does
                event.cancelled.clear()
            event.extended = _extended(changes, event.extended)
        self._touch(event)

    def delete(self, event: StoredEvent, original: datetime | None, if_match: str | None = None) -> None:
        if if_match not in (None, "*", f'W/"{event.change_key}"'):
            raise GraphError(412, "ErrorIrresolvableConflict", CONFLICT_MESSAGE)
        if original is not None:
            event.cancelled.add(original)
            event.modified.pop(original, None)
            self.removals.append(Removal(self.bump(), event.calendar_id, copy.deepcopy(event), original))
            self._touch(event)
            return
        del self.events[event.immutable_id]
        self.removals.append(Removal(self.bump(), event.calendar_id, event))

    def move(self, event: StoredEvent, calendar: Calendar) -> None:
        """The staff member drags the event to another calendar: it gets a new REST id (not a new immutable id)."""
        self.removals.append(Removal(self.bump(), event.calendar_id, copy.deepcopy(event)))
        event.calendar_id, event.rest_id = calendar.calendar_id, new_id()
        self._touch(event)

    def _touch(self, event: StoredEvent) -> None:
        event.sequence = self.bump()
        event.change_key = new_change_key()
        event.modified_at = datetime.now(UTC)

    def changed_since(self, calendar_id: str, sequence: int) -> tuple[list[StoredEvent], list[Removal]]:
        events = [event for event in self.events.values()
                  if event.calendar_id == calendar_id and event.sequence > sequence]
        removals = [removal for removal in self.removals
                    if removal.calendar_id == calendar_id and removal.sequence > sequence]
        return events, removals

    def add_category(self, display_name: str, color: str) -> dict[str, Any]:
        if any(category["displayName"].lower() == display_name.lower() for category in self.categories):
            raise GraphError(409, "ErrorDuplicateItem", "An object with this name already exists.")
        category = {"id": str(uuid.uuid4()), "displayName": display_name, "color": color}
        self.categories.append(category)
        return category


def _rule_has(event: StoredEvent, original: datetime) -> bool:
    """Whether the series' rule puts an occurrence at `original`."""
    tiny = timedelta(microseconds=1)
    starts = original_starts(event.properties["recurrence"], event.span()[0], event.length(),
                             (original - tiny, original + tiny))
    return original in [start.astimezone(UTC) for start in starts]


def _writable(body: dict[str, Any]) -> dict[str, Any]:
    return {key: copy.deepcopy(value) for key, value in body.items() if key not in _READ_ONLY}


def _extended(body: dict[str, Any], current: list[dict[str, str]]) -> list[dict[str, str]]:
    sent = body.get("singleValueExtendedProperties")
    if not sent:
        return current
    kept = {prop["id"]: prop for prop in current}
    for prop in sent:
        if not isinstance(prop, dict) or not isinstance(prop.get("id"), str):
            raise GraphError(400, "ErrorInvalidRequest", "An extended property needs an id.")
        kept[prop["id"]] = {"id": prop["id"], "value": str(prop.get("value", ""))}
    return list(kept.values())


def _check_times(event: StoredEvent) -> None:
    start, end = event.span()
    if end < start:
        raise GraphError(400, "ErrorInvalidRequest", "The end of the event is before its start.")
    if event.all_day and (start.time() != end.time() or start.hour or start.minute or start.second):
        raise GraphError(400, "ErrorInvalidRequest",
                         "The start and end times of an all-day event must be set to midnight.")
