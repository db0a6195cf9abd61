"""Errors a use case reports to its caller. The GraphQL layer turns each into a typed error result.

Field paths name the GraphQL input fields (camelCase), so a front end can show a message next to the right field.
"""

from __future__ import annotations

from collections.abc import Sequence
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


class InvalidInputError(ServiceError):
    def __init__(self, path: Sequence[str | int], message: str) -> None:
        super().__init__(message)
        self.path = list(path)


class SlotUnavailableError(ServiceError):
    """The requested time cannot be booked. Deliberately says nothing about why (privacy)."""

    def __init__(self, starts: Sequence[datetime]) -> None:
        super().__init__("That time is not available")
        self.starts = list(starts)


class AuthenticationError(ServiceError):
    pass


class TooManyAttemptsError(ServiceError):
    """Too many failed attempts from this client or on this account; the next may come in `retry_after_seconds`."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"Too many attempts; try again in {retry_after_seconds} seconds")
        self.retry_after_seconds = retry_after_seconds
