"""Mail for the notifications that need a person (domain.mail.notification_mail): a conflict to resolve and a
calendar to reconnect, to the staff member and the business owner; sync working again, to the staff member, with
the bookings made while it was down. Written in the notification's transaction (services.sync_health.notify_staff).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from domain.mail import mail_audience, notification_mail
from domain.mail_templates import when
from models import Booking, Business, Staff, User
from services.mail import queue_mail

LISTED_BOOKINGS = 50  # bookings a recovery mail names one by one; the rest are counted


async def _recovered_lines(staff: Staff, booking_ids: list[int], db: Any) -> list[str]:
    bookings = await Booking.filter(id__in=booking_ids[:LISTED_BOOKINGS]).using_db(db).order_by(
        "starts_at").prefetch_related("service")
    lines = [f"{when(booking.starts_at.isoformat(), staff.time_zone)}: {booking.customer_name}, "
             f"{booking.service.name}" for booking in bookings]
    more = len(booking_ids) - len(lines)
    return [*lines, *([f"and {more} more"] if more > 0 else [])]


def erase_line_names(lines: Iterable[str], names: Iterable[str], label: str) -> list[str]:
    """A recovery mail's lines (`when: customer, service`) with each of `names` in the customer's place replaced
    by `label` (a customer who deleted their account)."""
    longest_first = sorted(names, key=len, reverse=True)
    erased = []
    for line in lines:
        for name in longest_first:
            # The time (when()) ends in HH:MM, so the first "HH:MM: " is where the customer's name begins.
            line = re.sub(rf"^(.+? \d{{2}}:\d{{2}}): {re.escape(name)}, ", lambda found: f"{found[1]}: {label}, ",
                          line, count=1)
        erased.append(line)
    return erased


async def mail_notification(staff: Staff, owner_id: int, recipients: list[int], kind: str, message: str,
                            data: dict[str, object], now: datetime, db: Any) -> None:
    """Queue the mail a notification of `kind` owes each of its `recipients` who is in that kind's audience."""
    mail_kind = notification_mail(kind, data)
    if mail_kind is None:
        return
    business = await Business.get(id=staff.business_id, using_db=db)
    lines: list[str] = []
    if kind == "sync_recovered":
        raw = data.get("bookingIds")
        lines = await _recovered_lines(staff, [int(str(item)) for item in raw] if isinstance(raw, list) else [], db)
    names = dict(await User.filter(id__in=recipients).using_db(db).values_list("id", "name"))
    for user_id in recipients:
        if not mail_audience(mail_kind, user_id == staff.user_id, user_id == owner_id):
            continue
        mail_data: dict[str, object] = {"business": business.name, "recipient": names.get(user_id, ""),
                                        "message": message, "lines": lines, "staff": staff.name,
                                        "zone": staff.time_zone}
        if "bookingIds" in data:  # which bookings it names, so a customer's deletion finds their name here
            mail_data["bookingIds"] = data["bookingIds"]
        await queue_mail(mail_kind, mail_data, now, user_id=user_id, db=db)
