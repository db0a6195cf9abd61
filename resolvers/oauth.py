"""Connecting a calendar account by OAuth: the mutation that starts it and the one that confirms the grant (the
callback between them is an app route)."""

from __future__ import annotations

from strawberry.types import Info

from resolvers.calendars import connection_out
from resolvers.errors import pk, typed_errors
from resolvers.permissions import IS_BUSINESS_SIDE, permission, viewer_of
from schema.errors import ValidationError
from schema.sync_inputs import ConfirmCalendarConnectionInput, StartCalendarConnectionInput
from schema.sync_payloads import CalendarAuthorization, CalendarConnectionResult, StartCalendarConnectionResult
from services import oauth_confirmation, oauth_connections


@permission(IS_BUSINESS_SIDE)
@typed_errors
async def start_calendar_connection(input: StartCalendarConnectionInput, info: Info
                                    ) -> StartCalendarConnectionResult:
    """Begin connecting a staff member's calendar account by OAuth (a provider whose registry entry has OAuth and
    that this server configures) from a phone or the web: open the returned URL."""
    gateway = info.context.oauth.get(input.provider.value)
    if gateway is None:
        return ValidationError.of([(["input", "provider"], f"{input.provider.name.title()} calendars cannot be "
                                                           "connected by OAuth on this server")])
    start = await oauth_connections.start_calendar_connection(
        viewer_of(info), pk(input.staff_id, "StaffMember", ["input", "staffId"]), input.return_url, gateway,
        info.context.allowed_return_urls, info.context.vault, info.context.now())
    return CalendarAuthorization(authorization_url=start.url, expires_at=start.expires_at)


@permission(IS_BUSINESS_SIDE)
@typed_errors
async def confirm_calendar_connection(input: ConfirmCalendarConnectionInput, info: Info) -> CalendarConnectionResult:
    """Finish connecting: the app of the user who started sends the code the callback gave its return URL, and gets
    the connected account back. Anyone else's attempt, a used code or one past 10 minutes is NotFound."""
    row = await oauth_confirmation.confirm_calendar_connection(viewer_of(info), input.code, info.context.vault,
                                                               info.context.now())
    return await connection_out(row, info.context.now())
