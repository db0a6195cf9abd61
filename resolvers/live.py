"""Subscriptions: live bookings, availability, sync health and notifications over graphql-transport-ws.

Each checks its permission when it starts (a refusal is one typed error, then the subscription completes), then
turns every event of its topics into a payload. Events carry IDs only; what a subscriber sees is read from the
database when the event arrives, so it is current and filtered by the same rules as the queries.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC
from typing import Any, TypeVar

import strawberry
from strawberry.types import Info

from resolvers.calendars import connection_out
from resolvers.errors import optional_pk, to_typed_error
from resolvers.permissions import viewer_of
from schema.ids import encode_id
from schema.live import (
    AvailabilityChanged,
    AvailabilityChangedEvent,
    BookingChanged,
    BookingChangedEvent,
    BookingChangeKind,
    MissedEvents,
    MissedEventsReason,
    NotificationEvent,
    NotificationReceived,
    SyncHealthChanged,
    SyncHealthChangedEvent,
    TimeSpan,
)
from schema.loaders import Loaders
from schema.sync_enums import ConnectionHealthStatus
from schema.sync_types import Notification
from schema.types import Booking
from services import live, live_access
from services.errors import ServiceError

E = TypeVar("E", bound=live.LiveEvent)
_MISSED_MESSAGES = {
    live.SLOW_CLIENT: "Events were dropped because they were not read in time; refetch",
    live.CONNECTION_LOST: "The live feed was interrupted; refetch",
}


def _feed(info: Info, topics: list[str]) -> AbstractAsyncContextManager[AsyncIterator[live.LiveEvent |
                                                                                      live.MissedEvents]]:
    feed: live.LiveFeed | None = info.context.live
    if feed is None:
        raise RuntimeError("live updates are not available: the API runs without Redis")
    return feed.listen(topics)


def _missed(event: live.MissedEvents) -> MissedEvents:
    return MissedEvents(reason=MissedEventsReason(event.reason), message=_MISSED_MESSAGES[event.reason])


async def _follow(info: Info, topics: Awaitable[list[str]], kind: type[E],
                  convert: Callable[[E], Awaitable[Any]]) -> AsyncGenerator[Any, None]:
    """Check access (through `topics`), then yield a payload per event of `kind`, and MissedEvents as they come."""
    try:
        names = await topics
    except ServiceError as error:
        yield to_typed_error(error)
        return
    async with _feed(info, names) as events:
        async for event in events:
            if isinstance(event, live.MissedEvents):
                yield _missed(event)
            elif isinstance(event, kind):
                info.context.loaders = Loaders()  # each event is read fresh, not from an earlier event's cache
                yield await convert(event)


async def booking_changed(info: Info, business_id: strawberry.ID | None = None,
                          staff_id: strawberry.ID | None = None) -> AsyncGenerator[BookingChangedEvent, None]:
    """Bookings of a business (or of one staff member) created, moved, cancelled or edited, for owners and staff;
    with neither argument, the viewer's own bookings as a customer."""
    own = business_id is None and staff_id is None

    async def topics() -> list[str]:
        return await live_access.booking_topics(
            viewer_of(info), optional_pk(business_id, "Business", ["businessId"]),
            optional_pk(staff_id, "StaffMember", ["staffId"]))

    async def convert(event: live.BookingsChanged) -> BookingChanged:
        rows = await live_access.changed_bookings(event)
        if own:
            rows = live_access.customers_own(rows, viewer_of(info))
        return BookingChanged(kind=BookingChangeKind(event.kind), business_id=encode_id("Business", event.business_id),
                              staff_ids=[] if own else [encode_id("StaffMember", pk) for pk in event.staff_ids],
                              bookings=[Booking.from_model(row, for_business=not own) for row in rows])

    async for payload in _follow(info, topics(), live.BookingsChanged, convert):
        yield payload


async def availability_changed(info: Info, staff_id: strawberry.ID | None = None,
                               service_id: strawberry.ID | None = None
                               ) -> AsyncGenerator[AvailabilityChangedEvent, None]:
    """Time whose slots may have changed, for a staff member or for everyone performing a service. Public: it says
    when, never why."""

    async def topics() -> list[str]:
        return await live_access.availability_topics(optional_pk(staff_id, "StaffMember", ["staffId"]),
                                                     optional_pk(service_id, "Service", ["serviceId"]))

    async def convert(event: live.AvailabilityChanged) -> AvailabilityChanged:
        return AvailabilityChanged(staff_id=encode_id("StaffMember", event.staff_id),
                                   spans=[TimeSpan(start=span.start.astimezone(UTC), end=span.end.astimezone(UTC))
                                          for span in event.spans])

    async for payload in _follow(info, topics(), live.AvailabilityChanged, convert):
        yield payload


async def sync_health_changed(info: Info, staff_id: strawberry.ID | None = None,
                              business_id: strawberry.ID | None = None
                              ) -> AsyncGenerator[SyncHealthChangedEvent, None]:
    """Health of a staff member's calendar connections (owner or that staff member), or of a whole business's
    (owner)."""

    async def topics() -> list[str]:
        return await live_access.health_topics(viewer_of(info), optional_pk(staff_id, "StaffMember", ["staffId"]),
                                               optional_pk(business_id, "Business", ["businessId"]))

    async def convert(event: live.SyncHealthChanged) -> SyncHealthChanged:
        row = await live_access.changed_connection(event)
        connection = None if row is None else await connection_out(row, info.context.now())
        return SyncHealthChanged(connection_id=encode_id("CalendarConnection", event.connection_id),
                                 staff_id=encode_id("StaffMember", event.staff_id),
                                 status=ConnectionHealthStatus(event.status), connection=connection)

    async for payload in _follow(info, topics(), live.SyncHealthChanged, convert):
        yield payload


async def notifications(info: Info) -> AsyncGenerator[NotificationEvent, None]:
    """The viewer's new notifications, one event each, oldest first."""
    viewer = viewer_of(info)
    try:
        names = live_access.notification_topics(viewer)
    except ServiceError as error:
        yield to_typed_error(error)
        return
    async with _feed(info, names) as events:
        # Listening first, then reading where we stand: a notification stored in between is not lost.
        seen = await live_access.last_notification_id(viewer)
        async for event in events:
            if isinstance(event, live.MissedEvents):
                yield _missed(event)
                continue
            for row in await live_access.notifications_after(viewer, seen):
                seen = max(seen, row.id)
                yield NotificationReceived(notification=Notification.from_model(row))
