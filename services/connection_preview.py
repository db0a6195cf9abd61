"""The "test connection" preview: the next PREVIEW_DAYS of a connection's calendars, read live from the provider,
each event said to block availability or not under the connection's own settings. It writes nothing of sync state
(no busy blocks, cursors, health or sync log); only a token refreshed after a 401 is stored, as by every client of a
connection.

Terms:
- *previewed calendars*: the connection's calendars that import busy time, or (when none does) its destination.
- *reader*: reads those calendars live (services may not talk to providers, so the app injects a
  `ConnectionReader`); it reports the events it saw as `SeenEvent`s, or why it could not as `PreviewFailed`.
- *blocks*: the event would make the staff member busy if the connection imported it now: its calendar imports
  busy time, the connection is not export-only, and the event is busy under the connection's `tentative_blocks`
  and `all_day_blocks`. Lockstep's own events never block (the booking itself holds the time).
- *visible title*: a personal event's title is the staff member's alone (DESIGN.md invariant 9): anyone else (the
  owner) sees "Busy". The titles of Lockstep's own events are the bookings' and are shown to whoever may see them.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from domain.intervals import Span
from domain.sync import MarkerKind
from models import (
    Booking,
    CalendarConnection,
    ConnectionHealth,
    ExternalCalendar,
    Service,
    Staff,
    SyncDirection,
    WatchChannel,
)
from services.access import BUSY
from services.auth import Viewer
from services.errors import ServiceError
from services.sync_queries import managed_connection

PREVIEW_DAYS = 7
MAX_EVENTS = 200
TIME_LIMIT_SECONDS = 15.0
PREVIEW_PROBLEMS = ("reauthorization_required", "rate_limited", "unavailable", "refused", "provider_not_available",
                    "disconnected")
OWN_EVENT_TITLE = "Lockstep booking"  # an own event whose booking is gone (or is not this staff member's)


class PreviewFailed(ServiceError):
    """The calendars could not be read; `problem` is one of PREVIEW_PROBLEMS, the message is safe to show (it never
    carries a token). `retry_after_seconds` is the provider's wait when it limited the rate and said how long."""

    def __init__(self, problem: str, message: str, retry_after_seconds: int | None = None) -> None:
        super().__init__(message)
        self.problem = problem
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True)
class PreviewSource:
    """One calendar to read, and whether its events may block at all (it imports busy time on a connection that is
    not export-only)."""

    calendar: ExternalCalendar
    imports: bool


@dataclass(frozen=True)
class OwnBooking:
    """The booking (or series) Lockstep's own event was written for, as its marker names it, and the occurrence's
    planned start."""

    kind: MarkerKind
    target_id: int
    planned_start: datetime


@dataclass(frozen=True)
class SeenEvent:
    """One event (or occurrence) a reader saw in `calendar_id` (an ExternalCalendar's key). For Lockstep's own
    events `own` names the booking and `title` and `blocks` are not used."""

    calendar_id: int
    span: Span
    all_day: bool
    title: str
    blocks: bool
    own: OwnBooking | None = None


class ConnectionReader(Protocol):
    async def __call__(self, connection: CalendarConnection, staff: Staff, sources: Sequence[PreviewSource],
                       window: Span) -> list[SeenEvent]:
        """Read every source's events overlapping `window` live, under the connection's settings; raises
        PreviewFailed when the provider cannot be read. Writes nothing but a refreshed access token."""
        ...


@dataclass(frozen=True)
class PreviewEvent:
    calendar: ExternalCalendar
    span: Span
    all_day: bool
    title: str
    blocks: bool
    lockstep: bool
    booking_id: int | None = None


@dataclass(frozen=True)
class ConnectionPreview:
    connection: CalendarConnection
    window: Span
    calendars: list[ExternalCalendar]
    events: list[PreviewEvent] = field(default_factory=list)
    truncated: bool = False
    warnings: list[str] = field(default_factory=list)


NO_DESTINATION = ("Bookings made in Lockstep are written to none of this staff member's calendars, so the "
                  "appointment provider, which checks the calendars connected to it, would still offer the times "
                  "they take. Connect the Google or Outlook calendar it checks and make it the destination.")
NOT_DELIVERED = ("The provider does not deliver this account's appointments to Lockstep (it refused the webhook "
                 "subscription); they are read every 15 minutes instead. Subscribe by hand with the webhook URL and "
                 "give its signing key, or allow webhooks for the token.")


