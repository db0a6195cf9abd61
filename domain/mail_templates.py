"""What each kind of mail says: a subject, a plain-text body and an HTML body, from the mail row's data.

The data is what services.mail wrote when the change committed (names, and instants in ISO 8601 UTC). Times are
shown in the staff member's zone (`zone`), where the appointment takes place. Every value put into HTML is escaped;
the templates themselves are fixed text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape
from string import Template

from domain.mail import MailKind
from domain.zones import load_zone


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def when(iso: object, zone_name: object) -> str:
    """An instant as people read it, in the zone's wall time: "Tuesday 8 January 2030, 10:00"."""
    zone = load_zone(str(zone_name))
    local = datetime.fromisoformat(str(iso)).astimezone(zone)
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M}"


_BOOKING = {
    MailKind.BOOKING_CONFIRMED: ("Your booking on $date is confirmed",
                                 "Your booking is confirmed."),
    MailKind.BOOKING_RESCHEDULED: ("Your booking has moved to $date",
                                   "Your booking has moved to a new time (it was $previous)."),
    MailKind.BOOKING_CANCELLED: ("Your booking on $date is cancelled",
                                 "Your booking has been cancelled."),
    MailKind.BOOKING_REMINDER: ("Reminder: your booking on $date",
                                "A reminder of your booking."),
}
# A booking given to another staff member at the same time (its data names `previousStaff`): a rescheduled mail
# that says so, rather than "moved to a new time".
_REASSIGNED = ("Your booking on $date is now with $staff",
               "Your booking is now with $staff instead of $previous_staff; its time is unchanged.")
_BOOKING_TEXT = Template("""Hello $customer,

$lead

What: $service
When: $start to $end ($zone)
${where_text}With: $staff
$series
${feed_text}$business$phone_text
""")
_BOOKING_HTML = Template("""<!DOCTYPE html>
<html><body>
<p>Hello $customer,</p>
<p>$lead</p>
<table>
<tr><th align="left">What</th><td>$service</td></tr>
<tr><th align="left">When</th><td>$start to $end ($zone)</td></tr>
${where_html}<tr><th align="left">With</th><td>$staff</td></tr>
</table>
<p>$series</p>
${feed_html}<p>$business$phone_html</p>
</body></html>
""")
# The customer's calendar feed (`feedLink`, added when the mail is sent: docs/feeds.md).
_FEED_LEAD = ("All your bookings in your calendar app: subscribe to this address (keep it to yourself, anyone who has "
              "it can read your bookings):")
_NOTICE_SUBJECT = {
    MailKind.CONFLICT: "A booking and a calendar disagree: choose which one stands",
    MailKind.REAUTHORIZATION_REQUIRED: "A calendar needs to be reconnected",
    MailKind.SYNC_RECOVERED: "Calendar sync is working again",
}
_NOTICE_TEXT = Template("""Hello $recipient,

$message
$lines
$business
""")
_NOTICE_HTML = Template("""<!DOCTYPE html>
<html><body>
<p>Hello $recipient,</p>
<p>$message</p>
$lines
<p>$business</p>
</body></html>
""")


_ACCOUNT = {
    MailKind.ACCOUNT_VERIFY: ("Confirm your email address",
                              "Please confirm that this is your email address by opening this link:",
                              "The link works once, within 24 hours."),
    MailKind.PASSWORD_RESET: ("Reset your password",
                              "Someone asked to reset the password of your account. To choose a new one, "
                              "open this link:",
                              "The link works once, within an hour. If you did not ask for it, ignore this mail: "
                              "your password stays as it is."),
    MailKind.EMAIL_CHANGE: ("Confirm your new email address",
                            "Please confirm that your account should use this email address from now on:",
                            "The link works once, within 24 hours. Until then your account keeps its old address."),
}
# Account mail without a link: what it says needs nothing done.
_ACCOUNT_NOTICE = {
    MailKind.EMAIL_IN_USE: ("Someone tried to use your email address",
                            "Someone signed in to another account asked to make this email address theirs. Nothing "
                            "has changed: the address stays with your account, and the other account was not told "
                            "that it is yours.",
                            "You need not do anything."),
}
_ACCOUNT_NOTICE_TEXT = Template("""Hello $recipient,

$lead

$note
""")
_ACCOUNT_NOTICE_HTML = Template("""<!DOCTYPE html>
<html><body>
<p>Hello $recipient,</p>
<p>$lead</p>
<p>$note</p>
</body></html>
""")
_ACCOUNT_TEXT = Template("""Hello $recipient,

$lead

$link

$note
""")
_ACCOUNT_HTML = Template("""<!DOCTYPE html>
<html><body>
<p>Hello $recipient,</p>
<p>$lead</p>
<p><a href="$link">$link</a></p>
<p>$note</p>
</body></html>
""")


# A staff invitation: `inviter` (the owner's name; the business's when the owner has none), `business`, `link`.
_STAFF_INVITE_SUBJECT = Template("$inviter invited you to take bookings at $business")
_STAFF_INVITE_TEXT = Template("""Hello $recipient,

$inviter invited you to take bookings at $business. To accept, open this link and choose the password you will
sign in with:

$link

The link works until you have accepted, or until $business sends you a new invitation. If you did not expect
this mail, ignore it: no account is made without you.
""")
_STAFF_INVITE_HTML = Template("""<!DOCTYPE html>
<html><body>
<p>Hello $recipient,</p>
<p>$inviter invited you to take bookings at $business. To accept, open this link and choose the password you will
sign in with:</p>
<p><a href="$link">$link</a></p>
<p>The link works until you have accepted, or until $business sends you a new invitation. If you did not expect
this mail, ignore it: no account is made without you.</p>
</body></html>
""")


