"""Erasing a customer from the business's records when they delete their account (services.profile): their bookings
become anonymous, and so does every stored text that copied their name for someone else to read.

Terms:
- *anonymous booking*: the booking with the customer's name replaced by a label ("Former customer") and no email,
  phone or notes; it keeps its times, service and staff member, for the business's history.
- *shown in a calendar*: a booking whose event Lockstep wrote (it has an event mapping, or its series has) or may
  still write (it is confirmed and has not ended). Its event holds the customer's name and contact details (the
  summary and description of jobs.booking_events), so it gets a new version and an outbox row like any other change
  of its details, and the next push rewrites the event without them. An event the staff member unlinked, or one in
  a calendar no longer connected, is no longer Lockstep's to rewrite.
- *staff notices*: what staff members and owners keep that names customers: the notifications "sync working again"
  (services.sync_recovery lists bookings by customer name and time) and their mail (services.notification_mail,
  one line per booking), sent or not. The customer's names (each booking's copy) are replaced by the label there.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F

from domain.mail import MailKind
from models import Booking, BookingStatus, Business, EventMapping, MailOutbox, Notification, OutboxEntry, Staff
from services.locks import hold_staff
from services.notification_mail import erase_line_names
from services.sync_recovery import erase_listed_names

RECOVERED = MailKind.SYNC_RECOVERED.value  # the notification kind and the mail kind that list bookings by name


async def anonymise_bookings(customer_id: int, label: str, now: datetime, db: BaseDBAsyncClient) -> list[Booking]:
    """Make every booking of the customer anonymous, in the caller's transaction, and owe a push to the calendars
    showing them; the staff notices naming them follow. Returns the bookings as they are now (to announce once the
    transaction has committed)."""
    bookings = await Booking.filter(customer_id=customer_id).using_db(db)
    if not bookings:
        return []
    # The lock order (services.locks): staff members before rows. A booking being moved meanwhile is then moved
    # before or after this, never half way.
    for staff_id in sorted({booking.staff_id for booking in bookings}):
        await hold_staff(staff_id, db)
    bookings = await Booking.filter(customer_id=customer_id).using_db(db)
    shown = await _shown_in_calendars(bookings, now, db)
    await _erase_from_staff_notices(bookings, label, db)
    ids = [booking.id for booking in bookings]
    # Every row changes, so every row gets a new version: a client holding a booking sees it is not what it was.
    await Booking.filter(id__in=ids).using_db(db).update(
        customer_id=None, customer_name=label, customer_email="", customer_phone="", customer_notes="",
        version=F("version") + 1)
    erased = await Booking.filter(id__in=ids).using_db(db).order_by("starts_at")
    # As services.bookings writes them for a change of a booking's details.
    await OutboxEntry.bulk_create([OutboxEntry(topic="booking.updated", aggregate_id=booking.id,
                                               payload={"booking_id": booking.id, "version": booking.version,
                                                        "series_id": booking.series_id})
                                   for booking in erased if booking.id in shown], using_db=db)
    return erased


async def _shown_in_calendars(bookings: Sequence[Booking], now: datetime, db: BaseDBAsyncClient) -> set[int]:
    """The bookings shown in a calendar (see the module's terms). A series' mapping hangs on its first occurrence,
    so one mapped occurrence stands for every occurrence of its series."""
    mapped = set(cast(list[int], await EventMapping.filter(
        booking_id__in=[booking.id for booking in bookings]).using_db(db).values_list("booking_id", flat=True)))
    mapped_series = {booking.series_id for booking in bookings if booking.id in mapped}
    return {booking.id for booking in bookings
            if booking.id in mapped or (booking.series_id is not None and booking.series_id in mapped_series)
            or (booking.status == BookingStatus.CONFIRMED and booking.ends_at > now)}


async def _erase_from_staff_notices(bookings: Sequence[Booking], label: str, db: BaseDBAsyncClient) -> None:
    """Replace the bookings' customer names in the staff notices about them (see the module's terms)."""
    names = sorted({booking.customer_name for booking in bookings if booking.customer_name and not booking.walk_in}
                   - {label})
    if not names:
        return
    ids = {booking.id for booking in bookings}
    # Only the staff members and owners of these bookings were told of them.
    staff_users = await Staff.filter(id__in=sorted({b.staff_id for b in bookings})).using_db(db).values_list(
        "user_id", flat=True)
    owners = await Business.filter(id__in=sorted({b.business_id for b in bookings})).using_db(db).values_list(
        "owner_id", flat=True)
    readers = sorted({int(str(user)) for user in [*staff_users, *owners] if user is not None})
    for note in await Notification.filter(kind=RECOVERED, user_id__in=readers).using_db(db):
        if _names_these(note.data, ids):
            message = erase_listed_names(note.message, names, label)
            if message != note.message:
                await Notification.filter(id=note.id).using_db(db).update(message=message)
    for mail in await MailOutbox.filter(kind=RECOVERED, user_id__in=readers).using_db(db):
        if _names_these(mail.data, ids):
            data = dict(mail.data)
            if isinstance(data.get("message"), str):
                data["message"] = erase_listed_names(str(data["message"]), names, label)
            lines = data.get("lines")
            if isinstance(lines, list):
                data["lines"] = erase_line_names([str(line) for line in lines], names, label)
            if data != mail.data:
                await MailOutbox.filter(id=mail.id).using_db(db).update(data=data)


def _names_these(data: dict[str, Any], booking_ids: set[int]) -> bool:
    listed = data.get("bookingIds")
    return isinstance(listed, list) and any(int(str(item)) in booking_ids for item in listed)
