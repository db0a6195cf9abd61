"""Input types: every mutation takes exactly one `input`."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from schema.enums import AssignmentPolicy, BookingStatus, CancelScope, SignUpRole, Weekday
from schema.money import MoneyInput


@strawberry.input
class SignUpInput:
    email: str
    password: str
    name: str
    role: SignUpRole = SignUpRole.CUSTOMER


@strawberry.input
class SignInInput:
    email: str
    password: str


@strawberry.input
class RefreshTokenInput:
    refresh_token: str


@strawberry.input
class AcceptStaffInviteInput:
    code: str
    password: str


@strawberry.input
class CreateBusinessInput:
    name: str
    time_zone: str = strawberry.field(description="IANA name, e.g. Europe/Berlin")
    address: str = strawberry.field(default="", description="Where customers come: the location of its bookings' "
                                                            "invitations")
    phone: str = strawberry.field(default="", description="How customers reach the business, in its mail")


@strawberry.input
class CreateStaffInput:
    business_id: strawberry.ID
    name: str
    email: str
    time_zone: str


@strawberry.input(description="The priority a service gives one of the staff performing it.")
class StaffPriorityInput:
    staff_id: strawberry.ID
    priority: int = strawberry.field(description="0 to 100; higher is preferred")


@strawberry.input
class CreateServiceInput:
    business_id: strawberry.ID
    name: str
    duration_minutes: int
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    slot_step_minutes: int = 15
    minimum_notice_minutes: int = 0
    booking_horizon_days: int = 60
    colour: str = "#4f46e5"
    staff_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    reminder_hours: int = strawberry.field(default=24, description="Hours before a booking's start its customer is "
                                                                   "reminded by mail; 0: no reminder")
    assignment_policy: AssignmentPolicy = strawberry.field(
        default=AssignmentPolicy.FIRST_AVAILABLE, description="Who gets a booking that names no staff member")
    staff_priorities: list[StaffPriorityInput] = strawberry.field(
        default_factory=list, description="For the PRIORITY policy; each must be one of staffIds; unnamed staff have 0")
    price: MoneyInput | None = strawberry.field(default=None, description="Omit to show no price")
    description: str = strawberry.field(default="", description="At most 2000 characters")
    image_url: str = strawberry.field(default="", description="An https:// address of a picture of it")


@strawberry.input
class UpdateServiceInput:
    id: strawberry.ID
    name: str | None = None
    duration_minutes: int | None = None
    buffer_before_minutes: int | None = None
    buffer_after_minutes: int | None = None
    slot_step_minutes: int | None = None
    minimum_notice_minutes: int | None = None
    booking_horizon_days: int | None = None
    colour: str | None = None
    staff_ids: list[strawberry.ID] | None = None
    reminder_hours: int | None = None
    assignment_policy: AssignmentPolicy | None = None
    staff_priorities: list[StaffPriorityInput] | None = strawberry.field(
        default=None, description="Replaces every priority; each must perform the service (after this change); "
                                  "unnamed staff have 0")
    price: MoneyInput | None = strawberry.field(default=strawberry.UNSET, description="Left out: stays as it is; "
                                                                                         "null: no price any more")
    description: str | None = strawberry.field(default=None, description="\"\" clears it")
    image_url: str | None = strawberry.field(default=None, description="\"\" clears it")


@strawberry.input
class TimeRangeInput:
    start: str = strawberry.field(description="HH:MM in the staff member's zone")
    end: str = strawberry.field(description="HH:MM; 24:00 for the end of the day; an end before the start runs into "
                                            "the next day (22:00 to 06:00)")


@strawberry.input
class WeekdayHoursInput:
    weekday: Weekday
    ranges: list[TimeRangeInput]


@strawberry.input
class SetWorkingHoursInput:
    staff_id: strawberry.ID
    days: list[WeekdayHoursInput] = strawberry.field(description="Replaces all weekly hours; unlisted days are off")


@strawberry.input
class AddScheduleOverrideInput:
    staff_id: strawberry.ID
    date: date
    ranges: list[TimeRangeInput] = strawberry.field(description="Hours of that date; empty means closed")
    note: str = ""


@strawberry.input
class RemoveScheduleOverrideInput:
    id: strawberry.ID


@strawberry.input
class BlockTimeInput:
    staff_id: strawberry.ID
    starts_at: datetime
    ends_at: datetime
    title: str = ""


@strawberry.input
class RemoveBlockedTimeInput:
    id: strawberry.ID


@strawberry.input(description="Who a booking made by staff is for: an existing customer, or name and contact.")
class CustomerInput:
    user_id: strawberry.ID | None = None
    name: str = ""
    email: str = ""
    phone: str = ""


@strawberry.input
class CreateBookingInput:
    service_id: strawberry.ID
    starts_at: datetime
    staff_id: strawberry.ID | None = strawberry.field(default=None, description="Omit to book any free staff")
    customer: CustomerInput | None = strawberry.field(default=None, description="Staff and owners only")
    walk_in: bool = False
    customer_notes: str = ""
    merchant_notes: str = ""
    recurrence: str | None = strawberry.field(
        default=None,
        description="RRULE (DAILY, WEEKLY or MONTHLY; COUNT or UNTIL; at most 52 occurrences), in the staff zone",
    )


@strawberry.input
class RescheduleBookingInput:
    id: strawberry.ID
    starts_at: datetime
    staff_id: strawberry.ID | None = None


@strawberry.input
class CancelBookingInput:
    id: strawberry.ID
    scope: CancelScope = CancelScope.THIS_OCCURRENCE
    reason: str = strawberry.field(default="", description="Why, in a few words (told to an appointment provider "
                                                           "the booking came from); at most 500 characters")


@strawberry.input
class UpdateBookingNotesInput:
    id: strawberry.ID
    customer_notes: str | None = None
    merchant_notes: str | None = None


@strawberry.input
class BookingFilter:
    business_id: strawberry.ID | None = None
    staff_id: strawberry.ID | None = None
    from_: datetime | None = strawberry.field(default=None, name="from")
    to: datetime | None = None
    status: BookingStatus | None = None
