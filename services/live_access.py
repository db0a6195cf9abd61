"""Who may subscribe to what, and what a delivered event shows them.

The rules are those of the matching queries: bookings and their changes are the business's (owner and staff), and
each customer's own (subscribing with neither a business nor a staff member; they see their bookings as the
`bookings` query shows a customer, and no one else's); sync health is the calendar
manager's (the owner, or the staff member themself; a whole business's health is the owner's); availability is
public, like `availableSlots`; notifications are the viewer's own. Each function returns the topics to listen on
(services.live) or raises the same errors as the query.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence

from models import Booking, CalendarConnection, Notification, Service, Staff
from services import live
from services.access import require_member, require_owner, require_signed_in
from services.auth import Viewer
from services.errors import InvalidInputError, NotFoundError
from services.live import topic
from services.sync_queries import managed_staff


def _exactly_one(first: tuple[str, int | None], second: tuple[str, int | None]) -> None:
    if (first[1] is None) == (second[1] is None):
        raise InvalidInputError([first[0]], f"Give either {first[0]} or {second[0]}")


async def _staff(staff_id: int, path: str) -> Staff:
    staff = await Staff.get_or_none(id=staff_id)
    if staff is None:
        raise NotFoundError("Staff", [path])
    return staff


async def booking_topics(viewer: Viewer, business_id: int | None, staff_id: int | None) -> list[str]:
    if business_id is None and staff_id is None:
        return [topic("booking", "customer", require_signed_in(viewer))]  # the viewer's own, as a customer
    _exactly_one(("businessId", business_id), ("staffId", staff_id))
    require_signed_in(viewer)
    if staff_id is not None:
        staff = await _staff(staff_id, "staffId")
        await require_member(viewer, staff.business_id)
        return [topic("booking", "staff", staff.id)]
    assert business_id is not None
    await require_member(viewer, business_id)
    return [topic("booking", "business", business_id)]


async def availability_topics(staff_id: int | None, service_id: int | None) -> list[str]:
    """Anyone may follow availability. A service's subscribers follow the staff who perform it when they subscribe
    (a staff member added to the service later is not followed until they subscribe again)."""
    _exactly_one(("staffId", staff_id), ("serviceId", service_id))
    if staff_id is not None:
        staff = await _staff(staff_id, "staffId")
        return [topic("availability", "staff", staff.id)]
    service = await Service.get_or_none(id=service_id).prefetch_related("staff")
    if service is None:
        raise NotFoundError("Service", ["serviceId"])
    return [topic("availability", "service", service.id),
            *(topic("availability", "staff", staff.id) for staff in service.staff)]


async def health_topics(viewer: Viewer, staff_id: int | None, business_id: int | None) -> list[str]:
    _exactly_one(("staffId", staff_id), ("businessId", business_id))
    if staff_id is not None:
        staff = await managed_staff(viewer, staff_id, ["staffId"])
        return [topic("health", "staff", staff.id)]
    assert business_id is not None
    await require_owner(viewer, business_id)
    return [topic("health", "business", business_id)]


def notification_topics(viewer: Viewer) -> list[str]:
    return [topic("notifications", "user", require_signed_in(viewer))]


# Reads shared by every subscriber of one event, newest last. Keyed by the event object's identity (kept alive by
# the entry, so the id cannot be reused), never by its value: two equal events published apart must each be read.
_booking_reads: OrderedDict[int, tuple[live.BookingsChanged, asyncio.Future[Sequence[Booking]]]] = OrderedDict()
_SHARED_READS = 64


async def changed_bookings(event: live.BookingsChanged) -> Sequence[Booking]:
    """The bookings an event names, as they are now (only members of the business subscribe to these, and all of
    them see the same rows, so the result does not depend on the viewer).

    Read once per event and API process, however many subscribers it reaches: the hub hands the same event object
    to every subscriber, and one read per subscriber made the fan-out of a single booking to 200 clients cost 200
    queries (bench/live_latency.py). The rows are shared: callers must not change them."""
    entry = _booking_reads.get(id(event))
    if entry is None or entry[0] is not event:
        entry = (event, asyncio.ensure_future(_read_bookings(event)))
        _booking_reads[id(event)] = entry
        while len(_booking_reads) > _SHARED_READS:
            _booking_reads.popitem(last=False)
    try:
        # Shielded: a subscriber that goes away mid-read must not cancel the read the others are waiting for.
        return await asyncio.shield(entry[1])
    except BaseException:
        read = entry[1]
        failed = read.done() and (read.cancelled() or read.exception() is not None)
        if failed and _booking_reads.get(id(event)) is entry:
            del _booking_reads[id(event)]  # a failed read is not kept: the next subscriber tries again
        raise


def customers_own(rows: Sequence[Booking], viewer: Viewer) -> list[Booking]:
    """Of an event's bookings, those of the viewer as a customer."""
    own = require_signed_in(viewer)
    return [row for row in rows if row.customer_id == own]


async def _read_bookings(event: live.BookingsChanged) -> Sequence[Booking]:
    return tuple(await Booking.filter(id__in=list(event.booking_ids), business_id=event.business_id).order_by(
        "starts_at", "id"))


async def changed_connection(event: live.SyncHealthChanged) -> CalendarConnection | None:
    return await CalendarConnection.get_or_none(id=event.connection_id, staff_id=event.staff_id)


async def last_notification_id(viewer: Viewer) -> int:
    latest = await Notification.filter(user_id=require_signed_in(viewer)).order_by("-id").first()
    return latest.id if latest is not None else 0


async def notifications_after(viewer: Viewer, after_id: int) -> Sequence[Notification]:
    """The viewer's notifications newer than `after_id`, oldest first."""
    return await Notification.filter(user_id=require_signed_in(viewer), id__gt=after_id).order_by("id")
