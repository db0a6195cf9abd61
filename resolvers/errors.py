"""Turning service failures into typed GraphQL errors, and IDs into primary keys."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from schema.enums import QuotaKind
from schema.errors import (
    AuthenticationFailed,
    BookingRefusal,
    BookingRefusalReason,
    BookingsRefused,
    MovedAtProviderOnly,
    NotAuthorized,
    NotFound,
    QuotaExceeded,
    ServiceArchived,
    SlotQueryTooLarge,
    SlotUnavailable,
    SlugTaken,
    StaffAlreadyJoined,
    StaffInactive,
    TooManyAttempts,
    TooManySlots,
    ValidationError,
)
from schema.ids import decode_id, encode_id
from services.errors import (
    AuthenticationError,
    BookingsRefusedError,
    InvalidInputError,
    MovedAtProviderOnlyError,
    NotAuthorizedError,
    NotFoundError,
    ServiceArchivedError,
    ServiceError,
    SlotQueryTooLargeError,
    SlotUnavailableError,
    SlugTakenError,
    StaffAlreadyJoinedError,
    StaffInactiveError,
    TooManyAttemptsError,
    TooManySlotsError,
)
from services.quotas import QuotaExceededError

P = ParamSpec("P")
R = TypeVar("R")


def to_typed_error(error: ServiceError) -> Any:
    if isinstance(error, InvalidInputError):
        return ValidationError.of([(problem.path, problem.message) for problem in error.problems])
    if isinstance(error, NotFoundError):
        return NotFound(message=error.message, path=[str(part) for part in error.path])
    if isinstance(error, SlotUnavailableError):
        return SlotUnavailable(message=error.message, unavailable_starts=error.starts)
    if isinstance(error, TooManyAttemptsError):
        return TooManyAttempts(message=error.message, retry_after_seconds=error.retry_after_seconds)
    if isinstance(error, SlotQueryTooLargeError):
        return SlotQueryTooLarge(message=error.message, cost=error.cost, budget_left=error.budget_left,
                                 max_cost=error.budget, staff_count=error.staff_count, days=error.days,
                                 starts_per_day=error.starts_per_day, max_days=error.max_days,
                                 max_staff=error.max_staff)
    if isinstance(error, TooManySlotsError):
        return TooManySlots(message=error.message, slot_count=error.slot_count, max_slots=error.max_slots,
                            max_days=error.max_days)
    if isinstance(error, AuthenticationError):
        return AuthenticationFailed(message=error.message)
    if isinstance(error, MovedAtProviderOnlyError):
        return MovedAtProviderOnly(message=error.message, reschedule_url=error.reschedule_url)
    if isinstance(error, QuotaExceededError):
        return QuotaExceeded(message=error.message, quota=QuotaKind(error.quota.value), limit=error.limit)
    if isinstance(error, NotAuthorizedError):
        return NotAuthorized(message=error.message)
    return _management_error(error)


def _management_error(error: ServiceError) -> Any:
    if isinstance(error, StaffInactiveError):
        return StaffInactive(message=error.message, path=[str(part) for part in error.path])
    if isinstance(error, ServiceArchivedError):
        return ServiceArchived(message=error.message, path=[str(part) for part in error.path])
    if isinstance(error, SlugTakenError):
        return SlugTaken(message=error.message, path=[str(part) for part in error.path], taken_slug=error.slug)
    if isinstance(error, StaffAlreadyJoinedError):
        return StaffAlreadyJoined(message=error.message)
    if isinstance(error, BookingsRefusedError):
        return BookingsRefused(message=error.message, refusals=[
            BookingRefusal(booking_id=encode_id("Booking", refusal.booking_id),
                           path=[str(part) for part in refusal.path], reason=BookingRefusalReason(refusal.reason),
                           message=refusal.message)
            for refusal in error.refusals])
    raise error


class BadUserInput(InvalidInputError):
    """Invalid arguments of a field whose answer cannot carry a ValidationError (`node`, `nodes`): a GraphQL error
    whose extensions say BAD_USER_INPUT, the first invalid argument's path, and every invalid field's."""

    @classmethod
    def of_error(cls, error: InvalidInputError) -> BadUserInput:
        return cls(error.path, error.message, more=error.problems[1:])

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": "BAD_USER_INPUT", "argumentPath": [str(part) for part in self.path],
                "fields": [{"path": [str(part) for part in problem.path], "message": problem.message}
                           for problem in self.problems]}


def typed_errors(resolver: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Expected failures become members of the field's result union; anything else stays an (masked) error."""

    @functools.wraps(resolver)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await resolver(*args, **kwargs)
        except ServiceError as error:
            return to_typed_error(error)  # type: ignore[no-any-return]

    return wrapper


def pk(value: str, type_name: str, path: list[str | int]) -> int:
    """The primary key behind a global ID of `type_name`. A malformed or foreign ID is a validation error; a
    well-formed one whose key no row can have is not found, exactly like a key that is free."""
    decoded = decode_id(value)
    if decoded is None or decoded.type_name != type_name:
        raise InvalidInputError(path, f"Not a {type_name} ID")
    if decoded.pk is None:
        raise NotFoundError(type_name, path)
    return decoded.pk


def optional_pk(value: str | None, type_name: str, path: list[str | int]) -> int | None:
    return None if value is None else pk(value, type_name, path)
