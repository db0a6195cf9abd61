"""Telling a customer, in their own notifications, that the business changed their booking: moved it or cancelled
it (from the business's app, or by a hand edit of its event in the staff member's calendar that sync followed). A
change the customer made themself tells them nothing: they know. Bookings of walk-ins and guests (no account) get
no notification; their mail (services.booking_mail) is how they hear."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.zones import load_zone
from models import Booking, Business, Notification

MOVED = "booking_moved"
CANCELLED = "booking_cancelled"


async def tell_customers(kind: str, bookings: Sequence[Booking], db: Any) -> list[int]:
    """Store a notification of `kind` (MOVED or CANCELLED) for each customer account among the bookings, inside
    the caller's transaction; returns the users notified (the caller announces them after its commit)."""
    own = [booking for booking in bookings if booking.customer_id is not None]
    if not own:
        return []
    business = await Business.get(id=own[0].business_id, using_db=db)
    zone = load_zone(business.time_zone)
    rows = []
    for booking in own:
        when = booking.starts_at.astimezone(zone).strftime("%a %d %b %Y, %H:%M")
        said = (f"{business.name} moved your booking to {when}" if kind == MOVED
                else f"{business.name} cancelled your booking of {when}")
        rows.append(Notification(user_id=booking.customer_id, kind=kind, message=said[:500],
                                 data={"bookingId": booking.id, "startsAt": booking.starts_at.isoformat()}))
    await Notification.bulk_create(rows, using_db=db)
    return sorted({int(str(booking.customer_id)) for booking in own})
