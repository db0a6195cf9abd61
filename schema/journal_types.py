"""The journal's GraphQL types: calendar events (bookings, imported busy blocks and blocked time in one list), their
page, their filter, and the explanation of why a time is not bookable. Enum values mirror domain.journal,
domain.slot_reasons and services' sources, so conversion is by value."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.journal import EventStatus, status_colour
from schema.errors import NotAuthorized, NotFound, ValidationError
from schema.node import Node
from schema.types import Booking, BusyBlock, PageInfo, StaffMember


@strawberry.enum(description="BOOKING: a booking; BUSY_BLOCK: busy time imported from a connected calendar; "
                             "BLOCKED_TIME: time blocked by hand.")
class CalendarEventKind(Enum):
    BOOKING = "booking"
    BUSY_BLOCK = "busy_block"
    BLOCKED_TIME = "blocked_time"


@strawberry.enum(description="Where an entry comes from: LOCKSTEP for bookings made here; a provider for a booking "
                             "made there (CALENDLY) or for busy time imported from one of its calendars; MANUAL for "
                             "blocked time.")
class CalendarEventSource(Enum):
    LOCKSTEP = "lockstep"
    GOOGLE = "google"
    MICROSOFT = "microsoft"
    CALDAV = "caldav"
    CALENDLY = "calendly"
    MANUAL = "manual"


@strawberry.enum(description="CONFIRMED; TENTATIVE (an imported tentative event); PENDING (its appointment "
                             "provider is moving it: the new time has not arrived yet, the old one stays held); "
                             "CANCELLED (a cancelled booking); COMPLETED (a booking that has ended).")
class CalendarEventStatus(Enum):
    CONFIRMED = "confirmed"
    TENTATIVE = "tentative"
    PENDING = "pending"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


@strawberry.enum(description="A booking's event in one calendar: SYNCED (written as it is now); PENDING (still to "
                             "be written); FAILED (gave up after every retry: retrySync); CONFLICT (held back: an "
                             "open sync conflict concerns it).")
class CalendarSyncState(Enum):
    SYNCED = "synced"
    PENDING = "pending"
    FAILED = "failed"
    CONFLICT = "conflict"


@strawberry.type(description="How a booking stands with one calendar it is written to.")
class BookingSyncState:
    connection_id: strawberry.ID
    calendar_id: strawberry.ID
    calendar_name: str
    state: CalendarSyncState


# The type names of entries' own global IDs, with the key of the booking or busy block behind them: an entry is not
# the booking or block itself (it has its own title, status and sync states), so it never answers under their IDs.
BOOKING_ENTRY = "BookingEntry"
BLOCK_ENTRY = "BlockEntry"


@strawberry.type(description="One entry of the journal. Times are given in the time zone the query asked for (in "
                             "UTC when fetched by `node`).")
class CalendarEvent(Node):
    id: strawberry.ID = strawberry.field(description="The entry's own ID (not its booking's or busy block's: those "
                                                     "are `booking` and `busyBlock`)")
    kind: CalendarEventKind
    starts_at: datetime
    ends_at: datetime
    all_day: bool
    title: str = strawberry.field(description="A booking's service and customer; a personal event's or blocked "
                                              "time's real title only for the staff member (and for whoever typed "
                                              "the block in), \"Busy\" for others")
    source: CalendarEventSource
    status: CalendarEventStatus
    calendar_name: str | None = strawberry.field(description="The calendar an imported block comes from")
    calendar_colour: str | None = strawberry.field(description="That calendar's colour, when it has one")
    sync_states: list[BookingSyncState] = strawberry.field(description="A booking's state in each calendar it is "
                                                                       "written to; empty for blocks")
    booking: Booking | None
    busy_block: BusyBlock | None
    staff_pk: strawberry.Private[int]

    @strawberry.field(description="The status's colour (#rrggbb): confirmed blue, tentative and pending yellow, "
                                  "cancelled red, completed green")
    def status_colour(self) -> str:
        return status_colour(EventStatus(self.status.value))

    @strawberry.field
    async def staff(self, info: Info) -> StaffMember:
        return StaffMember.from_model(await info.context.loaders.staff.load(self.staff_pk))


@strawberry.type
class CalendarEventEdge:
    cursor: str
    node: CalendarEvent


@strawberry.type(description="The journal: entries that overlap the window, by start (bookings first at the same "
                             "start), then by ID.")
class CalendarEventConnection:
    time_zone: str
    edges: list[CalendarEventEdge]
    page_info: PageInfo


@strawberry.input(description="Which entries to list. Leaving a list out lists every value; `statuses` left out "
                              "lists every status but CANCELLED; `includeCancelled` adds CANCELLED to either.")
class CalendarEventFilter:
    kinds: list[CalendarEventKind] | None = None
    sources: list[CalendarEventSource] | None = None
    statuses: list[CalendarEventStatus] | None = None
    include_cancelled: bool = False


@strawberry.enum(description="Why a time cannot be booked: IN_PAST; MINIMUM_NOTICE and BEYOND_HORIZON (the "
                             "service's); OUTSIDE_WORKING_HOURS (the span, with the service's buffers, does not lie "
                             "in one working range); OFF_STEP (not on the service's step); BOOKING, BUSY_BLOCK and "
                             "BLOCKED_TIME (the entry that takes the time).")
class UnbookableReasonKind(Enum):
    IN_PAST = "in_past"
    MINIMUM_NOTICE = "minimum_notice"
    BEYOND_HORIZON = "beyond_horizon"
    OUTSIDE_WORKING_HOURS = "outside_working_hours"
    OFF_STEP = "off_step"
    BOOKING = "booking"
    BUSY_BLOCK = "busy_block"
    BLOCKED_TIME = "blocked_time"


@strawberry.type
class UnbookableReason:
    kind: UnbookableReasonKind
    message: str
    event: CalendarEvent | None = strawberry.field(description="The booking, busy block or blocked time that "
                                                               "takes the time")


@strawberry.type(description="Why a staff member's time is not bookable; no reasons: it is.")
class SlotExplanation:
    staff: StaffMember
    start: datetime
    end: datetime
    bookable: bool
    reasons: list[UnbookableReason]
    has_more_reasons: bool = strawberry.field(description="More entries take the time than are listed (the first "
                                                          "100 by start are)")


CalendarEventsResult = Annotated[CalendarEventConnection | ValidationError | NotAuthorized | NotFound,
                                 strawberry.union("CalendarEventsResult")]
SlotExplanationResult = Annotated[SlotExplanation | ValidationError | NotAuthorized | NotFound,
                                  strawberry.union("SlotExplanationResult")]
