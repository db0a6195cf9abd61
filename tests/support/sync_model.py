"""A tiny in-memory model of Lockstep's sync engine, for the convergence test in tests/domain/test_convergence.py.

`Engine` keeps bookings, what it wrote, the imported busy blocks and its job queue in plain dicts, and decides only
through the domain functions (plan_push, plan_import, read_own_event, calendar_edits, decide) over the in-memory
calendar account (MemoryProvider). With no database, scheduler or workers in the way, a hypothesis state machine can
run its push and pull jobs in any order, twice, late or into provider faults, and check that these decisions alone
bring both sides to agree. The iCalendar helpers write events as calendar apps do (zoned, UTC, floating wall time,
DURATION, transparent) and read UIDs and busy time back.

Terms used below:
- *written*: what the engine last wrote (or last accepted) for a booking: event id, etag, booking version, and the
  expected spans (planned start -> span) that the next pull compares the calendar with.
- *held*: a booking whose event is left as the staff member made it (an open conflict, or keep-both on a move) until
  either side changes it again. *stopped*: keep-both on a deleted event; Lockstep no longer pushes that booking.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import icalendar

from domain import sync
from domain.busy import BusyPolicy, caldav_busy_spans
from domain.conflicts import ConflictKind, ConflictPolicy, SyncResolution, decide
from domain.intervals import Span
from domain.own_events import CalendarEdit, EditKind, OwnEvent, calendar_edits, read_own_event
from providers import base
from tests.fakes.memory import MemoryProvider

ZONE, CAL, BERLIN = "Europe/Berlin", "work", ZoneInfo("Europe/Berlin")
WINDOW = Span(datetime(2030, 3, 1, tzinfo=UTC), datetime(2030, 4, 1, tzinfo=UTC))
BUSY = BusyPolicy(zone=ZONE)
T = TypeVar("T")


def run(call: Coroutine[Any, Any, T]) -> T:
    """Each provider call runs to completion on a fresh loop: the state machine itself is synchronous."""
    return asyncio.run(call)


def set_times(event: Any, span: Span, style: str) -> None:
    """DTSTART and DTEND (or DURATION) as some calendar app writes them: zoned, UTC or floating wall time."""
    start, end = ((i.astimezone(BERLIN) if style in ("zoned", "floating") else i) for i in (span.start, span.end))
    if style == "floating":
        start, end = start.replace(tzinfo=None), end.replace(tzinfo=None)
    event.add("DTSTART", start)
    event.add("DURATION", span.duration) if style == "duration" else event.add("DTEND", end)


def personal_event(uid: str, span: Span, style: str) -> str:
    """A staff member's own event (a dentist appointment); transparent ones take no time."""
    calendar = icalendar.Calendar()
    calendar.add("PRODID", "-//Some calendar app//EN")
    calendar.add("VERSION", "2.0")
    event = icalendar.Event()
    event.add("UID", uid)
    event.add("DTSTAMP", datetime(2030, 1, 1, tzinfo=UTC))
    event.add("SUMMARY", "Dentist")
    set_times(event, span, "utc" if style == "transparent" else style)
    if style == "transparent":
        event.add("TRANSP", "TRANSPARENT")
    calendar.add_component(event)
    if style == "zoned":
        calendar.add_missing_timezones()
    return str(calendar.to_ical().decode())


def moved_by_hand(payload: str, span: Span, style: str) -> str:
    """The staff member drags a booking's event: only its times change."""
    calendar = icalendar.Calendar.from_ical(payload)
    for event in calendar.walk("VEVENT"):
        for name in ("DTSTART", "DTEND", "DURATION"):
            event.pop(name, None)
        set_times(event, span, style)
    return str(calendar.to_ical().decode())


@lru_cache(maxsize=4096)
def uids(payload: str) -> tuple[str, ...]:
    """The UIDs of an object's master VEVENTs (payloads never change in place, so each is parsed once)."""
    return tuple(str(event["UID"]) for event in icalendar.Calendar.from_ical(payload).walk("VEVENT")
                 if event.get("RECURRENCE-ID") is None)


def imported(event_id: str, payload: str) -> sync.ImportedEvent:
    return sync.ImportedEvent(event_id, tuple(caldav_busy_spans(payload, WINDOW, BUSY)))


@dataclass
class Booking:
    id: int
    version: int
    confirmed: bool
    span: Span


@dataclass
class Written:
    event_id: str
    etag: str
    version_written: int
    expected: dict[datetime, Span]


