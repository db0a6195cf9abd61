"""Typed errors returned inside mutation (and some query) result unions. Their messages are safe to show."""

from __future__ import annotations

from datetime import datetime

import strawberry

from schema.enums import QuotaKind
from schema.sync_enums import ConnectionProblem


@strawberry.interface(description="An expected failure the client can act on.")
class UserError:
    message: str


@strawberry.type(description="An input field is invalid; `path` names it, e.g. [\"input\", \"days\", \"0\", \"end\"].")
class ValidationError(UserError):
    path: list[str]


@strawberry.type(description="The viewer may not do this (or is not signed in, or the access token expired).")
class NotAuthorized(UserError):
    pass


@strawberry.type(description="A referenced object does not exist or is not visible to the viewer.")
class NotFound(UserError):
    path: list[str]


@strawberry.type(description="The requested time is not bookable. It never says why (privacy).")
class SlotUnavailable(UserError):
    unavailable_starts: list[datetime]


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


@strawberry.type(description="The account already has as many of this as its quota allows (`limit`); nothing was "
                             "created. Remove one first, or ask for a higher quota.")
class QuotaExceeded(UserError):
    quota: QuotaKind
    limit: int
