"""Cancelling many bookings at once, all or nothing (a calendar view's "select several; cancel").

Every booking listed is checked first, as a single cancel would check it: the viewer must see it (else it counts as
not found, exactly like a booking that does not exist), and a customer may cancel only their own bookings that have
not started. One that fails is named, with its place in the list, and then nothing is cancelled. Otherwise all of
them are cancelled in one transaction by the single cancel's own steps (services.bookings.cancel_confirmed: staff
locks, versions, outbox rows, mail, customer notices), and live events follow the commit. A booking that is already
cancelled stays as it is (cancelling twice changes nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from models import Booking, BookingStatus
from services import validation
from services.access import is_member, require_signed_in
from services.auth import Viewer
from services.bookings import cancel_confirmed
from services.errors import BookingRefusal, BookingsRefusedError, InvalidInputError
from services.quotas import at_most
from services.transactions import committed

MAX_BOOKINGS_PER_CANCEL = 100
NOT_FOUND = "not_found"
NOT_AUTHORIZED = "not_authorized"


async def cancel_bookings(viewer: Viewer, booking_ids: Sequence[int], now: datetime, *,
                          reason: str = "") -> list[Booking]:
    """Cancel every booking of `booking_ids` (each one occurrence), or none: BookingsRefusedError names each that
    cannot be cancelled. Returns the bookings in the order asked."""
    require_signed_in(viewer)
    at_most(booking_ids, MAX_BOOKINGS_PER_CANCEL, ["input", "ids"], "bookings")
    if not booking_ids:
        raise InvalidInputError(["input", "ids"], "Name at least one booking")
    for index, booking_id in enumerate(booking_ids):
        if booking_id in booking_ids[:index]:
            raise InvalidInputError(["input", "ids", index], "This booking is listed twice")
    clean_reason = validation.text(reason, ["input", "reason"], max_length=500, required=False)
    found = {row.id: row for row in await Booking.filter(id__in=list(booking_ids))}
    member: dict[int, bool] = {}
    refusals = []
    for index, booking_id in enumerate(booking_ids):
        row = found.get(booking_id)
        if row is not None and row.business_id not in member:
            member[row.business_id] = await is_member(viewer, row.business_id)
        refusal = _refusal(viewer, row, member, now)
        if refusal is not None:
            refusals.append(BookingRefusal(booking_id, ["input", "ids", index], *refusal))
    if refusals:
        raise BookingsRefusedError(refusals)
    async with committed() as db:
        for business_id in sorted(member):
            ids = [row.id for row in found.values() if row.business_id == business_id]
            # One business at a time: its customers' notices and the live events name that business.
            await cancel_confirmed(Booking.filter(id__in=ids), now, customer_rules=not member[business_id], db=db,
                                   reason=clean_reason)
    rows = {row.id: row for row in await Booking.filter(id__in=list(booking_ids))}
    return [rows[booking_id] for booking_id in booking_ids]


def _refusal(viewer: Viewer, row: Booking | None, member: dict[int, bool],
             now: datetime) -> tuple[str, str] | None:
    """Why the viewer may not cancel `row` (reason and message), or None when they may."""
    if row is None or not (member[row.business_id] or row.customer_id == viewer.user_id):
        return NOT_FOUND, "Booking not found"
    if not member[row.business_id] and row.status == BookingStatus.CONFIRMED and row.starts_at <= now:
        return NOT_AUTHORIZED, "This booking has already started; contact the business to change it"
    return None
