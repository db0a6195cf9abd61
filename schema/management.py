"""Inputs, payloads and results of managing a business: its details, its staff, its services' archiving, and bulk
changes of bookings."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.errors import (
    BookingsRefused,
    NotAuthorized,
    NotFound,
    SlugTaken,
    StaffAlreadyJoined,
    TooManyAttempts,
    ValidationError,
)
from schema.types import Booking, Business, StaffMember


@strawberry.input(description="What to change of a business; a field left out stays as it is, and an empty address, "
                              "phone, slug or logo URL clears it.")
class UpdateBusinessInput:
    id: strawberry.ID
    name: str | None = None
    time_zone: str | None = strawberry.field(default=None, description="IANA name; bookings keep their instants")
    address: str | None = None
    phone: str | None = None
    slug: str | None = strawberry.field(default=None, description="3-63 lowercase letters, digits and hyphens, "
                                                                  "unique; how businessBySlug finds it")
    logo_url: str | None = strawberry.field(default=None, description="An https:// address of the logo")


@strawberry.input(description="What to change of a staff member; a field left out stays as it is, and an empty photo "
                              "URL clears it. The staff member themself may change their name, zone and photo; only "
                              "the owner changes `active`.")
class UpdateStaffInput:
    staff_id: strawberry.ID
    name: str | None = None
    time_zone: str | None = strawberry.field(default=None, description="IANA name; working hours stay the same "
                                                                       "wall-clock times, in the new zone")
    photo_url: str | None = strawberry.field(default=None, description="An https:// address of the photo")
    active: bool | None = strawberry.field(default=None, description="false: takes no new bookings (as "
                                                                     "deactivateStaff); true: bookable again")


@strawberry.input
class DeactivateStaffInput:
    staff_id: strawberry.ID


@strawberry.input
class ResendStaffInviteInput:
    staff_id: strawberry.ID


@strawberry.input(description="Archive a service (no longer offered), or with `archived: false` offer it again.")
class ArchiveServiceInput:
    id: strawberry.ID
    archived: bool = True


@strawberry.input(description="Give a booking to another staff member at the same time; an occurrence of a series "
                              "moves the whole series.")
class ReassignBookingInput:
    booking_id: strawberry.ID
    staff_id: strawberry.ID


@strawberry.input(description="Cancel several bookings (each one occurrence), all or nothing; at most 100.")
class CancelBookingsInput:
    ids: list[strawberry.ID]
    reason: str = strawberry.field(default="", description="Why, in a few words; at most 500 characters")


@strawberry.type
class DeactivateStaffPayload:
    staff: StaffMember
    bookings_to_reassign: list[Booking] = strawberry.field(
        description="Their confirmed bookings that have not started, first ones first (at most 100): reassign them "
                    "with reassignBooking, or cancel them")
    bookings_to_reassign_count: int = strawberry.field(
        description="How many there are in all; past 100, read the rest with bookings(filter: {staffId, from, "
                    "status: CONFIRMED})")


@strawberry.type
class ResendStaffInvitePayload:
    staff: StaffMember
    invite_code: str = strawberry.field(description="Shown once: the new code for acceptStaffInvite, also mailed to "
                                                    "the staff member as a link; the old one no longer works")


@strawberry.type
class CancelBookingsPayload:
    bookings: list[Booking] = strawberry.field(description="The bookings, in the order given, now cancelled")


UpdateBusinessResult = Annotated[Business | ValidationError | NotAuthorized | NotFound | SlugTaken,
                                 strawberry.union("UpdateBusinessResult")]
BusinessBySlugResult = Annotated[Business | NotFound, strawberry.union("BusinessBySlugResult")]
DeactivateStaffResult = Annotated[DeactivateStaffPayload | ValidationError | NotAuthorized | NotFound,
                                  strawberry.union("DeactivateStaffResult")]
ResendStaffInviteResult = Annotated[ResendStaffInvitePayload | ValidationError | NotAuthorized | NotFound
                                    | StaffAlreadyJoined | TooManyAttempts,
                                    strawberry.union("ResendStaffInviteResult")]
CancelBookingsResult = Annotated[CancelBookingsPayload | ValidationError | NotAuthorized | BookingsRefused,
                                 strawberry.union("CancelBookingsResult")]
