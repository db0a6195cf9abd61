"""Watching and nudging the sync of one connection: its log, "sync now", retrying a failed item, and unlinking a
booking's event."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers.calendars import connection_out
from resolvers.errors import pk, typed_errors
from resolvers.permissions import IS_BUSINESS_SIDE, permission, viewer_of
from schema.sync_inputs import RetrySyncInput, SyncNowInput, UnlinkBookingEventInput
from schema.sync_payloads import CalendarConnectionResult, SyncItemResult, SyncLogResult
from schema.sync_types import SyncItem, SyncLogConnection, SyncLogEdge, SyncLogEntry
from schema.types import PageInfo
from services import connections, sync_queries


@permission(IS_BUSINESS_SIDE)
@typed_errors
async def sync_log(connection_id: strawberry.ID, info: Info, first: int = 20, after: str | None = None
                   ) -> SyncLogResult:
    """What the sync engine did for a connection, newest first."""
    page = await sync_queries.sync_log(viewer_of(info), pk(connection_id, "CalendarConnection", ["connectionId"]),
                                       first, after)
    edges = [SyncLogEdge(cursor=cursor, node=SyncLogEntry.from_model(row))
             for row, cursor in zip(page.entries, page.cursors, strict=True)]
    return SyncLogConnection(edges=edges, page_info=PageInfo(has_next_page=page.has_next_page,
                                                             end_cursor=page.cursors[-1] if page.cursors else None))


@permission(IS_BUSINESS_SIDE)
@typed_errors
async def sync_now(input: SyncNowInput, info: Info) -> CalendarConnectionResult:
    """Read every calendar of the connection and write every pending booking now (within a second or so)."""
    row = await sync_queries.sync_now(viewer_of(info), pk(input.connection_id, "CalendarConnection",
                                                          ["input", "connectionId"]), info.context.now())
    return await connection_out(row, info.context.now())


@permission(IS_BUSINESS_SIDE)
@typed_errors
async def retry_sync(input: RetrySyncInput, info: Info) -> SyncItemResult:
    """Queue one failed item again (its ID is the sync log entry's mappingId)."""
    row = await sync_queries.retry_sync(viewer_of(info), pk(input.mapping_id, "SyncItem", ["input", "mappingId"]),
                                        info.context.now())
    return SyncItem.from_model(row)


@permission(IS_BUSINESS_SIDE)
@typed_errors
async def unlink_booking_event(input: UnlinkBookingEventInput, info: Info) -> SyncItemResult:
    """Stop syncing one booking with one connection; the booking and its calendar event both stay."""
    row = await connections.unlink_booking_event(
        viewer_of(info), pk(input.booking_id, "Booking", ["input", "bookingId"]),
        pk(input.connection_id, "CalendarConnection", ["input", "connectionId"]))
    return SyncItem.from_model(row)
