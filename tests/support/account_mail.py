"""Reading account mail in tests: the link a delivered message carries, and its token or invitation code."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.message import EmailMessage
from html import escape

from tests.support.mail import MailTimeline
from tests.support.smtp import SmtpTestServer, parts

INVALID = {"__typename": "ValidationError", "path": ["input", "token"],
           "message": "This link is not valid any more: it was used already, has expired, or was never issued"}


def link_of(message: EmailMessage, parameter: str = "token") -> str:
    """The account link of a delivered message (with `?token=`, or `parameter`), the same in its text and HTML
    parts."""
    bodies = parts(message)
    (link,) = re.findall(rf"^(http\S+[?&]{parameter}=\S+)$", bodies["text/plain"], re.MULTILINE)
    assert f'<a href="{escape(link)}">{escape(link)}</a>' in bodies["text/html"]
    return link


def token_of(message: EmailMessage) -> str:
    return link_of(message).split("?token=", 1)[1]


def invite_code_of(message: EmailMessage) -> str:
    """The staff invitation code of a delivered invitation's link (`invite=`)."""
    return re.split(r"[?&]invite=", link_of(message, "invite"), maxsplit=1)[1]


async def delivered(mail_jobs: MailTimeline, smtp: SmtpTestServer, address: str) -> list[EmailMessage]:
    await mail_jobs.tick(datetime.now(UTC))
    """Run the mail that is due now; every message the address has received so far."""
    return smtp.to(address)
