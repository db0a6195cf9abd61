"""One entry of the journal by the key of its booking or block, exactly as calendarEvents shows it to the viewer:
what `node` answers for an entry's own ID.

The rule is the journal's own: the entry's staff member must be one whose journal the viewer may read (the business
owner, or the staff member themself: services.journal.journal_staff), and the row must be one the journal lists in
some window (services.journal's listed_bookings and listed_blocks: so a dropped duplicate is not found while it
stays hidden). The entry is built by services.journal.entries_of, with the same titles, status and sync states. Any
other row raises NotFoundError or NotAuthorizedError, like a missing one.
"""

from __future__ import annotations

from datetime import datetime

from models import Booking, BusyBlock
from services.auth import Viewer
from services.duplicate_facts import span_of
from services.errors import NotFoundError
from services.journal import EVERY_ENTRY, JournalEntry, entries_of, journal_staff, listed_blocks, listed_bookings

_MISSING = "Calendar event"
_PATH = ["id"]


async def booking_entry(viewer: Viewer, booking_id: int, now: datetime) -> JournalEntry:
    """The journal's entry of this booking, as the viewer is shown it."""
    row = await Booking.get_or_none(id=booking_id)
    if row is None:
        raise NotFoundError(_MISSING, _PATH)
    staff = await journal_staff(viewer, row.staff_id, None)
    listed = await listed_bookings([row.staff_id], span_of(row), EVERY_ENTRY, now).filter(
        id=booking_id).select_related("service").first()
    if listed is None:
        raise NotFoundError(_MISSING, _PATH)
    return (await entries_of(viewer, staff, [listed], now))[0]


async def block_entry(viewer: Viewer, block_id: int, now: datetime) -> JournalEntry:
    """The journal's entry of this busy block or blocked time, as the viewer is shown it."""
    row = await BusyBlock.get_or_none(id=block_id)
    if row is None:
        raise NotFoundError(_MISSING, _PATH)
    staff = await journal_staff(viewer, row.staff_id, None)
    listed = await (await listed_blocks([row.staff_id], span_of(row), EVERY_ENTRY)).filter(
        id=block_id).select_related("external_calendar__connection").first()
    if listed is None:
        raise NotFoundError(_MISSING, _PATH)
    return (await entries_of(viewer, staff, [listed], now))[0]
