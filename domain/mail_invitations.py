"""The calendar invitation a booking mail carries (domain.invitations), made from the mail's data.

Terms (the data services.booking_mail writes): a single booking's invitation is keyed by the booking, a series' by
the series, and its SEQUENCE is `sequence` (the booking's version, or the sum of its occurrences' versions, so any
change to any occurrence raises it). A confirmation or reschedule is a REQUEST, a cancellation a CANCEL, except that
cancelling some occurrences of a series is a REQUEST of the series with their planned starts as EXDATEs (CANCEL once
none is left). Every REQUEST of a series is the whole series as it stands: its rule, its cancelled occurrences, and
each occurrence moved away from its planned start (`moved`: planned start, start, end) as an instance of its own.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from domain.invitations import Invitation, MovedOccurrence, Party, invitation_filename, invitation_ics, invitation_uid
from domain.mail import INVITING_KINDS, MailKind
from domain.mail_message import CalendarPart


def _instant(value: object) -> datetime:
    return datetime.fromisoformat(str(value))


def _description(service: str, staff: str, business: str, email: str, phone: str) -> str:
    contact = f"{email}, {phone}" if phone else email
    return f"{service} with {staff}\n{business}\nContact: {contact}"


def _as_series(kind: MailKind, data: dict[str, object], single: Invitation) -> Invitation:
    """The series' invitation, from what the single occurrence's would be."""
    first = _instant(data["seriesStartsAt"])
    raw = data.get("exdates")
    exdates = tuple(sorted(_instant(value) for value in raw)) if isinstance(raw, list) else ()
    raw_moved = data.get("moved")
    moved = tuple(MovedOccurrence(_instant(item["plannedStart"]), _instant(item["startsAt"]), _instant(item["endsAt"]))
                  for item in raw_moved if isinstance(item, dict)) if isinstance(raw_moved, list) else ()
    ended = kind == MailKind.BOOKING_CANCELLED and not data.get("seriesOpen")
    return replace(single, method="CANCEL" if ended else "REQUEST", starts_at=first,
                   ends_at=first + (single.ends_at - single.starts_at),
                   time_zone=str(data.get("seriesZone") or single.time_zone), rrule=str(data["rrule"]),
                   exdates=() if ended else exdates, moved=() if ended else moved)


def booking_invitation(kind: MailKind, data: dict[str, object], *, organizer: Party, attendee: Party, host: str,
                       stamp: datetime) -> Invitation | None:
    """The invitation of a booking mail, or None for a kind that carries none (a reminder)."""
    if kind not in INVITING_KINDS:
        return None
    service, staff, business = (str(data.get(key) or "") for key in ("service", "staff", "business"))
    series_id = data.get("seriesId")
    uid = (invitation_uid("series", int(str(series_id)), host) if series_id is not None
           else invitation_uid("booking", int(str(data["bookingId"])), host))
    single = Invitation(
        uid=uid, sequence=int(str(data["sequence"])),
        method="CANCEL" if kind == MailKind.BOOKING_CANCELLED else "REQUEST",
        summary=f"{service} at {business}" if business else service,
        description=_description(service, staff, business, organizer.email, str(data.get("businessPhone") or "")),
        location=str(data.get("location") or ""), starts_at=_instant(data["startsAt"]),
        ends_at=_instant(data["endsAt"]), time_zone=str(data["zone"]), organizer=organizer, attendee=attendee,
        stamp=stamp)
    return single if series_id is None else _as_series(kind, data, single)


def invitation_part(kind: MailKind, data: dict[str, object], *, organizer: Party, attendee: Party, host: str,
                    stamp: datetime) -> CalendarPart | None:
    """The invitation as the mail's calendar part (domain.mail_message), or None when the mail carries none."""
    invitation = booking_invitation(kind, data, organizer=organizer, attendee=attendee, host=host, stamp=stamp)
    if invitation is None:
        return None
    return CalendarPart(invitation_ics(invitation), invitation.method, invitation_filename(invitation))
