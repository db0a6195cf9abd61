"""Sending one message over SMTP, and telling a refusal from a mail server that cannot take it now.

Terms:
- *SMTP URL*: `smtp://user:password@host:port` (plain, or STARTTLS when asked for) or `smtps://...` (TLS from the
  first byte). The user and password are optional and percent-encoded; the password is never logged or shown
  (`where` names the server without it).
- *trusted*: over TLS (implicit or STARTTLS) the server's certificate must be valid for its host name and issued by
  an authority the system trusts, or by one in the deployment's CA file (a private relay's own authority). STARTTLS
  asked for is required: a server that does not offer it gets nothing, neither the sign-in nor the mail.
- *refused* (MailRefused): the server answered 5xx to the recipient or to the message. Another try would get the same.
- *not delivered* (MailNotDelivered): anything else: no connection, a timeout, a 4xx ("try later"), a refused
  sign-in or sender (the deployment's settings, not this mail, are wrong). Tried again later.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib

SEND_TIMEOUT_SECONDS = 30.0


class MailRefused(Exception):
    """The mail server refused this recipient or message for good (its message says how, without secrets)."""


class MailNotDelivered(Exception):
    """The mail server could not take the message now (its message says why, without secrets)."""


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    implicit_tls: bool = False
    starttls: bool = False
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = SEND_TIMEOUT_SECONDS
    ca_file: str = ""  # PEM certificates of authorities trusted besides the system's; empty: the system's alone

    @property
    def where(self) -> str:
        return f"{'smtps' if self.implicit_tls else 'smtp'}://{self.host}:{self.port}"


def smtp_server(url: str, *, starttls: bool = False, ca_file: str = "", timeout: float = SEND_TIMEOUT_SECONDS
                ) -> SmtpServer:
    """The server an SMTP URL names. Raises ValueError (without the URL, which may hold a password) when it is not
    one."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("an SMTP URL is smtp://[user:password@]host[:port] or smtps://...")
    implicit = parts.scheme == "smtps"
    try:
        port = parts.port or (465 if implicit else 25)
    except ValueError as exc:
        raise ValueError("the SMTP URL's port is not a number") from exc
    return SmtpServer(parts.hostname, port, implicit, starttls and not implicit, unquote(parts.username or ""),
                      unquote(parts.password or ""), timeout, ca_file)


def _code_text(exc: aiosmtplib.SMTPResponseException) -> str:
    return f"{exc.code} {exc.message}"[:300]


async def deliver(server: SmtpServer, message: EmailMessage) -> None:
    """Send `message` to its To address. Raises MailRefused or MailNotDelivered."""
    try:
        # start_tls False, not None: aiosmtplib would otherwise upgrade only when the server offers it, and send in
        # clear when it does not. Certificates are always checked (validate_certs), against the system's
        # authorities and `cert_bundle`'s.
        await aiosmtplib.send(message, hostname=server.host, port=server.port, use_tls=server.implicit_tls,
                              start_tls=server.starttls, username=server.username or None,
                              password=server.password or None, timeout=server.timeout, validate_certs=True,
                              cert_bundle=server.ca_file or None)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        refusals = exc.recipients
        text = "; ".join(_code_text(refusal) for refusal in refusals) or "recipient refused"
        if refusals and all(refusal.code >= 500 for refusal in refusals):
            raise MailRefused(f"recipient refused: {text}") from None
        raise MailNotDelivered(f"recipient deferred: {text}") from None
    except (aiosmtplib.SMTPRecipientRefused, aiosmtplib.SMTPDataError) as exc:
        what = "recipient" if isinstance(exc, aiosmtplib.SMTPRecipientRefused) else "message"
        if exc.code >= 500:
            raise MailRefused(f"{what} refused: {_code_text(exc)}") from None
        raise MailNotDelivered(f"{what} deferred: {_code_text(exc)}") from None
    except aiosmtplib.SMTPAuthenticationError as exc:
        # The server's text is left out: nothing of the credentials should come back, even echoed.
        raise MailNotDelivered(f"the mail server at {server.where} refused the sign-in ({exc.code})") from None
    except aiosmtplib.SMTPResponseException as exc:
        raise MailNotDelivered(f"the mail server at {server.where} answered {_code_text(exc)}") from None
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        untrusted = _certificate_refusal(exc)
        if untrusted:
            raise MailNotDelivered(f"the mail server at {server.where} is not trusted: {untrusted}") from None
        if type(exc) is aiosmtplib.SMTPException:  # aiosmtplib's own fixed words: an extension the server lacks
            raise MailNotDelivered(f"the mail server at {server.where} does not offer what the settings ask "
                                   f"({exc.message[:200]})") from None
        raise MailNotDelivered(f"the mail server at {server.where} could not be reached ({type(exc).__name__})"
                               ) from None


def _certificate_refusal(exc: BaseException) -> str:
    """Why the server's certificate was refused, when that is what `exc` (or what it wraps) says; else ""."""
    seen: BaseException | None = exc
    for _ in range(5):  # aiosmtplib wraps the ssl error once or twice; a chain is never followed for long
        if seen is None:
            break
        if isinstance(seen, ssl.SSLCertVerificationError):
            return str(seen.verify_message or "its certificate is not valid")[:200]
        seen = seen.__cause__ or seen.__context__
    return ""
