"""The mail job: send one mail of the mail outbox (services.mail_delivery hands them out).

It takes the mail's ID and is idempotent: a mail that is sent, failed or dropped is left alone, so a job that runs
twice or late sends nothing twice (a job that dies after the server took the mail but before it is marked sent may
send it again once its lease passes: a mail is delivered at least once). It never raises: whatever happens is
recorded on the mail and logged (without the address, a secret, or the message).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from urllib.parse import urlsplit

from domain.invitations import Party
from domain.mail import MailKind
from domain.mail_invitations import invitation_part
from domain.mail_message import compose
from domain.mail_templates import render_mail
from jobs import runtime
from jobs.smtp import MailNotDelivered, MailRefused, SmtpServer, deliver, smtp_server
from services import metrics
from services.calendar_feeds import FeedAddress, customer_feed_token
from services.credentials import CredentialVault
from services.mail_delivery import OutgoingMail, mail_not_delivered, mail_refused, mail_sent, mail_to_send

log = logging.getLogger("lockstep.mail")
MAIL_TIMEOUT_SECONDS = 90
Sender = Callable[[SmtpServer, EmailMessage], Awaitable[None]]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _fields(mail_id: int, kind: str, **more: object) -> dict[str, object]:
    return {"fields": {"mail": mail_id, "kind": kind, **more}}


async def _with_feed_link(outgoing: OutgoingMail, settings: runtime.JobConfig) -> dict[str, object]:
    """The mail's data, and for a customer's booking confirmation the address of their calendar feed (made now if
    they have none; docs/feeds.md). The address is added as the mail is made, never kept in the mail's row."""
    if outgoing.kind != MailKind.BOOKING_CONFIRMED or outgoing.user_id is None or not settings.public_url:
        return outgoing.data
    try:
        token = await customer_feed_token(outgoing.user_id, CredentialVault(settings.secret_keys))
    except Exception:  # the confirmation matters more than the link: it goes without
        log.exception("mail %s goes without its calendar feed link", outgoing.id)
        return outgoing.data
    if token is None:
        return outgoing.data
    return {**outgoing.data, "feedLink": FeedAddress(settings.public_url).url(token)}


async def run_mail(mail_id: int, *, send: Sender = deliver, clock: Callable[[], datetime] = _utc_now) -> str:
    """The mail job's body, on the caller's event loop: "sent", "retrying", "failed", or "skipped" (nothing to send)."""
    settings = runtime.config()
    outgoing = await mail_to_send(mail_id)
    if outgoing is None:
        return "skipped"
    kind = outgoing.kind.value
    if not settings.smtp_url:
        outcome = await mail_not_delivered(mail_id, "no mail server is configured (LOCKSTEP_SMTP_URL)", clock())
        log.warning("mail not sent: no mail server is configured", extra=_fields(mail_id, kind, outcome=outcome))
        return outcome
    server = smtp_server(settings.smtp_url, starttls=settings.smtp_starttls, ca_file=settings.smtp_ca_file)
    business = str(outgoing.data.get("business", ""))
    try:
        invitation = invitation_part(outgoing.kind, outgoing.data, organizer=Party(business, settings.mail_from),
                                     attendee=Party(str(outgoing.data.get("customer", "")), outgoing.address),
                                     host=urlsplit(settings.public_url).hostname or "localhost", stamp=clock())
    except ValueError:  # the same data would fail again: the mail goes without its invitation
        log.exception("mail %s goes without its calendar invitation", mail_id)
        invitation = None
    # Booking and staff mail speaks for its business; account mail for the deployment (LOCKSTEP_MAIL_FROM_NAME).
    said = render_mail(outgoing.kind, await _with_feed_link(outgoing, settings))
    message = compose(said, sender_name=business or settings.mail_from_name,
                      sender_address=settings.mail_from, recipient=outgoing.address, sent_at=clock(),
                      calendar=invitation)
    try:
        await send(server, message)
    except MailRefused as exc:
        await mail_refused(mail_id, str(exc), clock())
        log.warning("mail refused by the mail server", extra=_fields(mail_id, kind, error=str(exc)))
        return "failed"
    except MailNotDelivered as exc:
        outcome = await mail_not_delivered(mail_id, str(exc), clock())
        log.log(logging.ERROR if outcome == "failed" else logging.INFO, "mail not delivered",
                extra=_fields(mail_id, kind, error=str(exc), outcome=outcome, attempts=outgoing.attempts + 1))
        return outcome
    except Exception as exc:  # recorded and retried; a job must not fail silently in the queue
        log.exception("sending mail %s stopped on an unexpected error", mail_id)
        return await mail_not_delivered(mail_id, type(exc).__name__, clock())
    await mail_sent(mail_id, clock())
    log.info("mail sent", extra=_fields(mail_id, kind))
    return "sent"


def send_mail(mail_id: int) -> str:
    """Send one mail of the outbox."""
    outcome = runtime.run(run_mail(mail_id))
    metrics.record_job_outcome(runtime.redis(), "mail", outcome)
    return outcome