def _text(data: dict[str, object], key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value)


def _escaped(values: dict[str, str]) -> dict[str, str]:
    return {key: escape(value) for key, value in values.items()}


def _booking(kind: MailKind, data: dict[str, object]) -> RenderedMail:
    zone = _text(data, "zone")
    date = when(data["startsAt"], zone)
    previous = when(data["previousStartsAt"], zone) if data.get("previousStartsAt") else ""
    reassigned = kind == MailKind.BOOKING_RESCHEDULED and bool(data.get("previousStaff"))
    subject_template, lead_template = _REASSIGNED if reassigned else _BOOKING[kind]
    occurrences = int(str(data.get("occurrences") or 1))
    series = ""
    if occurrences > 1 and kind == MailKind.BOOKING_CANCELLED:
        series = f"{occurrences} appointments of the series are cancelled, from this one on."
    elif occurrences > 1 and reassigned:
        series = f"This and the {occurrences - 1} after it are all with {_text(data, 'staff')} now."
    elif occurrences > 1:
        series = f"This is the first of {occurrences} appointments."
    values = {
        "customer": _text(data, "customer") or "there",
        "lead": Template(lead_template).substitute(previous=previous, staff=_text(data, "staff"),
                                                   previous_staff=_text(data, "previousStaff")),
        "service": _text(data, "service"),
        "start": date,
        "end": f"{datetime.fromisoformat(_text(data, 'endsAt')).astimezone(load_zone(zone)):%H:%M}",
        "zone": zone,
        "staff": _text(data, "staff"),
        "series": series,
        "business": _text(data, "business"),
    }
    location, phone = _text(data, "location"), _text(data, "businessPhone")
    # The address and phone lines appear only when the business gave them; the feed's only in a mail that has one.
    feed = _text(data, "feedLink")
    text_extra = {"where_text": f"Where: {location}\n" if location else "",
                  "phone_text": f"\nPhone: {phone}" if phone else "",
                  "feed_text": f"{_FEED_LEAD}\n{feed}\n\n" if feed else ""}
    where_row = f'<tr><th align="left">Where</th><td>{escape(location)}</td></tr>\n'
    html_extra = {"where_html": where_row if location else "",
                  "phone_html": f"<br>Phone: {escape(phone)}" if phone else "",
                  "feed_html": f'<p>{_FEED_LEAD}<br><a href="{escape(feed)}">{escape(feed)}</a></p>\n' if feed else ""}
    return RenderedMail(Template(subject_template).substitute(date=date, staff=_text(data, "staff")),
                        _BOOKING_TEXT.substitute(values, **text_extra),
                        _BOOKING_HTML.substitute(_escaped(values), **html_extra))


def _notice(kind: MailKind, data: dict[str, object]) -> RenderedMail:
    raw_lines = data.get("lines")
    lines = [str(line) for line in raw_lines] if isinstance(raw_lines, list) else []
    values = {"recipient": _text(data, "recipient") or "there", "message": _text(data, "message"),
              "business": _text(data, "business")}
    text_lines = "".join(f"- {line}\n" for line in lines)
    html_lines = ("<ul>\n" + "".join(f"<li>{escape(line)}</li>\n" for line in lines) + "</ul>") if lines else ""
    return RenderedMail(_NOTICE_SUBJECT[kind], _NOTICE_TEXT.substitute(values, lines=text_lines),
                        _NOTICE_HTML.substitute(_escaped(values), lines=html_lines))


def _account(kind: MailKind, data: dict[str, object]) -> RenderedMail:
    if kind in _ACCOUNT_NOTICE:
        subject, lead, note = _ACCOUNT_NOTICE[kind]
        values = {"recipient": _text(data, "recipient") or "there", "lead": lead, "note": note}
        return RenderedMail(subject, _ACCOUNT_NOTICE_TEXT.substitute(values),
                            _ACCOUNT_NOTICE_HTML.substitute(_escaped(values)))
    subject, lead, note = _ACCOUNT[kind]
    values = {"recipient": _text(data, "recipient") or "there", "lead": lead, "link": _text(data, "link"),
              "note": note}
    return RenderedMail(subject, _ACCOUNT_TEXT.substitute(values), _ACCOUNT_HTML.substitute(_escaped(values)))


def _staff_invite(data: dict[str, object]) -> RenderedMail:
    business = _text(data, "business")
    values = {"recipient": _text(data, "recipient") or "there", "inviter": _text(data, "inviter") or business,
              "business": business, "link": _text(data, "link")}
    return RenderedMail(_STAFF_INVITE_SUBJECT.substitute(values), _STAFF_INVITE_TEXT.substitute(values),
                        _STAFF_INVITE_HTML.substitute(_escaped(values)))


def render_mail(kind: MailKind, data: dict[str, object]) -> RenderedMail:
    """The subject and both bodies of a mail of `kind` saying what `data` holds."""
    if kind == MailKind.STAFF_INVITE:
        return _staff_invite(data)
    if kind in _ACCOUNT or kind in _ACCOUNT_NOTICE:
        return _account(kind, data)
    if kind in _BOOKING:
        return _booking(kind, data)
    return _notice(kind, data)
