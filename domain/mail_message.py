"""A rendered mail as an Internet message: plain text and HTML alternatives, and for a booking the calendar invitation
the way iMIP (RFC 6047) carries it: a `text/calendar` alternative with the iTIP method, and the same object as an
`.ics` attachment for mail programs that only offer attachments.

The sender is the business: its name as the display name, the deployment's address (LOCKSTEP_MAIL_FROM); mail not
sent for one business (account mail) has the deployment's name (LOCKSTEP_MAIL_FROM_NAME) instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from domain.mail_templates import RenderedMail


@dataclass(frozen=True)
class CalendarPart:
    """An iTIP object to attach: its bytes, its method (REQUEST or CANCEL) and the attachment's file name."""

    data: bytes
    method: str
    filename: str


# SMTP's line ends, and header lines up to RFC 5322's 998 characters: folding a long non-ASCII display name at 78 splits
# it into encoded words that readers put back together with a space too many ("Müller & Söhne" becoming "Mül ler").
_SMTP = policy.SMTP.clone(max_line_length=998)


def _address(display: str, address: str) -> Address:
    user, _, domain = address.rpartition("@")
    return Address(display_name=display, username=user, domain=domain)


def compose(rendered: RenderedMail, *, sender_name: str, sender_address: str, recipient: str, sent_at: datetime,
            calendar: CalendarPart | None = None) -> EmailMessage:
    """The message to send. `recipient` is an address only (no display name: the name a customer gave is theirs to
    see in the greeting, not to put into headers)."""
    message = EmailMessage(policy=_SMTP)
    message["Subject"] = rendered.subject
    message["From"] = _address(sender_name, sender_address)
    message["To"] = recipient
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = make_msgid(domain=sender_address.rpartition("@")[2] or None)
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    if calendar is not None:
        message.add_alternative(calendar.data, maintype="text", subtype="calendar",
                                params={"method": calendar.method, "charset": "utf-8"})
        message.add_attachment(calendar.data, maintype="application", subtype="ics", filename=calendar.filename)
    return message
