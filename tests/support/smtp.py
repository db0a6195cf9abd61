"""A real SMTP server on the loopback interface (aiosmtpd), for the mail tests: it keeps every message it accepts,
parsed with the standard library's email package, and can be stopped and started again on the same port (a mail
server that is down, then back), or told to refuse recipients for good (550) or for now (451).

It speaks plain SMTP, or secures the connection with a certificate (`self_signed_certificate`, made in the test
with `cryptography`): STARTTLS, which it requires before anything but EHLO, NOOP, RSET and QUIT (AUTH and MAIL in
clear get 530, as RFC 3207 says), or implicit TLS from the first byte. Each accepted message records whether its
connection was encrypted.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

USERNAME = "lockstep"
PASSWORD = "smtp-password-never-shown-4f1c"


Security = Literal["none", "starttls", "tls"]


@dataclass
class Received:
    sender: str
    recipients: list[str]
    raw: bytes
    message: EmailMessage
    encrypted: bool = False  # the message came over TLS (implicit, or after STARTTLS)
    signed_in: bool = False  # the client signed in (AUTH) before sending it


@dataclass(frozen=True)
class Certificate:
    """A server certificate for 127.0.0.1 that is its own authority: `cert_file` is also the CA file that trusts it."""

    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.cert_file), str(self.key_file))
        return context


def self_signed_certificate(folder: Path, name: str = "smtp") -> Certificate:
    """A new key and a self-signed certificate for 127.0.0.1, valid for a day either side of now, written as PEM
    files into `folder`. It is a CA certificate (basic constraints, key usage, key identifiers), so OpenSSL's strict
    checks accept it as the trust anchor of a CA file."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Lockstep test {name}")])
    now = datetime.now(UTC)
    identifier = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=False,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(identifier, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(identifier), critical=False)
        .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / f"{name}-cert.pem", folder / f"{name}-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return Certificate(cert_file, key_file)


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

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.original_content or envelope.content)
        parsed = cast(EmailMessage, message_from_bytes(raw, policy=policy.default))
        encrypted = server.transport.get_extra_info("ssl_object") is not None
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), raw, parsed, encrypted,
                                      bool(session.authenticated)))
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
    """`url` reaches it with its user and password (`smtps://` for implicit TLS); `received` is every message
    accepted so far. With `security` other than "none" it needs a `certificate`."""

    def __init__(self, security: Security = "none", certificate: Certificate | None = None) -> None:
        if (security == "none") != (certificate is None):
            raise ValueError("a certificate goes with STARTTLS or TLS, and only with them")
        self.port = _free_port()
        self.handler = _Handler()
        self.security = security
        self.certificate = certificate
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"{'smtps' if self.security == 'tls' else 'smtp'}://{USERNAME}:{PASSWORD}@127.0.0.1:{self.port}"

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def start(self) -> None:
        if self.certificate is None:
            # Sign-in over a plain connection is allowed here: the server is on loopback and the test's alone.
            self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                          authenticator=_authenticate, auth_require_tls=False)
        elif self.security == "starttls":
            self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                          authenticator=_authenticate, auth_required=True, auth_require_tls=True,
                                          tls_context=self.certificate.server_context(), require_starttls=True)
        else:
            # aiosmtpd's auth_require_tls knows STARTTLS only; here every byte is encrypted from the start. (It warns
            # against requiring AUTH without it, so AUTH is offered, and `Received.signed_in` tells it was used.)
            self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                          authenticator=_authenticate, auth_require_tls=False,
                                          ssl_context=self.certificate.server_context())
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[EmailMessage]:
        return [item.message for item in self.received if address in item.recipients]


@contextmanager
def running_smtp(security: Security = "none", certificate: Certificate | None = None) -> Iterator[SmtpTestServer]:
    server = SmtpTestServer(security, certificate)
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
