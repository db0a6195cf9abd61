"""Typed errors returned inside mutation (and some query) result unions. Their messages are safe to show."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum

import strawberry

from schema.enums import QuotaKind
from schema.sync_enums import ConnectionProblem, PreviewProblem


@strawberry.interface(description="An expected failure the client can act on.")
class UserError:
    message: str


@strawberry.type(description="One invalid input field: `path` names it, e.g. [\"input\", \"days\", \"0\", \"end\"], "
                             "and `message` says what to change.")
class FieldError:
    path: list[str]
    message: str


@strawberry.type(description="The input is invalid. `fields` lists every invalid field, in the order they were "
                             "checked; `message` and `path` are the first one's (`path` names it, e.g. [\"input\", "
                             "\"days\", \"0\", \"end\"]).")
class ValidationError(UserError):
    path: list[str]
    fields: list[FieldError]

    @classmethod
    def of(cls, problems: Sequence[tuple[Sequence[str | int], str]]) -> ValidationError:
        """The error of these (path, message) problems, the first one first."""
        fields = [FieldError(path=[str(part) for part in path], message=message) for path, message in problems]
        return cls(message=fields[0].message, path=fields[0].path, fields=fields)


@strawberry.type(description="The viewer may not do this (or is not signed in, or the access token expired).")
class NotAuthorized(UserError):
    pass


@strawberry.type(description="A referenced object does not exist or is not visible to the viewer.")
class NotFound(UserError):
    path: list[str]


@strawberry.type(description="The requested time is not bookable. It never says why (privacy).")
class SlotUnavailable(UserError):
    unavailable_starts: list[datetime]


@strawberry.type(description="The booking came from an appointment provider that cannot be told a new time: it is "
                             "rescheduled there, at `rescheduleUrl`, and Lockstep follows.")
class MovedAtProviderOnly(UserError):
    reschedule_url: str


@strawberry.type(description="Email and password, or the refresh token, were not accepted.")
class AuthenticationFailed(UserError):
    pass


@strawberry.type(description="Too many failed attempts from this client or on this account; nothing was checked. "
                             "Try again after `retryAfterSeconds`.")
class TooManyAttempts(UserError):
    retry_after_seconds: int


@strawberry.type(description="The calendar account could not be connected; `problem` says why.")
class ConnectionCheckFailed(UserError):
    problem: ConnectionProblem


@strawberry.type(description="The connection's calendars could not be read live; `problem` says why, and "
                             "`retryAfterSeconds` how long to wait when the provider limited the rate and said so. "
                             "Nothing was changed.")
class ConnectionPreviewFailed(UserError):
    problem: PreviewProblem
    retry_after_seconds: int | None


@strawberry.type(description="The account already has as many of this as its quota allows (`limit`); nothing was "
                             "created. Remove one first, or ask for a higher quota.")
class QuotaExceeded(UserError):
    quota: QuotaKind
    limit: int


@strawberry.type(description="A slot query would check more start times than one request may (staff x days x starts "
                             "a day, every availableSlots selection of the request together). Narrow it: ask for at "
                             "most `maxDays` days, or at most `maxStaff` staff.")
class SlotQueryTooLarge(UserError):
    cost: int = strawberry.field(description="Start times this selection would check")
    budget_left: int = strawberry.field(description="Start times this request could still check")
    max_cost: int = strawberry.field(description="Start times one request may check in all")
    staff_count: int
    days: int
    starts_per_day: int
    max_days: int = strawberry.field(description="Days that fit with the same staff (0: none)")
    max_staff: int = strawberry.field(description="Staff that fit over the same days (0: none)")


@strawberry.type(description="The answer would hold more slots than one response may: ask for at most `maxDays` "
                             "days, or fewer staff.")
class TooManySlots(UserError):
    slot_count: int
    max_slots: int
    max_days: int = strawberry.field(description="Days whose slots would fit, judged from this answer's slots per "
                                                 "day (0: fewer staff are needed)")


@strawberry.type(description="The staff member named (at `path`) was deactivated and takes no bookings; choose "
                             "another, or leave the staff out to book anyone free.")
class StaffInactive(UserError):
    path: list[str]


@strawberry.type(description="The service (at `path`) was archived: it is no longer offered.")
class ServiceArchived(UserError):
    path: list[str]


@strawberry.type(description="Another business already has this public slug; nothing changed. Choose another.")
class SlugTaken(UserError):
    path: list[str]
    taken_slug: str


@strawberry.type(description="The staff member has already joined: they sign in with their own account, and there "
                             "is no invitation to send.")
class StaffAlreadyJoined(UserError):
    pass


@strawberry.enum(description="Why one booking of a bulk change was refused.")
class BookingRefusalReason(Enum):
    NOT_FOUND = "not_found"
    NOT_AUTHORIZED = "not_authorized"


@strawberry.type(description="One booking a bulk change could not change.")
class BookingRefusal:
    booking_id: strawberry.ID = strawberry.field(description="The booking ID as it was given")
    path: list[str] = strawberry.field(description="Where it was given, e.g. [\"input\", \"ids\", \"3\"]")
    reason: BookingRefusalReason
    message: str


@strawberry.type(description="A bulk change was refused as a whole, and nothing changed: `refusals` names every "
                             "booking that could not be changed. Leave those out and send it again.")
class BookingsRefused(UserError):
    refusals: list[BookingRefusal]
