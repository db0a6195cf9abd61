"""Connecting a calendar account by OAuth: the mutation that starts it (the callback is an app route)."""

from __future__ import annotations

from strawberry.types import Info

from resolvers.errors import pk, typed_errors
from resolvers.permissions import IS_BUSINESS_SIDE, permission, viewer_of
from schema.errors import ValidationError
from schema.sync_inputs import StartCalendarConnectionInput
from schema.sync_payloads import CalendarAuthorization, StartCalendarConnectionResult
from services import oauth_connections


@permission(IS_BUSINESS_SIDE)
@typed_errors
async def start_calendar_connection(input: StartCalendarConnectionInput, info: Info
                                    ) -> StartCalendarConnectionResult:
    """Begin connecting a staff member's Google calendar from a phone or the web: open the returned URL."""
    gateway = info.context.oauth.get(input.provider.value)
    if gateway is None:
        return ValidationError(message=f"{input.provider.name.title()} calendars cannot be connected by OAuth on this "
                                       "server", path=["input", "provider"])
    start = await oauth_connections.start_calendar_connection(
        viewer_of(info), pk(input.staff_id, "StaffMember", ["input", "staffId"]), input.return_url, gateway,
        info.context.allowed_return_urls, info.context.vault, info.context.now())
    return CalendarAuthorization(authorization_url=start.url, expires_at=start.expires_at)
