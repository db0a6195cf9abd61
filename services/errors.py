"""Errors a use case reports to its caller. The GraphQL layer turns each into a typed error result.

Field paths name the GraphQL input fields (camelCase), so a front end can show a message next to the right field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


class ServiceError(Exception):
    """Base of every expected failure of a use case; its message is safe to show to the caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAuthorizedError(ServiceError):
    pass


class NotFoundError(ServiceError):
    def __init__(self, kind: str, path: Sequence[str | int] = ()) -> None:
        super().__init__(f"{kind} not found")
        self.kind = kind
        self.path = list(path)


@dataclass(frozen=True)
class FieldProblem:
    """One invalid input field: its path (e.g. ("input", "days", 0, "end")) and what to change."""

    path: tuple[str | int, ...]
    message: str


class InvalidInputError(ServiceError):
    """The input is invalid. `problems` lists every invalid field found, in the order they were checked; `path` and
    `message` are the first's."""

    def __init__(self, path: Sequence[str | int], message: str, *, more: Sequence[FieldProblem] = ()) -> None:
        super().__init__(message)
        self.path = list(path)
        self.problems = [FieldProblem(tuple(path), message), *more]

    @classmethod
    def of(cls, problems: Sequence[FieldProblem]) -> InvalidInputError:
        first, *rest = problems
        return cls(first.path, first.message, more=rest)


class SlotUnavailableError(ServiceError):
    """The requested time cannot be booked. Deliberately says nothing about why (privacy)."""

    def __init__(self, starts: Sequence[datetime]) -> None:
        super().__init__("That time is not available")
        self.starts = list(starts)


class MovedAtProviderOnlyError(ServiceError):
    """The booking came from an appointment provider (Calendly) whose API cannot move an appointment: the invitee
    moves it there, at `reschedule_url`, and the change then reaches Lockstep by itself."""

    def __init__(self, provider_label: str, reschedule_url: str) -> None:
        super().__init__(f"This booking was made in {provider_label}, which cannot be told a new time; reschedule "
                         f"it there (the invitee's reschedule link), and Lockstep follows")
        self.reschedule_url = reschedule_url


class AuthenticationError(ServiceError):
    pass


class TooManyAttemptsError(ServiceError):
    """Too many failed attempts from this client or on this account; the next may come in `retry_after_seconds`."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"Too many attempts; try again in {retry_after_seconds} seconds")
        self.retry_after_seconds = retry_after_seconds


def _days(count: int) -> str:
    return "1 day" if count == 1 else f"{count} days"


class SlotQueryTooLargeError(ServiceError):
    """A slot query would cost more than the request has left (see domain.slot_cost); says how to narrow it."""

    def __init__(self, cost: int, budget_left: int, budget: int, staff_count: int, days: int, starts_per_day: int,
                 max_days: int, max_staff: int) -> None:
        spent = budget - budget_left
        earlier = f" ({spent:,} already spent by this request's other slot queries)" if spent else ""
        fits = [f"at most {_days(max_days)}" if max_days else "", f"at most {max_staff} staff" if max_staff else ""]
        advice = " or ".join(part for part in fits if part) or "fewer slot queries in one request"
        super().__init__(f"This slot query would check {cost:,} start times ({staff_count} staff x {days} days x "
                         f"{starts_per_day} starts a day); a request may check {budget:,}{earlier}. "
                         f"Ask for {advice}.")
        self.cost, self.budget_left, self.budget = cost, budget_left, budget
        self.staff_count, self.days, self.starts_per_day = staff_count, days, starts_per_day
        self.max_days, self.max_staff = max_days, max_staff


class TooManySlotsError(ServiceError):
    """The answer would hold more slots than one response may; `max_days` days would fit."""

    def __init__(self, slot_count: int, max_slots: int, max_days: int) -> None:
        advice = f"at most {_days(max_days)} or fewer staff" if max_days else "fewer staff or a shorter window"
        super().__init__(f"This query has {slot_count:,} slots; one answer holds at most {max_slots:,}. "
                         f"Ask for {advice}.")
        self.slot_count, self.max_slots, self.max_days = slot_count, max_slots, max_days


class StaffInactiveError(ServiceError):
    """The staff member named was deactivated: they take no new bookings (or new times) until reactivated."""

    def __init__(self, path: Sequence[str | int]) -> None:
        super().__init__("This staff member is not taking bookings")
        self.path = list(path)


class ServiceArchivedError(ServiceError):
    """The service was archived: it is no longer offered, so it has no slots and takes no new bookings."""

    def __init__(self, path: Sequence[str | int]) -> None:
        super().__init__("This service is no longer offered")
        self.path = list(path)


class SlugTakenError(ServiceError):
    """Another business already has the public slug asked for."""

    def __init__(self, slug: str, path: Sequence[str | int]) -> None:
        super().__init__(f"Another business already uses {slug!r}; choose another")
        self.slug = slug
        self.path = list(path)


class StaffAlreadyJoinedError(ServiceError):
    """The staff member already accepted their invitation: they sign in with their own account, and no code is
    needed any more."""

    def __init__(self) -> None:
        super().__init__("This staff member has already joined; they sign in with their own account")


@dataclass(frozen=True)
class BookingRefusal:
    """Why one booking of a bulk request cannot be changed: `reason` is "not_found" (absent, or not the viewer's)
    or "not_authorized" (the viewer may see it, but not change it now); `path` names the input item."""

    booking_id: int
    path: list[str | int]
    reason: str
    message: str


class BookingsRefusedError(ServiceError):
    """A bulk change was refused as a whole: nothing changed. `refusals` names every booking that could not be
    changed."""

    def __init__(self, refusals: Sequence[BookingRefusal]) -> None:
        count = len(refusals)
        super().__init__(f"{count} of the bookings cannot be changed, so none was" if count != 1
                         else "1 of the bookings cannot be changed, so none was")
        self.refusals = list(refusals)
