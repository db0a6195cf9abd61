"""The "test connection" preview of a calendar connection: its next days read live from the provider."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers.errors import pk, typed_errors
from resolvers.permissions import IS_BUSINESS_SIDE, permission, viewer_of
from schema.errors import ConnectionPreviewFailed
from schema.ids import encode_id
from schema.preview_types import ConnectionPreview, PreviewEvent
from schema.sync_enums import PreviewProblem
from schema.sync_payloads import ConnectionPreviewResult
from schema.sync_types import ExternalCalendar
from services.connection_preview import PreviewFailed, preview_connection


@permission(IS_BUSINESS_SIDE)
@typed_errors
async def connection_preview(connection_id: strawberry.ID, info: Info) -> ConnectionPreviewResult:
    """The next 7 days of the connection's calendars as the provider holds them now (after connecting: "if it works,
    you see your recent events"), for the owner and the staff member; nothing is written."""
    try:
        preview = await preview_connection(
            viewer_of(info), pk(connection_id, "CalendarConnection", ["connectionId"]),
            info.context.connection_reader, info.context.now())
    except PreviewFailed as failure:
        return ConnectionPreviewFailed(message=failure.message, problem=PreviewProblem(failure.problem),
                                       retry_after_seconds=failure.retry_after_seconds)
    return ConnectionPreview(
        window_start=preview.window.start, window_end=preview.window.end,
        calendars=[ExternalCalendar.from_model(row) for row in preview.calendars],
        events=[PreviewEvent(starts_at=event.span.start, ends_at=event.span.end, all_day=event.all_day,
                             title=event.title, blocks=event.blocks, lockstep=event.lockstep,
                             booking_id=None if event.booking_id is None else encode_id("Booking", event.booking_id),
                             calendar=ExternalCalendar.from_model(event.calendar))
                for event in preview.events],
        truncated=preview.truncated, warnings=preview.warnings)
