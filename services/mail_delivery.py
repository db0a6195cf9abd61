"""Handing out mail that is due, and recording how sending it went.

Terms (models.mail): a *due* mail is pending with `next_attempt_at` passed. The scheduler claims due mail (moving
`next_attempt_at` a LEASE ahead, so a job that never reports back only delays it) and a job sends each (jobs.mail).
A mail server that cannot be reached, or answers "try later" (4xx), is tried again on domain.retry's schedule for
at least a day; a refusal of the recipient or the message (5xx) fails the mail at once. Either way it is logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.mail import ACCOUNT_KINDS, MailKind
from domain.retry import gives_up, retry_delay
from models import Booking, BookingStatus, MailOutbox, MailState, User
from models.claims import Claim, run_claim
from services.mail import kind_is_off

LEASE = timedelta(seconds=60)  # longer than one send may take (jobs.mail's SMTP timeout)


def mail_claim(now: datetime, limit: int = 500) -> Claim:
    """The statement claiming due mail (see claim_due_mail)."""
    return Claim("mailoutbox", "next_attempt_at = ?", [now + LEASE],
                 "mailoutbox.state = ? AND mailoutbox.next_attempt_at <= ?", [MailState.PENDING.value, now],
                 order="mailoutbox.next_attempt_at", limit=limit)


async def claim_due_mail(now: datetime, limit: int = 500) -> list[int]:
    """Due mail, leased for LEASE; one statement over the index of mail by state and due time (models.claims)."""
    return await run_claim(mail_claim(now, limit))


async def hand_back_mail(mail_ids: list[int], now: datetime) -> None:
    """Claimed mail whose jobs could not be queued (Redis down) is due again at once."""
    await MailOutbox.filter(id__in=mail_ids, state=MailState.PENDING).update(next_attempt_at=now)


@dataclass(frozen=True)
class OutgoingMail:
    id: int
    kind: MailKind
    address: str
    data: dict[str, object]
    attempts: int
    user_id: int | None = None  # the recipient's account, when the mail goes to one


async def mail_to_send(mail_id: int) -> OutgoingMail | None:
    """The pending mail and where it goes, or None when it is not to be sent (any more): sent or failed already,
    the recipient turned its kind off or has no address, or it is a reminder of a booking that has since moved or
    been cancelled (then it is dropped)."""
    row = await MailOutbox.get_or_none(id=mail_id)
    if row is None or row.state != MailState.PENDING:
        return None
    kind = MailKind(row.kind)
    address = row.address
    if row.user_id is not None:
        user = await User.get_or_none(id=row.user_id)
        address = user.email if user is not None else ""
        if user is not None and await kind_is_off(user.id, kind):
            address = ""
    if address and kind == MailKind.BOOKING_REMINDER and row.booking_id is not None:
        booking = await Booking.get_or_none(id=row.booking_id)
        if (booking is None or booking.status != BookingStatus.CONFIRMED
                or booking.starts_at != datetime.fromisoformat(str(row.data.get("startsAt")))):
            address = ""
    if not address:
        await MailOutbox.filter(id=mail_id, state=MailState.PENDING).update(state=MailState.DROPPED)
        await _forget_link(mail_id)
        return None
    return OutgoingMail(row.id, kind, address, dict(row.data), row.attempts, row.user_id)


async def mail_sent(mail_id: int, now: datetime) -> None:
    await MailOutbox.filter(id=mail_id, state=MailState.PENDING).update(
        state=MailState.SENT, sent_at=now, last_error="")
    await _forget_link(mail_id)


async def mail_refused(mail_id: int, error: str, now: datetime) -> None:
    """The mail server refused the recipient or the message: no later try would be accepted."""
    await MailOutbox.filter(id=mail_id, state=MailState.PENDING).update(
        state=MailState.FAILED, last_error=error[:500], next_attempt_at=now)
    await _forget_link(mail_id)


async def _forget_link(mail_id: int) -> None:
    """An account mail's link holds its token in clear (the token table keeps only a digest): once the mail is sent
    or given up on (refused, failed after a day, or dropped), the row keeps no copy of it."""
    row = await MailOutbox.get_or_none(id=mail_id)
    if row is not None and row.kind in ACCOUNT_KINDS and "link" in row.data:
        await MailOutbox.filter(id=mail_id).update(data={key: value for key, value in row.data.items()
                                                         if key != "link"})


async def mail_not_delivered(mail_id: int, error: str, now: datetime) -> str:
    """The mail server could not take the mail now: due again after the retry schedule's delay, or failed once it
    has been failing for a day. Returns "retrying" or "failed"."""
    row = await MailOutbox.get_or_none(id=mail_id, state=MailState.PENDING)
    if row is None:
        return "skipped"
    attempt = row.attempts + 1
    if gives_up(attempt):
        await MailOutbox.filter(id=mail_id).update(state=MailState.FAILED, attempts=attempt, last_error=error[:500])
        await _forget_link(mail_id)
        return "failed"
    await MailOutbox.filter(id=mail_id).update(attempts=attempt, last_error=error[:500],
                                               next_attempt_at=now + retry_delay(attempt))
    return "retrying"
