"""GraphQL enums. Values mirror the model enums so conversion is by value."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum
class Role(Enum):
    OWNER = "owner"
    STAFF = "staff"
    CUSTOMER = "customer"


@strawberry.enum
class SignUpRole(Enum):
    """Staff accounts come from an invitation (acceptStaffInvite), not from sign-up."""

    OWNER = "owner"
    CUSTOMER = "customer"


@strawberry.enum
class BookingStatus(Enum):
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


@strawberry.enum
class CancelScope(Enum):
    THIS_OCCURRENCE = "this"
    THIS_AND_FOLLOWING = "following"


@strawberry.enum(description="Who gets a booking that names no staff member, among the staff performing the "
                             "service who are free at its time: FIRST_AVAILABLE the first of them as listed; "
                             "ROUND_ROBIN the one assigned a booking of this service least recently; BALANCED the "
                             "one with the fewest bookings of this service in the seven days centred on the "
                             "booking's start; PRIORITY the one of highest priority (staffPriorities), ties broken "
                             "as BALANCED. See docs/assignment.md.")
class AssignmentPolicy(Enum):
    FIRST_AVAILABLE = "first_available"
    ROUND_ROBIN = "round_robin"
    BALANCED = "balanced"
    PRIORITY = "priority"


@strawberry.enum
class Weekday(Enum):
    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6


@strawberry.enum
class ScheduleEntryKind(Enum):
    BOOKING = "booking"
    BUSY = "busy"


@strawberry.enum(description="What a self-service account may only have so many of.")
class QuotaKind(Enum):
    BUSINESSES_PER_OWNER = "businesses_per_owner"
    STAFF_PER_BUSINESS = "staff_per_business"
    SERVICES_PER_BUSINESS = "services_per_business"
