"""Types of linking imported events to bookings and of merging duplicates: the candidate groups, the merge's steps,
their inputs, results and refusals (domain.duplicates and domain.merging define the terms)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from domain.duplicates import DuplicateKind as DomainDuplicateKind, ItemKind
from domain.merging import Refusal, StepKind
from schema.errors import NotAuthorized, NotFound, UserError, ValidationError
from schema.sync_types import ExternalCalendar, SyncItem
from schema.types import Booking, BusyBlock


@strawberry.enum(description="Why items look like duplicates")
class DuplicateKind(Enum):
    BOOKING_WRITTEN_TWICE = DomainDuplicateKind.BOOKING_WRITTEN_TWICE.value
    BLOCK_MIRRORS_BOOKING = DomainDuplicateKind.BLOCK_MIRRORS_BOOKING.value
    SAME_EVENT_IN_TWO_CALENDARS = DomainDuplicateKind.SAME_EVENT_IN_TWO_CALENDARS.value


@strawberry.enum(description="BOOKING_EVENT: the event Lockstep wrote for a booking in one calendar (its itemId "
                             "is a SyncItem's); BUSY_BLOCK: an imported event; BOOKING: the booking itself, in a group "
                             "where it has no event anywhere")
class DuplicateItemKind(Enum):
    BOOKING = ItemKind.BOOKING.value
    BOOKING_EVENT = ItemKind.BOOKING_EVENT.value
    BUSY_BLOCK = ItemKind.BUSY_BLOCK.value


@strawberry.enum(description="Why an event cannot be taken over, or a duplicate settled so")
class LinkRefusal(Enum):
    BLOCKED_TIME = Refusal.BLOCKED_TIME.value
    OTHER_STAFF_MEMBER = Refusal.OTHER_STAFF_MEMBER.value
    BOOKING_NOT_CONFIRMED = Refusal.BOOKING_NOT_CONFIRMED.value
    RECURRING_BOOKING = Refusal.RECURRING_BOOKING.value
    RECURRING_EVENT = Refusal.RECURRING_EVENT.value
    DISCONNECTED = Refusal.DISCONNECTED.value
    IMPORT_ONLY_CONNECTION = Refusal.IMPORT_ONLY_CONNECTION.value
    READ_ONLY_CALENDAR = Refusal.READ_ONLY_CALENDAR.value
    NOT_DESTINATION = Refusal.NOT_DESTINATION.value
    OPEN_CONFLICT = Refusal.OPEN_CONFLICT.value
    DESTINATION_EVENT = Refusal.DESTINATION_EVENT.value
    BOOKING_ITEM = Refusal.BOOKING_ITEM.value


@strawberry.enum(description="ADOPT_EVENT: the event kept becomes the booking's (the next push writes the booking "
                             "onto it); DELETE_WRITTEN_EVENT / DELETE_IMPORTED_EVENT: the next push deletes it at the "
                             "provider; DROP_BLOCK: it stays in its calendar and is no longer shown while it "
                             "duplicates what was kept")
class MergeAction(Enum):
    ADOPT_EVENT = StepKind.ADOPT_EVENT.value
    DELETE_WRITTEN_EVENT = StepKind.DELETE_WRITTEN_EVENT.value
    DELETE_IMPORTED_EVENT = StepKind.DELETE_IMPORTED_EVENT.value
    DROP_BLOCK = StepKind.DROP_BLOCK.value


@strawberry.type(description="One item of a group of likely duplicates")
class DuplicateItem:
    item_id: strawberry.ID = strawberry.field(description="The item's Booking, SyncItem or BusyBlock ID, by `kind` "
                                                          "(what `suggestedKeepId`, `keep` and `remove` name)")
    kind: DuplicateItemKind
    starts_at: datetime
    ends_at: datetime
    title: str = strawberry.field(description="An imported event's title only for the staff member (\"Busy\" for "
                                              "others); a booking's as Lockstep writes it")
    calendar: ExternalCalendar | None = strawberry.field(description="Where it is (none for the booking itself)")
    booking: Booking | None
    busy_block: BusyBlock | None
    sync_item: SyncItem | None


@strawberry.type
class DuplicateGroup:
    kind: DuplicateKind
    items: list[DuplicateItem]
    suggested_keep_id: strawberry.ID = strawberry.field(description="The item to keep unless the person knows better")


@strawberry.type(description="Likely duplicates in the window, at most 200 groups (`truncated`: ask for fewer days)")
class DuplicateCandidates:
    groups: list[DuplicateGroup]
    truncated: bool


@strawberry.type
class MergeStep:
    action: MergeAction
    item_id: strawberry.ID


@strawberry.type(description="What the merge did; events are deleted at the provider by the next push")
class MergeDuplicatesPayload:
    kept_id: strawberry.ID
    steps: list[MergeStep]


@strawberry.type(description="The event cannot be taken over as the booking's; nothing was changed")
class CannotLinkEvent(UserError):
    reason: LinkRefusal


@strawberry.type(description="An item cannot be settled so (`path` names it); nothing was changed")
class CannotMergeDuplicates(UserError):
    reason: LinkRefusal
    path: list[str]


@strawberry.input
class LinkEventToBookingInput:
    busy_block_id: strawberry.ID = strawberry.field(description="An event imported from a calendar")
    booking_id: strawberry.ID


@strawberry.input
class MergeDuplicatesInput:
    keep: strawberry.ID = strawberry.field(description="The item to keep: a Booking, SyncItem or BusyBlock ID")
    remove: list[strawberry.ID] = strawberry.field(description="Items of the same group to settle (at most 20)")


DuplicateCandidatesResult = Annotated[DuplicateCandidates | ValidationError | NotAuthorized | NotFound,
                                      strawberry.union("DuplicateCandidatesResult")]
LinkEventToBookingResult = Annotated[SyncItem | ValidationError | NotAuthorized | NotFound | CannotLinkEvent,
                                     strawberry.union("LinkEventToBookingResult")]
MergeDuplicatesResult = Annotated[
    MergeDuplicatesPayload | ValidationError | NotAuthorized | NotFound | CannotMergeDuplicates,
    strawberry.union("MergeDuplicatesResult")]
