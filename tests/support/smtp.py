"""A real SMTP server on the loopback interface (aiosmtpd), for the mail tests: it keeps every message it accepts,
parsed with the standard library's email package, and can be stopped and started again on the same port (a mail
server that is down, then back), or told to refuse recipients for good (550) or for now (451).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USERNAME = "lockstep"
PASSWORD = "smtp-password-never-shown-4f1c"


@dataclass
class Received:
    sender: str
    recipients: list[str]
    raw: bytes
    message: EmailMessage


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # address -> the reply to its RCPT TO

    async def handle_RCPT(self, _server: Any, _session: Any, envelope: Any, address: str,
                          _options: Any) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        raw = bytes(envelope.original_content or envelope.content)
        parsed = cast(EmailMessage, message_from_bytes(raw, policy=policy.default))
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), raw, parsed))
        return "250 Message accepted"


def _authenticate(_server: Any, _session: Any, _envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = (isinstance(data, LoginPassword) and data.login.decode() == USERNAME
          and data.password.decode() == PASSWORD)
    return AuthResult(success=ok, handled=False)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpTestServer:
    """`url` reaches it with its user and password; `received` is every message accepted so far."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.handler = _Handler()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://{USERNAME}:{PASSWORD}@127.0.0.1:{self.port}"

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def start(self) -> None:
        # Sign-in over a plain connection is allowed here: the server is on loopback and the test's alone.
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                      authenticator=_authenticate, auth_require_tls=False)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[EmailMessage]:
        return [item.message for item in self.received if address in item.recipients]


@contextmanager
def running_smtp() -> Iterator[SmtpTestServer]:
    server = SmtpTestServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def parts(message: EmailMessage) -> dict[str, str]:
    """The text parts of a message by content type (text/plain, text/html, text/calendar), decoded, with line ends
    as Python writes them (SMTP carries CRLF)."""
    found: dict[str, str] = {}
    for part in message.walk():
        if part.get_content_maintype() == "text" and not part.is_attachment():
            found[part.get_content_type()] = cast(EmailMessage, part).get_content().replace("\r\n", "\n")
    return found
