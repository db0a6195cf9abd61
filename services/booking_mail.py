"""The mail a booking change owes its customer: confirmed, rescheduled or cancelled, and the reminder before it
starts. Called by services.bookings inside the change's transaction, whoever made the change: the customer, the
business, or the staff member's own calendar (a hand edit that moved or deleted the booking's event).

The mail's data is the booking as the change left it, with what a calendar invitation needs to stay one event
across changes: the booking (or its series) and its `sequence`, which only grows (domain.mail_invitations makes the
invitation's UID and SEQUENCE of them).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from domain.mail import MailKind, reminder_time
from domain.recurrence import occurrence_starts
from models import Booking, BookingSeries, BookingStatus, Business, MailOutbox, MailState, Service, Staff
from services.booking_queries import LOCKSTEP_SOURCE
from services.mail import drop_owed, queue_mail


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()


async def _series_facts(booking: Booking, series: BookingSeries, db: Any) -> dict[str, object]:
    """What a series' invitation needs: its SEQUENCE (its occurrences' versions summed), this occurrence's planned
    start, the planned starts of its cancelled occurrences, its confirmed occurrences away from their planned start
    (each with its planned start and its times), and whether any occurrence is still on."""
    occurrences = await Booking.filter(series_id=series.id).using_db(db)
    planned = occurrence_starts(series.rrule, (series.starts_at or booking.starts_at).astimezone(UTC),
                                series.time_zone)

    def planned_start(row: Booking) -> datetime:
        index = row.occurrence_index or 0
        return planned[index] if index < len(planned) else row.starts_at

    return {"sequence": sum(row.version for row in occurrences),
            "plannedStart": _iso(planned_start(booking)),
            "exdates": sorted(_iso(planned_start(row)) for row in occurrences
                              if row.status == BookingStatus.CANCELLED),
            "moved": [{"plannedStart": _iso(planned_start(row)), "startsAt": _iso(row.starts_at),
                       "endsAt": _iso(row.ends_at)}
                      for row in sorted(occurrences, key=lambda row: row.occurrence_index or 0)
                      if row.status == BookingStatus.CONFIRMED and row.starts_at != planned_start(row)],
            "seriesOpen": any(row.status == BookingStatus.CONFIRMED for row in occurrences)}


async def _about(booking: Booking, db: Any, *, invitation: bool = True) -> dict[str, object]:
    """What every mail about the booking says: who, what, when, with whom, and (with `invitation`) what its
    calendar invitation needs to be the same event as before."""
    business = await Business.get(id=booking.business_id, using_db=db)
    service = await Service.get(id=booking.service_id, using_db=db)
    staff = await Staff.get(id=booking.staff_id, using_db=db)
    series = None if booking.series_id is None else await BookingSeries.get(id=booking.series_id, using_db=db)
    about: dict[str, object] = {
        "business": business.name, "location": business.address, "businessPhone": business.phone,
        "customer": booking.customer_name, "service": service.name,
        "staff": staff.name, "zone": staff.time_zone, "bookingId": booking.id, "sequence": booking.version,
        "startsAt": _iso(booking.starts_at), "endsAt": _iso(booking.ends_at), "seriesId": booking.series_id}
    if series is not None and invitation:
        about.update({"rrule": series.rrule, "seriesZone": series.time_zone,
                      "seriesStartsAt": _iso(series.starts_at or booking.starts_at),
                      **await _series_facts(booking, series, db)})
    return about


def _recipient(booking: Booking) -> dict[str, Any]:
    """The customer's account when the booking has one (their current address is used), else the address given."""
    if booking.customer_id is not None:
        return {"user_id": booking.customer_id}
    return {"address": booking.customer_email}


def _ours(booking: Booking) -> bool:
    """Whether Lockstep mails the booking's customer: not for a booking an appointment provider (Calendly) made,
    whose invitee that provider mails itself."""
    return booking.source == LOCKSTEP_SOURCE


async def _queue(kind: MailKind, booking: Booking, now: datetime, db: Any, **extra: object) -> None:
    if not _ours(booking):
        return
    data = {**await _about(booking, db), **extra}
    await queue_mail(kind, data, now, booking_id=booking.id, db=db, **_recipient(booking))


