"""How much one self-service account may set up, and the bounds of every list a request may carry.

A quota caps what an account accumulates (businesses per owner, staff and services per business); a list bound caps
what one request carries (ranges of one day, staff of one service). Both keep the work of any later request bounded:
a slot query walks every staff member and every working range of the business it asks about.
"""

from __future__ import annotations

from collections.abc import Sized
from dataclasses import dataclass
from enum import Enum

from services.errors import InvalidInputError, ServiceError
from services.validation import Path

DAYS_PER_WEEK = 7
# markNotificationsRead: one screen of notifications (the notifications query answers at most 100 too).
MAX_NOTIFICATIONS_PER_REQUEST = 100
# nodes(ids): a screen's worth of objects to refetch, as many as a page of any list holds.
MAX_NODES_PER_REQUEST = 100


class Quota(Enum):
    BUSINESSES_PER_OWNER = "businesses_per_owner"
    STAFF_PER_BUSINESS = "staff_per_business"
    SERVICES_PER_BUSINESS = "services_per_business"


@dataclass(frozen=True)
class Quotas:
    """The quotas in force (from the settings); the defaults are the settings' defaults."""

    businesses_per_owner: int = 5
    staff_per_business: int = 50
    services_per_business: int = 50
    ranges_per_day: int = 8

    def limit(self, quota: Quota) -> int:
        return int(getattr(self, quota.value))


DEFAULT_QUOTAS = Quotas()


class QuotaExceededError(ServiceError):
    """The account already has as many of something as its quota allows; nothing was created."""

    def __init__(self, quota: Quota, limit: int, what: str) -> None:
        super().__init__(f"The limit is {limit} {what}; remove one before adding another")
        self.quota = quota
        self.limit = limit


def check_quota(quota: Quota, quotas: Quotas, existing: int, what: str) -> None:
    """Refuse one more when `existing` already reaches the quota."""
    limit = quotas.limit(quota)
    if existing >= limit:
        raise QuotaExceededError(quota, limit, what)


def at_most(items: Sized, maximum: int, path: Path, what: str) -> None:
    """A list bound: checked on the list's length before anything looks at its items."""
    if len(items) > maximum:
        raise InvalidInputError(path, f"Give at most {maximum} {what}")
