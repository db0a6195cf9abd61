"""The mail settings (docs/mail.md "Settings"): where mail is sent, how the connection is secured, and whom it comes
from. Each is read from the environment once, at start, and checked then, so a worker never starts with a setting
it would fail on at every mail.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.settings import Settings


def smtp_url() -> str:
    """LOCKSTEP_SMTP_URL, checked at start (the message never repeats the URL: it may hold a password)."""
    from jobs.smtp import smtp_server

    url = os.environ.get("LOCKSTEP_SMTP_URL", "").strip()
    if url:
        try:
            smtp_server(url)
        except ValueError as exc:
            raise SystemExit(f"LOCKSTEP_SMTP_URL: {exc}") from None
    return url


def smtp_ca_file() -> str:
    """LOCKSTEP_SMTP_CA_FILE: a PEM file of the authorities (or the self-signed certificate) that a private relay's
    certificate is checked against, besides the system's; its absolute path, or "" when unset. A file that cannot be
    read as certificates stops the start."""
    raw = os.environ.get("LOCKSTEP_SMTP_CA_FILE", "").strip()
    if not raw:
        return ""
    path = Path(raw).expanduser().resolve()
    try:
        ssl.create_default_context().load_verify_locations(cafile=str(path))
    except (OSError, ssl.SSLError, ValueError) as exc:
        if isinstance(exc, ssl.SSLError):  # an OSError too, whose strerror names OpenSSL's source lines
            reason = str(exc.reason or type(exc).__name__)
        else:
            reason = str(exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__)
        raise SystemExit(f"LOCKSTEP_SMTP_CA_FILE: {path} cannot be read as PEM certificates ({reason})") from None
    return str(path)


def mail_from() -> str:
    address = (os.environ.get("LOCKSTEP_MAIL_FROM") or "bookings@localhost").strip()
    local, at, domain = address.rpartition("@")
    if not (local and at and domain) or any(character.isspace() or character in "<>\"," for character in address):
        raise SystemExit(f"LOCKSTEP_MAIL_FROM must be a plain address such as bookings@example.com, got {address!r}")
    return address


DEFAULT_FROM_NAME = "Lockstep"
_MAX_FROM_NAME = 100


def mail_from_name() -> str:
    """LOCKSTEP_MAIL_FROM_NAME: the display name of mail not sent on behalf of one business (account mail), so it
    does not come from a bare address. One line of printable text."""
    name = " ".join((os.environ.get("LOCKSTEP_MAIL_FROM_NAME") or DEFAULT_FROM_NAME).split())
    if not name or len(name) > _MAX_FROM_NAME or not name.isprintable():
        raise SystemExit(f"LOCKSTEP_MAIL_FROM_NAME must be a name of 1 to {_MAX_FROM_NAME} printable characters")
    return name


def mail_job_settings(settings: Settings) -> dict[str, Any]:
    """The mail settings a worker's job configuration (jobs.runtime.JobConfig) takes."""
    return {"smtp_url": settings.smtp_url, "smtp_starttls": settings.smtp_starttls,
            "smtp_ca_file": settings.smtp_ca_file, "mail_from": settings.mail_from,
            "mail_from_name": settings.mail_from_name}
