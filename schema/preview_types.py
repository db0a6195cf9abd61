"""Object types of a connection's "test connection" preview: the events its calendars hold over the next days, read
live from the provider, each said to block availability or not under the connection's own settings."""

from __future__ import annotations

from datetime import datetime

import strawberry

from schema.sync_types import ExternalCalendar


@strawberry.type(description="One event (or occurrence) of the preview. `title` is the event's own only for the "
                             "staff member whose calendar it is; everyone else sees \"Busy\" (the titles of "
                             "Lockstep's own events are the bookings' and are shown to both).")
class PreviewEvent:
    starts_at: datetime
    ends_at: datetime
    all_day: bool
    title: str
    blocks: bool = strawberry.field(description="It would make the staff member busy under the connection's "
                                                "settings (its calendar imports busy time; tentative and all-day "
                                                "events as `tentativeBlocks` and `allDayBlocks` say)")
    lockstep: bool = strawberry.field(description="Lockstep wrote it for a booking; it never blocks, since the "
                                                  "booking itself holds the time")
    booking_id: strawberry.ID | None = strawberry.field(description="The booking a Lockstep event was written for, "
                                                                    "while it exists")
    calendar: ExternalCalendar = strawberry.field(description="The calendar it came from")


@strawberry.type(description="The connection's calendars that import busy time (or, when none does, its destination) "
                             "as the provider holds them now, from `windowStart` for seven days, soonest first. Free "
                             "and declined events, which block under no setting, are not listed. At most 200 events; "
                             "`truncated` says there were more. Reading them changed nothing.")
class ConnectionPreview:
    window_start: datetime
    window_end: datetime
    calendars: list[ExternalCalendar]
    events: list[PreviewEvent]
    truncated: bool
    warnings: list[str] = strawberry.field(description="What keeps the account from working as it should, for "
                                                       "people (an appointment provider's: Lockstep's bookings "
                                                       "written to no calendar it checks, its appointments not "
                                                       "delivered)")
