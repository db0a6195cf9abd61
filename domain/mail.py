"""Which mail Lockstep sends, to whom, and when.

Terms:
- *kind*: what a mail tells of (MailKind). Customers get the booking kinds; staff members and the business owner get
  the notification kinds that need a person (NOTIFICATION_MAIL says which notification becomes which kind, for whom).
- *audience*: `staff` (the staff member whose calendar it is) or `owner` (the business owner).
- *account mail*: mail about the account itself (ACCOUNT_KINDS): a link to the web app's account page with a
  single-use token, to verify an address, reset a password or confirm a new address, or the notice (without a link)
  that someone asked to make the account's address theirs; everyone gets it, whatever their mail preferences say.
  A *staff invitation* (STAFF_INVITE) is account mail too: it goes to the address the owner gave for a staff member
  who has no account yet, with the link that turns the invitation code into one, in the business's name.
- *reminder*: a mail to the customer a service's lead time before the booking starts; none when the lead time is 0
  or the reminder's time has already passed when the booking is made or moved.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum


class MailKind(StrEnum):
    BOOKING_CONFIRMED = "booking_confirmed"
    BOOKING_RESCHEDULED = "booking_rescheduled"
    BOOKING_CANCELLED = "booking_cancelled"
    BOOKING_REMINDER = "booking_reminder"
    CONFLICT = "conflict"
    REAUTHORIZATION_REQUIRED = "reauthorization_required"
    SYNC_RECOVERED = "sync_recovered"
    ACCOUNT_VERIFY = "account_verify"
    PASSWORD_RESET = "password_reset"
    EMAIL_CHANGE = "email_change"
    EMAIL_IN_USE = "email_in_use"
    STAFF_INVITE = "staff_invite"


BOOKING_KINDS = frozenset({MailKind.BOOKING_CONFIRMED, MailKind.BOOKING_RESCHEDULED, MailKind.BOOKING_CANCELLED,
                           MailKind.BOOKING_REMINDER})
# Mail about the account itself: always sent (it cannot be turned off); all but the notice hold a single-use link.
ACCOUNT_KINDS = frozenset({MailKind.ACCOUNT_VERIFY, MailKind.PASSWORD_RESET, MailKind.EMAIL_CHANGE,
                           MailKind.EMAIL_IN_USE, MailKind.STAFF_INVITE})
# Booking kinds that carry a calendar invitation (a reminder changes nothing in the customer's calendar).
INVITING_KINDS = frozenset({MailKind.BOOKING_CONFIRMED, MailKind.BOOKING_RESCHEDULED, MailKind.BOOKING_CANCELLED})
CONFLICT_NOTIFICATIONS = frozenset({"event_moved", "event_deleted", "busy_overlap"})
OPEN_CONFLICT = "open_conflict"  # domain.conflicts.SyncResolution.OPEN_CONFLICT: a person has to choose
STAFF = "staff"
OWNER = "owner"
NOTIFICATION_AUDIENCE = {
    MailKind.CONFLICT: frozenset({STAFF, OWNER}),
    MailKind.REAUTHORIZATION_REQUIRED: frozenset({STAFF, OWNER}),
    MailKind.SYNC_RECOVERED: frozenset({STAFF}),
}


def notification_mail(kind: str, data: dict[str, object]) -> MailKind | None:
    """The mail a stored notification (its `kind` and `data`) becomes, or None when it needs nobody: a conflict that
    the connection's policy settled by itself is news, not work."""
    if kind in CONFLICT_NOTIFICATIONS:
        return MailKind.CONFLICT if data.get("resolution") == OPEN_CONFLICT else None
    if kind == MailKind.REAUTHORIZATION_REQUIRED.value:
        return MailKind.REAUTHORIZATION_REQUIRED
    if kind == MailKind.SYNC_RECOVERED.value:
        return MailKind.SYNC_RECOVERED
    return None


def mail_audience(kind: MailKind, is_staff_member: bool, is_owner: bool) -> bool:
    """Whether a user who is the staff member (and/or the owner) gets a notification kind's mail."""
    audience = NOTIFICATION_AUDIENCE.get(kind, frozenset())
    return (is_staff_member and STAFF in audience) or (is_owner and OWNER in audience)


def reminder_time(starts_at: datetime, lead_hours: int, now: datetime) -> datetime | None:
    """When the customer is reminded of a booking starting at `starts_at`, or None (no lead time, or already past)."""
    if lead_hours <= 0:
        return None
    at = starts_at - timedelta(hours=lead_hours)
    return at if at > now else None