async def _warnings(connection: CalendarConnection, calendars: Sequence[ExternalCalendar], now: datetime
                    ) -> list[str]:
    """What keeps an appointment provider's account (whose calendars Lockstep never writes) from working as it
    should: Lockstep's bookings written nowhere it could see them, or its appointments not delivered."""
    if not calendars or any(calendar.writable for calendar in calendars):
        return []
    warnings = []
    destination = await ExternalCalendar.filter(
        is_destination=True, connection__staff_id=connection.staff_id,
        connection__health__in=[ConnectionHealth.ACTIVE, ConnectionHealth.DEGRADED]).exists()
    if not destination:
        warnings.append(NO_DESTINATION)
    delivered = await WatchChannel.filter(external_calendar_id__in=[calendar.id for calendar in calendars],
                                          stopped_at=None, expires_at__gt=now).exclude(resource_id="").exists()
    if not delivered:
        warnings.append(NOT_DELIVERED)
    return warnings


async def previewed_sources(connection: CalendarConnection) -> list[PreviewSource]:
    """The calendars importing busy time (or, when none does, the destination), in the order they were added."""
    rows = await ExternalCalendar.filter(connection_id=connection.id).order_by("id")
    chosen = [row for row in rows if row.import_busy] or [row for row in rows if row.is_destination]
    exports_only = connection.direction == SyncDirection.EXPORT_ONLY
    return [PreviewSource(row, imports=row.import_busy and not exports_only) for row in chosen]


async def _read(reader: ConnectionReader | None, connection: CalendarConnection, sources: list[PreviewSource],
                window: Span, time_limit: float) -> list[SeenEvent]:
    if reader is None:
        raise PreviewFailed("provider_not_available", "Calendars cannot be read live on this server")
    try:
        async with asyncio.timeout(time_limit):
            return await reader(connection, connection.staff, sources, window)
    except TimeoutError:
        raise PreviewFailed("unavailable", f"The calendar did not answer within {math.ceil(time_limit)} seconds; "
                                           "try again later") from None


async def _own_booking(own: OwnBooking, staff_id: int) -> Booking | None:
    """The staff member's booking an own event shows: the booking itself, or the series' occurrence planned then."""
    if own.kind == "booking":
        return await Booking.get_or_none(id=own.target_id, staff_id=staff_id)
    return await Booking.filter(series_id=own.target_id, staff_id=staff_id, starts_at=own.planned_start).first() or \
        await Booking.filter(series_id=own.target_id, staff_id=staff_id).order_by("occurrence_index").first()


async def _own_event(seen: SeenEvent, own: OwnBooking, staff_id: int, calendar: ExternalCalendar) -> PreviewEvent:
    booking = await _own_booking(own, staff_id)
    title = OWN_EVENT_TITLE
    if booking is not None:
        service = await Service.get(id=booking.service_id)
        title = f"{service.name} – {'Walk-in' if booking.walk_in else booking.customer_name}"
    return PreviewEvent(calendar, seen.span, False, title, blocks=False, lockstep=True,
                        booking_id=booking.id if booking is not None else None)


async def preview_connection(viewer: Viewer, connection_id: int, reader: ConnectionReader | None, now: datetime, *,
                             time_limit: float = TIME_LIMIT_SECONDS) -> ConnectionPreview:
    """The events of the previewed calendars over [now, now + PREVIEW_DAYS), soonest first, at most MAX_EVENTS
    (`truncated` says when more were seen), each with its visible title and whether it blocks. The whole read
    gives up after `time_limit` seconds (PreviewFailed "unavailable").

    An event that blocks under no setting at all (free, declined, cancelled) is not listed: readers report the
    spans an event would block, so what is listed is what blocks under the connection's settings or would block
    if tentative and all-day events both blocked."""
    connection = await managed_connection(viewer, connection_id, ["connectionId"])
    if connection.health == ConnectionHealth.DISCONNECTED or not connection.credentials:
        raise PreviewFailed("disconnected", "This calendar connection is disconnected; connect the account again")
    window = Span(now, now + timedelta(days=PREVIEW_DAYS))
    sources = await previewed_sources(connection)
    calendars = {source.calendar.id: source.calendar for source in sources}
    seen = await _read(reader, connection, sources, window, time_limit) if sources else []
    seen = sorted((event for event in seen if event.calendar_id in calendars),
                  key=lambda event: (event.span.start, event.span.end, event.calendar_id, event.title))
    mine = viewer.user_id is not None and viewer.user_id == connection.staff.user_id
    events: list[PreviewEvent] = []
    for event in seen[:MAX_EVENTS]:
        calendar = calendars[event.calendar_id]
        if event.own is not None:
            events.append(await _own_event(event, event.own, connection.staff_id, calendar))
            continue
        title = (event.title or BUSY) if mine else BUSY
        events.append(PreviewEvent(calendar, event.span, event.all_day, title, event.blocks, lockstep=False))
    return ConnectionPreview(connection, window, list(calendars.values()), events, truncated=len(seen) > MAX_EVENTS,
                             warnings=await _warnings(connection, list(calendars.values()), now))
