"""Object types of calendar sync: connections, their calendars and health, the sync log, conflicts, sync items
(a booking's event in one calendar) and notifications. Each has `from_model`.

A connection's health is computed by the sync services, which schema may not call: the resolver builds `SyncHealth`
and hands it to `CalendarConnection.from_model`.
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from models import (
    CalendarConnection as ConnectionModel,
    EventMapping as EventMappingModel,
    ExternalCalendar as ExternalCalendarModel,
    Notification as NotificationModel,
    SyncConflict as SyncConflictModel,
    SyncLogEntry as SyncLogEntryModel,
)
from schema.ids import encode_id
from schema.node import Node
from schema.sync_enums import (
    CaldavServerType,
    CalendarProvider,
    ConflictPolicy,
    ConflictResolution,
    ConflictStatus,
    ConnectionHealthStatus,
    SyncConflictKind,
    SyncDirection,
    SyncFrequency,
    SyncItemState,
)
from schema.types import Booking, PageInfo


@strawberry.type(description="How a connection is doing.")
class SyncHealth:
    status: ConnectionHealthStatus
    last_successful_sync_at: datetime | None
    lag_seconds: int | None = strawberry.field(description="Seconds since the last successful sync: how stale "
                                                           "Lockstep's copy of the calendar may be")
    last_error: str
    pending_count: int = strawberry.field(description="Bookings whose event still has to be written")
    failed_count: int = strawberry.field(description="Bookings whose event gave up after every retry")
    open_conflict_count: int
    unreadable_events: int = strawberry.field(
        default=0, description="Events of its calendars that could not be read: they keep the busy time last read")


@strawberry.type(description="One calendar inside a connection.")
class ExternalCalendar(Node):
    id: strawberry.ID
    name: str
    colour: str
    time_zone: str
    writable: bool
    primary: bool
    import_busy: bool = strawberry.field(description="Its events make the staff member busy")
    is_destination: bool = strawberry.field(description="Bookings are written here (at most one per staff member)")

    @classmethod
    def from_model(cls, row: ExternalCalendarModel) -> ExternalCalendar:
        return cls(id=encode_id("ExternalCalendar", row.id), name=row.name, colour=row.colour,
                   time_zone=row.time_zone, writable=row.writable, primary=row.primary, import_busy=row.import_busy,
                   is_destination=row.is_destination)


@strawberry.type(description="A staff member's link to one calendar account. Its credentials are never shown.")
class CalendarConnection(Node):
    id: strawberry.ID
    provider: CalendarProvider
    server_type: CaldavServerType | None
    account_label: str
    direction: SyncDirection
    frequency: SyncFrequency
    conflict_policy: ConflictPolicy
    tentative_blocks: bool = strawberry.field(description="Tentative events make the staff member busy")
    all_day_blocks: bool = strawberry.field(description="All-day events block that local day")
    created_at: datetime
    disconnected_at: datetime | None
    health: SyncHealth
    pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: ConnectionModel, health: SyncHealth) -> CalendarConnection:
        return cls(id=encode_id("CalendarConnection", row.id), provider=CalendarProvider(str(row.provider)),
                   server_type=CaldavServerType(row.server_type) if row.server_type else None,
                   account_label=row.account_label, direction=SyncDirection(str(row.direction)),
                   frequency=SyncFrequency(str(row.frequency)),
                   conflict_policy=ConflictPolicy(str(row.conflict_policy)),
                   tentative_blocks=row.tentative_blocks, all_day_blocks=row.all_day_blocks,
                   created_at=row.created_at, disconnected_at=row.disconnected_at, health=health, pk=row.id)

    @strawberry.field
    async def calendars(self) -> list[ExternalCalendar]:
        rows = await ExternalCalendarModel.filter(connection_id=self.pk).order_by("id")
        return [ExternalCalendar.from_model(row) for row in rows]


@strawberry.type(description="A calendar an account check found (nothing is saved).")
class DiscoveredCalendar:
    name: str
    colour: str
    time_zone: str
    writable: bool
    primary: bool


@strawberry.type(description="One sync action. `error` is a message safe to show; it never holds a secret.")
class SyncLogEntry(Node):
    id: strawberry.ID
    direction: str = strawberry.field(description="export, import or none")
    action: str
    outcome: str = strawberry.field(description="ok, retrying, failed or skipped")
    detail: str
    error: str
    booking_id: strawberry.ID | None
    mapping_id: strawberry.ID | None = strawberry.field(description="The SyncItem involved, for retrySync")
    created_at: datetime

    @classmethod
    def from_model(cls, row: SyncLogEntryModel) -> SyncLogEntry:
        booking, mapping = row.booking_id, row.mapping_id
        return cls(id=encode_id("SyncLogEntry", row.id), direction=row.direction, action=row.action,
                   outcome=row.outcome, detail=row.detail, error=row.error,
                   booking_id=encode_id("Booking", booking) if booking else None,
                   mapping_id=encode_id("SyncItem", mapping) if mapping else None, created_at=row.created_at)


@strawberry.type
class SyncLogEdge:
    cursor: str
    node: SyncLogEntry


@strawberry.type(description="A connection's sync log, newest entry first.")
class SyncLogConnection:
    edges: list[SyncLogEdge]
    page_info: PageInfo


@strawberry.type(description="A booking's event in one calendar (for a recurring series, the series' event).")
class SyncItem(Node):
    id: strawberry.ID
    state: SyncItemState
    booking_id: strawberry.ID
    attempts: int
    last_error: str

    @classmethod
    def from_model(cls, row: EventMappingModel) -> SyncItem:
        return cls(id=encode_id("SyncItem", row.id), state=SyncItemState(str(row.state)),
                   booking_id=encode_id("Booking", row.booking_id), attempts=row.attempts, last_error=row.last_error)


@strawberry.type(description="A booking and the staff member's calendar disagree. `proposedStartsAt`/`EndsAt` is "
                             "where the calendar has the booking's event now (for a moved event).")
class SyncConflict(Node):
    id: strawberry.ID
    kind: SyncConflictKind
    status: ConflictStatus
    resolution: ConflictResolution | None
    booking: Booking
    proposed_starts_at: datetime | None
    proposed_ends_at: datetime | None
    created_at: datetime
    settled_at: datetime | None

    @classmethod
    def from_model(cls, row: SyncConflictModel) -> SyncConflict:
        """`row.booking` must be loaded (select_related)."""
        return cls(id=encode_id("SyncConflict", row.id), kind=SyncConflictKind(row.kind),
                   status=ConflictStatus(str(row.status)),
                   resolution=ConflictResolution(row.resolution) if row.resolution else None,
                   booking=Booking.from_model(row.booking, for_business=True), proposed_starts_at=row.proposed_start,
                   proposed_ends_at=row.proposed_end, created_at=row.created_at, settled_at=row.settled_at)


@strawberry.type
class Notification(Node):
    id: strawberry.ID
    kind: str
    message: str
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def from_model(cls, row: NotificationModel) -> Notification:
        return cls(id=encode_id("Notification", row.id), kind=row.kind, message=row.message,
                   created_at=row.created_at, read_at=row.read_at)
