"""GraphQL types of calendar feeds (private addresses calendar apps subscribe to) and of the ICS export of a range
(docs/feeds.md)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from models import Business as BusinessModel, CalendarFeed as CalendarFeedModel, FeedKind, Staff as StaffModel
from schema.errors import NotAuthorized, NotFound, UserError, ValidationError
from schema.ids import encode_id
from schema.node import Node
from schema.types import Business, StaffMember


@strawberry.enum(description="Whose bookings a calendar feed holds.")
class CalendarFeedKind(Enum):
    STAFF = strawberry.enum_value("staff", description="One staff member's bookings")
    BUSINESS = strawberry.enum_value("business", description="Every staff member's bookings of one business")
    CUSTOMER = strawberry.enum_value("customer", description="The viewer's own bookings as a customer")


@strawberry.type(description="A private, revocable address from which a calendar app reads bookings, read-only. "
                             "Its address holds a secret token and is shown once, when the feed is made.")
class CalendarFeed(Node):
    kind: CalendarFeedKind
    created_at: datetime
    revoked_at: datetime | None
    made_by_viewer: bool = strawberry.field(description="Whether the viewer made it (and was shown its address)")
    staff_pk: strawberry.Private[int | None]
    business_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, feed: CalendarFeedModel, viewer_id: int | None) -> CalendarFeed:
        return cls(id=encode_id("CalendarFeed", feed.id), kind=CalendarFeedKind(feed.kind.value),
                   created_at=feed.created_at, revoked_at=feed.revoked_at,
                   made_by_viewer=viewer_id is not None and feed.created_by_id == viewer_id,
                   staff_pk=feed.subject_id if feed.kind == FeedKind.STAFF else None, business_pk=feed.business_id)

    @strawberry.field(description="The staff member of a STAFF feed")
    async def staff(self) -> StaffMember | None:
        row = None if self.staff_pk is None else await StaffModel.get_or_none(id=self.staff_pk)
        return None if row is None else StaffMember.from_model(row)

    @strawberry.field(description="The business of a STAFF or BUSINESS feed")
    async def business(self) -> Business | None:
        row = None if self.business_pk is None else await BusinessModel.get_or_none(id=self.business_pk)
        return None if row is None else Business.from_model(row)


@strawberry.input(description="Whose feed: `staffId` (that staff member's bookings: for themself, or for the "
                              "business's owner), `businessId` (the owner: every staff member's bookings), or "
                              "neither (a customer: their own bookings). A new feed revokes the viewer's previous "
                              "feed of the same bookings.")
class CreateCalendarFeedInput:
    staff_id: strawberry.ID | None = None
    business_id: strawberry.ID | None = None


@strawberry.input
class RevokeCalendarFeedInput:
    id: strawberry.ID


@strawberry.type
class CalendarFeedCreated:
    feed: CalendarFeed
    url: str = strawberry.field(description="Shown once: the feed's address (`.../feeds/{token}.ics`) to subscribe "
                                            "to. Anyone who has it can read the feed; revoke it if it leaks")


@strawberry.type
class CalendarFeeds:
    feeds: list[CalendarFeed] = strawberry.field(description="The active feeds the viewer may revoke, oldest first")


@strawberry.type(description="Bookings of a range as one iCalendar object (text/calendar), written as the feeds "
                             "write them.")
class BookingExport:
    ics: str
    booking_count: int = strawberry.field(description="Bookings it holds (each occurrence of a series one)")
    starts: datetime = strawberry.field(name="from")
    ends: datetime = strawberry.field(name="to")


@strawberry.type(description="The range holds more bookings than one export may (each occurrence of a series "
                             "counted): ask for a shorter range.")
class ExportTooLarge(UserError):
    booking_count: int
    max_bookings: int


CreateCalendarFeedResult = Annotated[CalendarFeedCreated | ValidationError | NotAuthorized | NotFound,
                                     strawberry.union("CreateCalendarFeedResult")]
RevokeCalendarFeedResult = Annotated[CalendarFeed | ValidationError | NotAuthorized | NotFound,
                                     strawberry.union("RevokeCalendarFeedResult")]
CalendarFeedsResult = Annotated[CalendarFeeds | NotAuthorized, strawberry.union("CalendarFeedsResult")]
BookingExportResult = Annotated[BookingExport | ValidationError | NotAuthorized | NotFound | ExportTooLarge,
                                strawberry.union("BookingExportResult")]
