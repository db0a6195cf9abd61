"""What waited for a connection, and sending it at once when the connection works again.

Terms:
- *waiting* items: a connection's event mappings that still have to be written: pending ones (retrying on
  domain.retry's schedule, or just queued), and failed ones that were given up because the calendar stayed
  unreachable for a day (`failed_by_outage`), not because it refused the event.
- *undispatched* bookings: bookings whose outbox rows the scheduler has not turned into mappings yet (Redis or the
  scheduler was down). They are owed to the staff member's destination calendars all the same.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from tortoise.expressions import Q, Subquery

from domain.zones import load_zone
from models import (
    Booking,
    CalendarConnection,
    EventMapping,
    EventMappingState,
    ExternalCalendar,
    OutboxEntry,
    Staff,
    SyncDirection,
)

_LISTED = 10  # bookings named in a recovery notification; the rest are counted
MESSAGE_LIMIT = 500  # a stored notification's message (models.Notification)
# What follows a name in the listing: its start as recovery_message writes it, then the next entry, the count or
# the end. Matching the whole entry (not the name alone) leaves a longer name that begins with it alone.
_AFTER_NAME = r"(?= \S+ \d{2} \S+ \d{2}:\d{2}(?:, | and \d+ more$|$))"


def _waiting() -> Q:
    return Q(Q(state=EventMappingState.PENDING) | Q(state=EventMappingState.FAILED, failed_by_outage=True))


async def send_what_waited(connection_id: int, now: datetime, db: Any) -> list[int]:
    """Make every waiting item of the connection due now (the outage is over). Pending items keep their count of
    attempts, so one that keeps failing on its own still reaches its end; items given up to the outage start a
    fresh day. Returns the bookings (a series by its first occurrence) whose events waited, in booking order."""
    rows = await EventMapping.filter(_waiting(), external_calendar__connection_id=connection_id).using_db(
        db).values_list("id", "booking_id", "state")
    pending = [int(row[0]) for row in rows if row[2] == EventMappingState.PENDING]
    given_up = [int(row[0]) for row in rows if row[2] != EventMappingState.PENDING]
    await EventMapping.filter(id__in=pending).using_db(db).update(next_attempt_at=now)
    await EventMapping.filter(id__in=given_up).using_db(db).update(
        state=EventMappingState.PENDING, attempts=0, next_attempt_at=now, failed_by_outage=False)
    return sorted({int(row[1]) for row in rows})


async def recovery_message(staff_id: int, booking_ids: list[int], db: Any) -> str:
    """"Calendar sync is working again", and which bookings made meanwhile are on their way (in the staff member's
    own time zone)."""
    if not booking_ids:
        return "Calendar sync is working again"
    staff = await Staff.get(id=staff_id, using_db=db)
    zone = load_zone(staff.time_zone)
    bookings = await Booking.filter(id__in=booking_ids[:_LISTED]).using_db(db).order_by("starts_at")
    named = [f"{booking.customer_name} {booking.starts_at.astimezone(zone):%a %d %b %H:%M}" for booking in bookings]
    count = f"{len(booking_ids)} booking{'s' if len(booking_ids) != 1 else ''}"
    # As many names as fit the stored message whole (a name is at most 200 characters, so one always does): a name
    # cut off at the limit could not be found again to erase it (erase_listed_names).
    for shown in range(len(named), 0, -1):
        more = len(booking_ids) - shown
        listing = ", ".join(named[:shown]) + (f" and {more} more" if more else "")
        message = f"Calendar sync is working again; {count} made while it was down are being written: {listing}"
        if len(message) <= MESSAGE_LIMIT:
            return message
    return f"Calendar sync is working again; {count} made while it was down are being written"


def erase_listed_names(message: str, names: Iterable[str], label: str) -> str:
    """A recovery message (recovery_message) with each of `names` that is listed in it replaced by `label` (a
    customer who deleted their account), kept within MESSAGE_LIMIT."""
    for name in sorted(names, key=len, reverse=True):
        message = re.sub(rf"(?<=: |, ){re.escape(name)}{_AFTER_NAME}", lambda _: label, message)
    return message[:MESSAGE_LIMIT]


async def undispatched_bookings(connection: CalendarConnection) -> int:
    """Bookings of the connection's staff member with outbox rows still to dispatch, whose dispatch will make a
    new pending item at the connection's destination (a series counts once)."""
    writes = connection.direction != SyncDirection.IMPORT_ONLY
    if not writes or not await ExternalCalendar.filter(connection_id=connection.id, is_destination=True).exists():
        return 0
    # Only this staff member's bookings, chosen by the database: the outbox grows (to any size) exactly while the
    # scheduler or Redis is down, which is when health is read most.
    undispatched = OutboxEntry.filter(processed_at=None).values("aggregate_id")
    rows = await Booking.filter(staff_id=connection.staff_id, id__in=Subquery(undispatched)).values_list(
        "id", "series_id")
    if not rows:
        return 0
    # Counted elsewhere already (pending, failed) or not to be written (an open conflict, unlinked): only a booking
    # without an item here, or with a synced one, becomes a new pending item when its outbox row is dispatched.
    counted = set(cast(list[int], await EventMapping.filter(
        ~Q(state=EventMappingState.SYNCED), external_calendar__connection_id=connection.id).values_list(
        "booking_id", flat=True)))
    series_ids = sorted({int(series) for _, series in rows if series is not None})
    first_of_series: dict[int, int] = {}
    for booking_id, series_id in await Booking.filter(series_id__in=series_ids).order_by(
            "-occurrence_index").values_list("id", "series_id"):
        first_of_series[int(series_id)] = int(booking_id)  # ordered last to first: the first occurrence stays
    anchors = {first_of_series[int(series)] if series is not None else int(booking) for booking, series in rows}
    return len(anchors - counted)
