"""Success payloads and the result unions of mutations and fallible queries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from schema.errors import (
    AuthenticationFailed,
    MovedAtProviderOnly,
    NotAuthorized,
    NotFound,
    QuotaExceeded,
    ServiceArchived,
    SlotQueryTooLarge,
    SlotUnavailable,
    StaffInactive,
    TooManyAttempts,
    TooManySlots,
    ValidationError,
)
from schema.types import (
    Booking,
    BookingConnection,
    Business,
    BusinessList,
    BusyBlock,
    ScheduleEntry,
    ScheduleOverride,
    Service,
    Slot,
    StaffMember,
    User,
)


@strawberry.type
class AuthPayload:
    access_token: str
    access_token_expires_at: datetime
    refresh_token: str
    refresh_token_expires_at: datetime
    user: User


@strawberry.type
class SignOutPayload:
    signed_out: bool


@strawberry.type
class CreateStaffPayload:
    staff: StaffMember
    invite_code: str = strawberry.field(description="Shown once: the staff member uses it in acceptStaffInvite. It "
                                                    "is also mailed to them, as a link to the web app")


@strawberry.type
class BookingPayload:
    booking: Booking
    occurrences: list[Booking] = strawberry.field(description="Every booking the mutation created or changed")


@strawberry.type
class AvailableSlots:
    time_zone: str
    slots: list[Slot]


@strawberry.type
class StaffSchedule:
    staff: StaffMember
    entries: list[ScheduleEntry]


AuthResult = Annotated[AuthPayload | ValidationError | AuthenticationFailed | TooManyAttempts,
                       strawberry.union("AuthResult")]
SignOutResult = Annotated[SignOutPayload | ValidationError, strawberry.union("SignOutResult")]
BusinessResult = Annotated[Business | ValidationError | NotAuthorized | NotFound | QuotaExceeded,
                           strawberry.union("BusinessResult")]
CreateStaffResult = Annotated[CreateStaffPayload | ValidationError | NotAuthorized | NotFound | QuotaExceeded,
                              strawberry.union("CreateStaffResult")]
ServiceResult = Annotated[Service | ValidationError | NotAuthorized | NotFound | QuotaExceeded,
                          strawberry.union("ServiceResult")]
StaffMemberResult = Annotated[StaffMember | ValidationError | NotAuthorized | NotFound,
                              strawberry.union("StaffMemberResult")]
ScheduleOverrideResult = Annotated[ScheduleOverride | ValidationError | NotAuthorized | NotFound,
                                   strawberry.union("ScheduleOverrideResult")]
BusyBlockResult = Annotated[BusyBlock | ValidationError | NotAuthorized | NotFound, strawberry.union("BusyBlockResult")]
BookingResult = Annotated[BookingPayload | ValidationError | NotAuthorized | NotFound | SlotUnavailable
                          | MovedAtProviderOnly | StaffInactive | ServiceArchived, strawberry.union("BookingResult")]
BookingQueryResult = Annotated[Booking | ValidationError | NotAuthorized | NotFound,
                               strawberry.union("BookingQueryResult")]
BookingsResult = Annotated[BookingConnection | ValidationError | NotAuthorized | NotFound,
                           strawberry.union("BookingsResult")]
MyBusinessesResult = Annotated[BusinessList | NotAuthorized, strawberry.union("MyBusinessesResult")]
AvailableSlotsResult = Annotated[AvailableSlots | ValidationError | NotFound | SlotQueryTooLarge | TooManySlots
                                 | ServiceArchived, strawberry.union("AvailableSlotsResult")]
StaffScheduleResult = Annotated[StaffSchedule | ValidationError | NotAuthorized | NotFound,
                                strawberry.union("StaffScheduleResult")]
