"""An in-memory calendar account that behaves as the CalendarProvider protocol says: etags, cursors that expire,
idempotent creates by marker, and injectable faults (an error instead of the next call, or a lost reply: the next
write lands and then its answer is lost, as when a request times out after the server did the work). Events are
iCalendar text, as on a CalDAV server, and `write_by_hand` / `delete_by_hand` play the staff member editing their
calendar app. Used to test the sync engine without a network. A complete listing returns every event, whatever the
window (the domain clips to the window)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from domain.intervals import Span
from providers.base import (
    Changes,
    CursorExpired,
    NotFound,
    OutgoingEvent,
    PreconditionFailed,
    ProviderError,
    RemoteCalendar,
    RemoteEvent,
    Subscription,
    Written,
)
from providers.ical import outgoing_to_ical


@dataclass
class _Stored:
    etag: str
    payload: str
    written: OutgoingEvent | None = None  # what Lockstep last wrote, to tell a no-op rewrite apart


@dataclass
class MemoryCalendar:
    calendar: RemoteCalendar
    events: dict[str, _Stored] = field(default_factory=dict)
    # (sequence number, event id, deleted?) for every change, so cursors can ask "since when"
    log: list[tuple[int, str, bool]] = field(default_factory=list)
    forgotten_before: int = 0  # cursors older than this have expired


class MemoryProvider:
    def __init__(self, calendars: list[RemoteCalendar]) -> None:
        self.calendars = {c.calendar_id: MemoryCalendar(c) for c in calendars}
        self.faults: list[ProviderError] = []  # raised, in order, by the next calls
        self.outage: ProviderError | None = None  # while set, every call raises it (the account cannot be reached)
        self.lost_replies: list[ProviderError] = []  # raised, in order, by the next writes after they landed
        self.subscriptions: dict[str, Subscription] = {}
        self.renewable = False  # True: channels are extended by `renew`, as Graph's subscriptions are
        self._sequence = itertools.count(1)

    def _fail_if_asked(self) -> None:
        if self.outage is not None:
            raise self.outage
        if self.faults:
            raise self.faults.pop(0)

    def _lose_reply_if_asked(self) -> None:
        if self.lost_replies:
            raise self.lost_replies.pop(0)

    def _calendar(self, calendar_id: str) -> MemoryCalendar:
        if calendar_id not in self.calendars:
            raise NotFound("calendar not found")
        return self.calendars[calendar_id]

    def _record(self, calendar: MemoryCalendar, event_id: str, deleted: bool) -> str:
        number = next(self._sequence)
        calendar.log.append((number, event_id, deleted))
        return f"etag-{number}"

    def forget_history(self, calendar_id: str) -> None:
        """Make every cursor handed out so far expire (as a server pruning its change log does)."""
        calendar = self._calendar(calendar_id)
        calendar.forgotten_before = next(self._sequence)

    async def list_calendars(self) -> list[RemoteCalendar]:
        self._fail_if_asked()
        return [entry.calendar for entry in self.calendars.values()]

    async def fetch_changes(self, calendar_id: str, cursor: str | None, window: Span) -> Changes:
        self._fail_if_asked()
        calendar = self._calendar(calendar_id)
        # A cursor handed out now must be valid even right after forget_history, before the next change.
        position = max(calendar.log[-1][0] if calendar.log else 0, calendar.forgotten_before)
        if cursor is None:
            changed = tuple(RemoteEvent(event_id, stored.etag, stored.payload)
                            for event_id, stored in sorted(calendar.events.items()))
            return Changes(changed, (), f"seq:{position}", complete=True)
        since = int(cursor.removeprefix("seq:"))
        if since < calendar.forgotten_before:
            raise CursorExpired("sync cursor expired")
        latest: dict[str, bool] = {}
        for number, event_id, deleted in calendar.log:
            if number > since:
                latest[event_id] = deleted
        changed = tuple(RemoteEvent(event_id, calendar.events[event_id].etag, calendar.events[event_id].payload)
                        for event_id, deleted in sorted(latest.items()) if not deleted)
        gone = tuple(sorted(event_id for event_id, deleted in latest.items() if deleted))
        return Changes(changed, gone, f"seq:{position}", complete=False)

    async def put_event(self, calendar_id: str, event: OutgoingEvent, *, event_id: str | None = None,
                        etag: str | None = None) -> Written:
        self._fail_if_asked()
        calendar = self._calendar(calendar_id)
        target = event_id or f"{event.marker}.ics"  # the marker decides the id, so a retried create is the same event
        existing = calendar.events.get(target)
        if event_id is not None and existing is None:
            raise NotFound("event not found")
        if etag is not None and (existing is None or existing.etag != etag):
            raise PreconditionFailed("event changed since it was read")
        if existing is not None and existing.written == event:
            return Written(target, existing.etag)  # nothing changed: no new version, no change-log entry
        new_etag = self._record(calendar, target, deleted=False)
        calendar.events[target] = _Stored(new_etag, outgoing_to_ical(event, datetime.now(UTC)), event)
        self._lose_reply_if_asked()
        return Written(target, new_etag)

    def write_by_hand(self, calendar_id: str, event_id: str, ical_text: str) -> str:
        """The staff member creates or edits an event in their calendar app; returns the new etag."""
        calendar = self._calendar(calendar_id)
        etag = self._record(calendar, event_id, deleted=False)
        calendar.events[event_id] = _Stored(etag, ical_text)
        return etag

    def delete_by_hand(self, calendar_id: str, event_id: str) -> None:
        calendar = self._calendar(calendar_id)
        del calendar.events[event_id]
        self._record(calendar, event_id, deleted=True)

    async def delete_event(self, calendar_id: str, event_id: str, *, etag: str | None = None,
                           reason: str = "") -> None:
        self._fail_if_asked()
        calendar = self._calendar(calendar_id)
        existing = calendar.events.get(event_id)
        if existing is None:
            raise NotFound("event not found")
        if etag is not None and existing.etag != etag:
            raise PreconditionFailed("event changed since it was read")
        del calendar.events[event_id]
        self._record(calendar, event_id, deleted=True)
        self._lose_reply_if_asked()

    async def watch(self, calendar_id: str, address: str, token: str) -> Subscription | None:
        self._fail_if_asked()
        self._calendar(calendar_id)
        subscription = Subscription(f"channel-{next(self._sequence)}", calendar_id,
                                    datetime.now(UTC) + timedelta(days=7))
        self.subscriptions[subscription.subscription_id] = subscription
        return subscription

    async def renew(self, subscription: Subscription) -> Subscription | None:
        """Unless `renewable`, channels here are opened anew, as Google's are."""
        if not self.renewable:
            return None
        self._fail_if_asked()
        if subscription.subscription_id not in self.subscriptions:
            raise NotFound("channel not found")
        renewed = Subscription(subscription.subscription_id, subscription.resource_id,
                               datetime.now(UTC) + timedelta(days=7))
        self.subscriptions[renewed.subscription_id] = renewed
        return renewed

    async def unwatch(self, subscription: Subscription) -> None:
        self._fail_if_asked()
        if self.subscriptions.pop(subscription.subscription_id, None) is None:
            raise NotFound("channel not found")
