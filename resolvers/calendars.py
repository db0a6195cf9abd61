"""Calendar connections: connecting and checking a CalDAV account, the calendars' roles, the connection's settings,
and disconnecting."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import ParamSpec, TypeVar

import strawberry
from strawberry.types import Info

from models import CalendarConnection as ConnectionModel
from resolvers.errors import pk, typed_errors
from resolvers.permissions import IS_BUSINESS_SIDE, permission, viewer_of
from schema.errors import ConnectionCheckFailed
from schema.sync_enums import ConnectionHealthStatus, ConnectionProblem
from schema.sync_inputs import (
    CaldavAccountInput,
    DisconnectCalendarInput,
    UpdateCalendarConnectionInput,
    UpdateExternalCalendarInput,
)
from schema.sync_payloads import (
    CalendarConnectionList,
    CalendarConnectionResult,
    CalendarConnectionsResult,
    ConnectCaldavResult,
    ConnectionTestPayload,
    ExternalCalendarResult,
    TestCalendarConnectionResult,
)
from schema.sync_types import CalendarConnection, DiscoveredCalendar, ExternalCalendar, SyncHealth
from services import connection_settings, connections, farewell, sync_queries
from services.connection_settings import ConnectionSettings
from services.connections import ConnectionCheckError

P = ParamSpec("P")
R = TypeVar("R")


def connection_checks(resolver: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """An account that cannot be connected is the typed ConnectionCheckFailed, saying which problem it was."""

    @functools.wraps(resolver)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await resolver(*args, **kwargs)
        except ConnectionCheckError as error:
            return ConnectionCheckFailed(message=error.message,  # type: ignore[return-value]
                                         problem=ConnectionProblem(error.problem))

    return wrapper


async def connection_out(row: ConnectionModel, now: datetime) -> CalendarConnection:
    """The GraphQL connection with its health as of `now`."""
    report = await sync_queries.connection_health(row, now)
    health = SyncHealth(status=ConnectionHealthStatus(str(report.status)),
                        last_successful_sync_at=report.last_successful_sync_at,
                        lag_seconds=None if report.lag is None else int(report.lag.total_seconds()),
                        last_error=report.last_error, pending_count=report.pending, failed_count=report.failed,
                        open_conflict_count=report.open_conflicts, unreadable_events=report.unreadable)
    return CalendarConnection.from_model(row, health)


@permission(IS_BUSINESS_SIDE)
@typed_errors
async def calendar_connections(staff_id: strawberry.ID, info: Info) -> CalendarConnectionsResult:
    """A staff member's calendar connections (the disconnected ones too), for the owner and the staff member."""
    rows = await connections.list_connections(viewer_of(info), pk(staff_id, "StaffMember", ["staffId"]))
    now = info.context.now()
    return CalendarConnectionList(connections=[await connection_out(row, now) for row in rows])


@permission(IS_BUSINESS_SIDE)
@typed_errors
@connection_checks
async def connect_caldav(input: CaldavAccountInput, info: Info) -> ConnectCaldavResult:
    """Connect a CalDAV account (again, to renew its password): its calendars are imported at once."""
    row = await connections.connect_caldav(
        viewer_of(info), pk(input.staff_id, "StaffMember", ["input", "staffId"]), input.provider_type.value,
        input.server_url, input.username, input.password, info.context.account_probe, info.context.vault,
        info.context.now())
    return await connection_out(row, info.context.now())


@permission(IS_BUSINESS_SIDE)
@typed_errors
@connection_checks
async def test_calendar_connection(input: CaldavAccountInput, info: Info) -> TestCalendarConnectionResult:
    """Check a CalDAV account and list its calendars; nothing is saved."""
    account = await connections.test_calendar_connection(
        viewer_of(info), pk(input.staff_id, "StaffMember", ["input", "staffId"]), input.provider_type.value,
        input.server_url, input.username, input.password, info.context.account_probe)
    return ConnectionTestPayload(server_url=account.server_url, calendars=[
        DiscoveredCalendar(name=found.name, colour=found.colour, time_zone=found.time_zone, writable=found.writable,
                           primary=found.primary) for found in account.calendars])


@permission(IS_BUSINESS_SIDE)
@typed_errors
async def update_external_calendar(input: UpdateExternalCalendarInput, info: Info) -> ExternalCalendarResult:
    row = await connection_settings.update_external_calendar(
        viewer_of(info), pk(input.id, "ExternalCalendar", ["input", "id"]), input.import_busy, input.is_destination,
        info.context.now())
    return ExternalCalendar.from_model(row)


@permission(IS_BUSINESS_SIDE)
@typed_errors
async def update_calendar_connection(input: UpdateCalendarConnectionInput, info: Info) -> CalendarConnectionResult:
    settings = ConnectionSettings(
        direction=input.direction.value if input.direction else None,
        frequency=input.frequency.value if input.frequency else None,
        conflict_policy=input.conflict_policy.value if input.conflict_policy else None,
        tentative_blocks=input.tentative_blocks, all_day_blocks=input.all_day_blocks)
    row = await connection_settings.update_calendar_connection(
        viewer_of(info), pk(input.id, "CalendarConnection", ["input", "id"]), settings, info.context.now())
    return await connection_out(row, info.context.now())


@permission(IS_BUSINESS_SIDE)
@typed_errors
async def disconnect_calendar(input: DisconnectCalendarInput, info: Info) -> CalendarConnectionResult:
    """Stop the provider's push channels and revoke Lockstep's access there (best effort), delete the credentials
    and stop syncing; imported busy time stays unless `removeImportedBlocks`."""
    row = await farewell.disconnect_with_farewell(
        viewer_of(info), pk(input.connection_id, "CalendarConnection", ["input", "connectionId"]),
        input.remove_imported_blocks, info.context.farewell, info.context.now())
    return await connection_out(row, info.context.now())