@dataclass
class Engine:
    provider: MemoryProvider
    policy: ConflictPolicy = ConflictPolicy.ASK
    bookings: dict[int, Booking] = field(default_factory=dict)
    written: dict[int, Written] = field(default_factory=dict)
    blocks: list[sync.StoredBlock] = field(default_factory=list)
    cursor: str | None = None
    queue: list[tuple[str, int]] = field(default_factory=list)  # ("push", booking id) or ("pull", 0)
    held: set[int] = field(default_factory=set)
    stopped: set[int] = field(default_factory=set)
    our_etags: set[str] = field(default_factory=set)
    cancelled_by_sync: int = 0

    def is_free(self, span: Span, ignore: int = 0) -> bool:
        taken = [b.span for b in self.bookings.values() if b.confirmed and b.id != ignore]
        return not any(other.overlaps(span) for other in taken + [block.span for block in self.blocks])

    def change(self, booking: Booking, *, span: Span | None = None, cancel: bool = False) -> None:
        """Lockstep's side changes a booking: a new version, a push, and a hold on its event is settled."""
        booking.span, booking.confirmed = span or booking.span, booking.confirmed and not cancel
        booking.version += 1
        self.held.discard(booking.id)
        self.queue.append(("push", booking.id))

    def run(self, job: tuple[str, int]) -> bool:
        """True when the job is done; False when a provider call failed and it stays queued for a retry."""
        try:
            self.pull() if job[0] == "pull" else self.push(job[1])
        except base.ProviderError:
            return False
        return True

    def drain(self) -> None:
        for _ in range(1000):
            if not self.queue:
                return
            if self.run(self.queue[0]):
                self.queue.pop(0)
        raise AssertionError(f"the job queue never drained: {self.queue}")

    def push(self, booking_id: int) -> None:
        try:
            self._push_once(booking_id)
        except (base.PreconditionFailed, base.NotFound):  # changed since: learn what happened, then decide again
            self.pull()
            self._push_once(booking_id)

    def _push_once(self, booking_id: int) -> None:
        booking, written = self.bookings[booking_id], self.written.get(booking_id)
        if booking_id in self.held | self.stopped:
            return
        action = sync.plan_push(sync.BookingSnapshot(booking.id, booking.version, booking.confirmed),
                                sync.WrittenSnapshot(written.event_id, written.version_written) if written else None)
        if action in (sync.PushAction.CREATE, sync.PushAction.UPDATE):
            event = base.OutgoingEvent(sync.event_marker(booking.id), f"Booking {booking.id}", "", booking.span.start,
                                  booking.span.end, ZONE)
            at = (written.event_id, written.etag) if written and action == sync.PushAction.UPDATE else (None, None)
            result = run(self.provider.put_event(CAL, event, event_id=at[0], etag=at[1]))
            self.our_etags.add(result.etag)
            self.written[booking_id] = Written(result.event_id, result.etag, booking.version,
                                               {booking.span.start: booking.span})
        elif action == sync.PushAction.DELETE and written is not None:
            with suppress(base.NotFound):  # gone already, which is what a delete wants
                run(self.provider.delete_event(CAL, written.event_id, etag=written.etag))
            del self.written[booking_id]

    def pull(self) -> None:
        try:
            changes = run(self.provider.fetch_changes(CAL, self.cursor, WINDOW))
        except base.CursorExpired:
            changes = run(self.provider.fetch_changes(CAL, None, WINDOW))
        # Every provider call is done: from here on a pull cannot stop halfway.
        plan = sync.plan_import(self.blocks, [imported(e.event_id, e.payload) for e in changes.changed],
                                changes.deleted, complete=changes.complete)
        self.blocks = sync.apply_plan(self.blocks, plan)
        own = {e.event_id: (e.etag, read_own_event(e.payload, WINDOW, ZONE)) for e in changes.changed}
        for booking_id, written in sorted(self.written.items()):
            if own.get(written.event_id, ("", None))[1] is not None:
                self._reconcile(booking_id, *own[written.event_id])
            elif written.event_id and (written.event_id in changes.deleted or changes.complete) and not plan.suspicious:
                self._reconcile(booking_id, "", None)  # gone from the calendar
        # A new or moved busy block over a confirmed booking: unless cancelled, the booking stands next to it.
        if decide(ConflictKind.BUSY_OVERLAP, self.policy, new_time_free=False) == SyncResolution.CANCEL_BOOKING:
            for booking in [b for b in self.bookings.values() if any(b.span.overlaps(x.span) for x in plan.upserts)]:
                if booking.confirmed:
                    self.cancelled_by_sync += 1
                    self.change(booking, cancel=True)
        self.cursor = changes.cursor

    def _reconcile(self, booking_id: int, etag: str, found: OwnEvent | None) -> None:
        booking, written = self.bookings[booking_id], self.written[booking_id]
        edits = calendar_edits(written.expected, found, WINDOW)
        assert etag not in self.our_etags or edits == [], "Lockstep's own write read back as an edit (echo)"
        if not edits:
            written.etag = etag or written.etag
            return
        [edit] = edits  # a single booking's event has one occurrence
        if not booking.confirmed:  # cancelled here already: the queued push deletes whatever is left
            self._accept(written, edit, etag)
        elif edit.new_span is not None:
            free = self.is_free(edit.new_span, ignore=booking_id)
            self._resolve(booking, written, edit, etag, decide(ConflictKind.EVENT_MOVED, self.policy,
                                                               new_time_free=free))
        else:
            self._resolve(booking, written, edit, etag, decide(ConflictKind.EVENT_DELETED, self.policy,
                                                               new_time_free=False))

    def _resolve(self, booking: Booking, written: Written, edit: CalendarEdit, etag: str,
                 resolution: SyncResolution) -> None:
        if resolution == SyncResolution.RESCHEDULE_BOOKING and edit.new_span is not None:
            booking.span, booking.version = edit.new_span, booking.version + 1
            written.etag, written.version_written = etag, booking.version
            written.expected = {booking.span.start: booking.span}
            self.held.discard(booking.id)
            return
        self._accept(written, edit, etag)
        if resolution == SyncResolution.RESTORE_EVENT:
            written.version_written = -1  # older than any booking version: the push writes the booking again
            self.held.discard(booking.id)
            self.queue.append(("push", booking.id))
        elif resolution == SyncResolution.CANCEL_BOOKING:
            self.cancelled_by_sync += 1
            self.change(booking, cancel=True)
        else:  # OPEN_CONFLICT or KEEP_BOTH: both sides stay as they are
            kept_deleted = resolution == SyncResolution.KEEP_BOTH and edit.kind == EditKind.DELETED
            (self.stopped if kept_deleted else self.held).add(booking.id)

    @staticmethod
    def _accept(written: Written, edit: CalendarEdit, etag: str) -> None:
        """Take what the calendar holds now as seen, so the next pull only reacts to newer edits."""
        if edit.new_span is None:
            written.event_id, written.etag, written.expected = "", "", {}
        else:
            written.etag, written.expected = etag, {edit.planned_start: edit.new_span}