async def _plan_reminders(bookings: Sequence[Booking], now: datetime, db: Any) -> None:
    """Owe each of the bookings (all of one service) its reminder, at the service's lead time before its start."""
    if not bookings:
        return
    lead = await Service.filter(id=bookings[0].service_id).using_db(db).values_list("reminder_hours", flat=True)
    hours = int(str(lead[0])) if lead else 0
    # A reminder carries no invitation: what the bookings of one staff member and series share is read once (a
    # series has up to 52 occurrences, a service many bookings).
    shared: dict[tuple[int, int | None], dict[str, object]] = {}
    for booking in bookings:
        due = reminder_time(booking.starts_at, hours, now) if _ours(booking) else None
        if due is None:
            continue
        key = (booking.staff_id, booking.series_id)
        if key not in shared:
            shared[key] = await _about(booking, db, invitation=False)
        data = {**shared[key], "bookingId": booking.id, "sequence": booking.version,
                "startsAt": _iso(booking.starts_at),
                "endsAt": _iso(booking.ends_at), "customer": booking.customer_name, "reminderHours": hours}
        await queue_mail(MailKind.BOOKING_REMINDER, data, now, booking_id=booking.id, due_at=due, db=db,
                         **_recipient(booking))


async def reminders_replanned(service_id: int, now: datetime, db: Any) -> None:
    """The service's reminder lead time changed: the reminders owed for its confirmed bookings still ahead follow
    it, in the caller's transaction (the service update's). Each booking's unsent reminder is dropped and planned
    again at the new lead time (none when it is 0, or when that time has already passed); a booking whose reminder
    for its current start was sent already gets no second one."""
    ahead = await Booking.filter(service_id=service_id, status=BookingStatus.CONFIRMED,
                                 starts_at__gt=now).using_db(db).order_by("starts_at")
    if not ahead:
        return
    await drop_owed([booking.id for booking in ahead], MailKind.BOOKING_REMINDER, db)
    sent = await MailOutbox.filter(booking_id__in=[booking.id for booking in ahead],
                                   kind=MailKind.BOOKING_REMINDER.value, state=MailState.SENT).using_db(db)
    reminded = {(row.booking_id, row.data.get("startsAt")) for row in sent}
    due = [booking for booking in ahead if (booking.id, _iso(booking.starts_at)) not in reminded]
    await _plan_reminders(due, now, db)


async def booking_made(rows: Sequence[Booking], now: datetime, db: Any) -> None:
    """A new booking (or series: one confirmation for all its occurrences) and the reminders of each occurrence."""
    if not rows:
        return
    await _queue(MailKind.BOOKING_CONFIRMED, rows[0], now, db, occurrences=len(rows))
    await _plan_reminders(rows, now, db)


async def booking_moved(before: Booking, moved: Booking, now: datetime, db: Any) -> None:
    """A booking moved (to another time or staff member): the customer hears of it, its reminder moves with it."""
    await _queue(MailKind.BOOKING_RESCHEDULED, moved, now, db, previousStartsAt=_iso(before.starts_at))
    await drop_owed([moved.id], MailKind.BOOKING_REMINDER, db)
    await _plan_reminders([moved], now, db)


async def bookings_cancelled(cancelled: Sequence[Booking], now: datetime, db: Any) -> None:
    """Cancelled bookings: one mail per booking, or per series for its occurrences cancelled together; their
    reminders are no longer owed."""
    await drop_owed([booking.id for booking in cancelled], MailKind.BOOKING_REMINDER, db)
    told: set[int] = set()
    for booking in cancelled:
        if booking.series_id is not None and booking.series_id in told:
            continue
        together = [row for row in cancelled if booking.series_id is not None and row.series_id == booking.series_id]
        if booking.series_id is not None:
            told.add(booking.series_id)
        await _queue(MailKind.BOOKING_CANCELLED, booking, now, db, occurrences=max(len(together), 1),
                     cancelledIds=[row.id for row in together] or [booking.id])


async def booking_reassigned(moved: Sequence[Booking], previous_staff: str, now: datetime, db: Any) -> None:
    """Bookings given to another staff member at the same times (a booking, or every occurrence of a series): the
    customer hears once (for a series, of its next occurrence, with how many are ahead), and the reminders of the
    occurrences ahead are planned again, naming the new staff member."""
    ahead = [row for row in moved if row.status == BookingStatus.CONFIRMED and row.starts_at > now]
    if not ahead:
        return
    first = min(ahead, key=lambda row: row.starts_at)
    await _queue(MailKind.BOOKING_RESCHEDULED, first, now, db, previousStartsAt=_iso(first.starts_at),
                 previousStaff=previous_staff, occurrences=len(ahead))
    await drop_owed([row.id for row in ahead], MailKind.BOOKING_REMINDER, db)
    await _plan_reminders(ahead, now, db)
