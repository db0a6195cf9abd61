"""Subscription payloads. Each subscription yields a union of its event, MissedEvents, and the typed errors that end
it at once (a refused subscription yields one error and completes, delivering nothing else)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from schema.errors import NotAuthorized, NotFound, ValidationError
from schema.sync_enums import ConnectionHealthStatus
from schema.sync_types import CalendarConnection, Notification
from schema.types import Booking


@strawberry.enum
class BookingChangeKind(Enum):
    CREATED = "created"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    UPDATED = "updated"


@strawberry.enum(description="Why events may have been missed.")
class MissedEventsReason(Enum):
    SLOW_CLIENT = "slow_client"
    CONNECTION_LOST = "connection_lost"


@strawberry.type(description="Events may have been lost (the client read too slowly, or the server lost its event "
                             "feed for a while): refetch what is shown. Later events follow as usual.")
class MissedEvents:
    reason: MissedEventsReason
    message: str


@strawberry.type(description="Bookings changed. `bookings` is their state when the event is delivered.")
class BookingChanged:
    kind: BookingChangeKind
    business_id: strawberry.ID
    staff_ids: list[strawberry.ID] = strawberry.field(description="The staff concerned (before and after a move)")
    bookings: list[Booking]


@strawberry.type(description="A span of time, as UTC instants.")
class TimeSpan:
    start: datetime
    end: datetime


@strawberry.type(description="A staff member's free time may have changed inside `spans`: refetch the slots that "
                             "overlap them. Says nothing about why.")
class AvailabilityChanged:
    staff_id: strawberry.ID
    spans: list[TimeSpan]


@strawberry.type(description="A calendar connection's health changed (or it was connected or disconnected).")
class SyncHealthChanged:
    connection_id: strawberry.ID
    staff_id: strawberry.ID
    status: ConnectionHealthStatus
    connection: CalendarConnection | None = strawberry.field(
        description="The connection as it is now, with its health; null if it no longer exists")


@strawberry.type(description="A new notification for the viewer.")
class NotificationReceived:
    notification: Notification


BookingChangedEvent = Annotated[BookingChanged | MissedEvents | ValidationError | NotAuthorized | NotFound,
                                strawberry.union("BookingChangedEvent")]
AvailabilityChangedEvent = Annotated[AvailabilityChanged | MissedEvents | ValidationError | NotFound,
                                     strawberry.union("AvailabilityChangedEvent")]
SyncHealthChangedEvent = Annotated[SyncHealthChanged | MissedEvents | ValidationError | NotAuthorized | NotFound,
                                   strawberry.union("SyncHealthChangedEvent")]
NotificationEvent = Annotated[NotificationReceived | MissedEvents | NotAuthorized,
                              strawberry.union("NotificationEvent")]
