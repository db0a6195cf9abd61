"""The journal: a staff member's bookings, imported busy time and blocked time as one list of calendar events, each
with a status and the colour that status is shown in.

Terms:
- *calendar event*: one entry of the journal: a booking, a busy block imported from a connected calendar, or time
  blocked by hand.
- *status*: what the entry's time is now. A booking is CONFIRMED until it ends, then COMPLETED; CANCELLED once
  cancelled. An imported block is CONFIRMED, or TENTATIVE when it stands for a tentative event (one that blocks only
  because its connection lets tentative events block). Either is PENDING while an appointment provider is moving
  it: the provider cancelled its time as one half of a reschedule, and the new time has not arrived yet (the time
  stays held meanwhile).
- *status colour*: the journal's scheme: confirmed blue, tentative and pending yellow, cancelled red, completed
  green.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum


class EventKind(StrEnum):
    BOOKING = "booking"
    BUSY_BLOCK = "busy_block"  # imported from a connected calendar
    BLOCKED_TIME = "blocked_time"  # typed in by hand


class EventStatus(StrEnum):
    CONFIRMED = "confirmed"
    TENTATIVE = "tentative"
    PENDING = "pending"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


BLUE = "#2563eb"
YELLOW = "#eab308"
RED = "#dc2626"
GREEN = "#16a34a"

_COLOURS = {
    EventStatus.CONFIRMED: BLUE,
    EventStatus.TENTATIVE: YELLOW,
    EventStatus.PENDING: YELLOW,
    EventStatus.CANCELLED: RED,
    EventStatus.COMPLETED: GREEN,
}


def wanted_statuses(statuses: Iterable[EventStatus] | None, include_cancelled: bool) -> frozenset[EventStatus]:
    """The statuses a journal filter asks for: those listed (every one but CANCELLED when none are listed), plus
    CANCELLED when `include_cancelled`."""
    wanted = frozenset(EventStatus) - {EventStatus.CANCELLED} if statuses is None else frozenset(statuses)
    return wanted | {EventStatus.CANCELLED} if include_cancelled else wanted


def status_colour(status: EventStatus) -> str:
    """The colour ("#rrggbb") an entry of `status` is shown in."""
    return _COLOURS[status]


def booking_status(*, cancelled: bool, ends_at: datetime, now: datetime, moving: bool) -> EventStatus:
    """A booking's status at `now`. `moving`: its appointment provider is moving it (see the module's terms).
    Cancelled wins over everything, and a booking that has ended is completed, whatever was still moving it."""
    if cancelled:
        return EventStatus.CANCELLED
    if ends_at <= now:
        return EventStatus.COMPLETED
    return EventStatus.PENDING if moving else EventStatus.CONFIRMED


def block_status(*, tentative: bool, moving: bool) -> EventStatus:
    """A busy block's status (blocked time is never tentative nor moving: it is CONFIRMED)."""
    if moving:
        return EventStatus.PENDING
    return EventStatus.TENTATIVE if tentative else EventStatus.CONFIRMED
