"""Calendar feeds: making, revoking and listing their addresses, and exporting a range of bookings as ICS."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.errors import optional_pk, pk, typed_errors
from resolvers.permissions import IS_BUSINESS_SIDE, IsSignedIn, permission, viewer_of
from schema.calendar_feeds import (
    BookingExport,
    BookingExportResult,
    CalendarFeed,
    CalendarFeedCreated,
    CalendarFeeds,
    CalendarFeedsResult,
    CreateCalendarFeedInput,
    CreateCalendarFeedResult,
    ExportTooLarge,
    RevokeCalendarFeedInput,
    RevokeCalendarFeedResult,
)
from services import calendar_feeds, feed_bookings

From = Annotated[datetime, strawberry.argument(name="from")]


@permission(IsSignedIn())
@typed_errors
async def calendar_feed_list(info: Info) -> CalendarFeedsResult:
    """The viewer's active feeds (never their addresses, which were shown once)."""
    viewer = viewer_of(info)
    return CalendarFeeds(feeds=[CalendarFeed.from_model(feed, viewer.user_id)
                                for feed in await calendar_feeds.viewer_feeds(viewer)])


@permission(IsSignedIn())
@typed_errors
async def create_calendar_feed(input: CreateCalendarFeedInput, info: Info) -> CreateCalendarFeedResult:
    viewer = viewer_of(info)
    feed, token = await calendar_feeds.create_feed(
        viewer, optional_pk(input.staff_id, "StaffMember", ["input", "staffId"]),
        optional_pk(input.business_id, "Business", ["input", "businessId"]), info.context.vault, info.context.now())
    return CalendarFeedCreated(feed=CalendarFeed.from_model(feed, viewer.user_id), url=info.context.feeds.url(token))


@permission(IsSignedIn())
@typed_errors
async def revoke_calendar_feed(input: RevokeCalendarFeedInput, info: Info) -> RevokeCalendarFeedResult:
    viewer = viewer_of(info)
    feed = await calendar_feeds.revoke_feed(viewer, pk(input.id, "CalendarFeed", ["input", "id"]), info.context.now())
    return CalendarFeed.from_model(feed, viewer.user_id)


@permission(IS_BUSINESS_SIDE)
@typed_errors
async def export_bookings(from_: From, to: datetime, info: Info, staff_id: strawberry.ID | None = None,
                          business_id: strawberry.ID | None = None) -> BookingExportResult:
    """The confirmed bookings of a staff member or a business overlapping [from, to) as ICS text."""
    context = info.context
    try:
        export = await feed_bookings.export_bookings(
            viewer_of(info), optional_pk(staff_id, "StaffMember", ["staffId"]),
            optional_pk(business_id, "Business", ["businessId"]), from_, to, context.feeds.host,
            context.max_feed_bookings)
    except feed_bookings.ExportTooLargeError as error:
        return ExportTooLarge(message=error.message, booking_count=error.booking_count,
                              max_bookings=error.max_bookings)
    return BookingExport(ics=export.ics.decode(), booking_count=export.booking_count, starts=from_, ends=to)
