"""Inputs of the calendar connection and sync mutations (each mutation takes exactly one `input`)."""

from __future__ import annotations

import strawberry

from schema.sync_enums import (
    CaldavServerType,
    CalendarProvider,
    ConflictChoice,
    ConflictPolicy,
    SyncDirection,
    SyncFrequency,
)


@strawberry.input(description="A CalDAV account, for connectCaldav and testCalendarConnection.")
class CaldavAccountInput:
    staff_id: strawberry.ID
    provider_type: CaldavServerType
    username: str
    password: str = strawberry.field(description="Use an app-specific password where the provider has them")
    server_url: str | None = strawberry.field(
        default=None, description="Needed for Nextcloud and generic servers; iCloud and Fastmail have defaults")


@strawberry.input
class UpdateExternalCalendarInput:
    id: strawberry.ID
    import_busy: bool | None = None
    is_destination: bool | None = strawberry.field(
        default=None, description="true makes this the one calendar bookings are written to")


@strawberry.input(description="Omitted fields stay as they are.")
class UpdateCalendarConnectionInput:
    id: strawberry.ID
    direction: SyncDirection | None = None
    frequency: SyncFrequency | None = None
    conflict_policy: ConflictPolicy | None = None
    tentative_blocks: bool | None = None
    all_day_blocks: bool | None = None


@strawberry.input
class SyncNowInput:
    connection_id: strawberry.ID


@strawberry.input
class RetrySyncInput:
    mapping_id: strawberry.ID = strawberry.field(description="A failed SyncItem")


@strawberry.input
class ResolveConflictInput:
    conflict_id: strawberry.ID
    choice: ConflictChoice


@strawberry.input
class DisconnectCalendarInput:
    connection_id: strawberry.ID
    remove_imported_blocks: bool = strawberry.field(
        default=False, description="Also remove the busy time imported from it (kept by default)")


@strawberry.input
class UnlinkBookingEventInput:
    booking_id: strawberry.ID
    connection_id: strawberry.ID


@strawberry.input
class MarkNotificationsReadInput:
    ids: list[strawberry.ID]


@strawberry.input
class ConfirmCalendarConnectionInput:
    code: str = strawberry.field(
        description="The confirmationCode the return URL received after the provider granted access")


@strawberry.input
class StartCalendarConnectionInput:
    provider: CalendarProvider = strawberry.field(description="GOOGLE (OAuth); CalDAV accounts use connectCaldav")
    staff_id: strawberry.ID
    return_url: str = strawberry.field(
        description="Where the browser goes afterwards, with the outcome: an app deep link or a web page on the "
                    "server's allowed list")
