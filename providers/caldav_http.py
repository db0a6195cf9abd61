"""The HTTP side of the CalDAV provider: one aiohttp session per account, hrefs made absolute and spelt one way,
and HTTP failures translated into the provider errors of providers.base.

Terms:
- *href*: a resource's address as a server writes it in XML (often only a path). `absolute` turns it into the
  one spelling Lockstep keeps as calendar and event ids, so that `/cal/a%40b.ics` from one server and `/cal/a@b.ics`
  from another (or from our own PUT) are the same id and an event id round-trips into If-Match and DELETE.
- *connection problem*: why a connection could not even be checked (wrong password, wrong URL, not a CalDAV
  server, TLS, timeout, unreachable); discovery reports it to the person entering the account.

Every message is safe to log and to show: it names the method, the host and path and the status, never the
password, the Authorization header or a response body.
"""

from __future__ import annotations

import logging
import re
import ssl
import time
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from urllib.parse import quote, urljoin, urlsplit

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from providers.base import AuthFailed, NotFound, ProviderError, RateLimited, Unavailable
from providers.caldav_xml import VALID_SYNC_TOKEN, preconditions
from providers.http_headers import retry_after

log = logging.getLogger("lockstep.providers.caldav")

XML = "application/xml; charset=utf-8"
ICALENDAR = "text/calendar; charset=utf-8"
# Characters a path segment may carry unescaped (RFC 3986 pchar besides letters and digits).
_SEGMENT_SAFE = "!$&'()*+,;=:@-._~"
_PLAIN_PATH = re.compile(r"[A-Za-z0-9!$&'()*+,;=:@\-._~/]*")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class CaldavCredentials:
    server_url: str
    username: str
    password: str

    def __repr__(self) -> str:  # a credentials object that ends up in a log or a traceback hides its password
        return f"CaldavCredentials(server_url={self.server_url!r}, username={self.username!r}, password='***')"


class ConnectionProblem(StrEnum):
    WRONG_PASSWORD = "wrong_password"
    WRONG_URL = "wrong_url"
    NOT_CALDAV = "not_caldav"
    TLS_ERROR = "tls_error"
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"


class ConnectionCheckFailed(ProviderError):
    """Discovery could not set the account up; `problem` says why, the message is safe to show."""

    def __init__(self, problem: ConnectionProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem


class WrongPassword(AuthFailed):
    """The server answered 401: it does not accept the username and password."""


class Forbidden(ProviderError):
    """The server answered 403: the password was accepted, but the account may not do this here (a read-only or
    shared calendar, a path outside the account). Reconnecting cannot help, so this is not AuthFailed: the one item
    fails and is retried alone while the rest of the connection keeps syncing."""


class TransportFailed(Unavailable):
    """No HTTP answer at all; `problem` is the connection problem it amounts to."""

    def __init__(self, problem: ConnectionProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem


def _decoded_if_safe(escape: re.Match[str]) -> str:
    character = chr(int(escape.group(1), 16))
    return character if _PLAIN_PATH.fullmatch(character) and character != "/" else escape.group(0).upper()


def normal_path(path: str) -> str:
    """`path` with the characters a segment may carry unescaped, and every other one percent-encoded (upper-case
    hex); an encoded slash stays encoded, since it is part of a segment's name."""
    if _PLAIN_PATH.fullmatch(path):
        return path  # the usual case, checked first because listings resolve thousands of hrefs
    return _ESCAPE.sub(_decoded_if_safe, quote(path, safe=_SEGMENT_SAFE + "/%"))


@lru_cache(maxsize=64)
def _origin(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return f"{parts.scheme.lower()}://{netloc}"


def absolute(base: str, href: str) -> str:
    """`href` resolved against `base`, without user info or fragment, its path spelt by `normal_path`."""
    if href.startswith("/") and not href.startswith("//"):
        path, _, query = href.partition("?")
        return _origin(base) + normal_path(path) + (f"?{query}" if query else "")
    joined = urljoin(base, href)
    parts = urlsplit(joined)
    return _origin(joined) + normal_path(parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def on_wire(url: str) -> str:
    """`url` (an id spelt by `absolute`) as it is sent: every '@' in it spelt %40. Ids keep the literal '@', yet
    some servers serve such a path only percent-encoded (Nextcloud for e-mail usernames, Stalwart for object
    names) while every server reads %40 as '@'. `absolute` leaves no user info, so each '@' is in the path."""
    return url.replace("@", "%40") if "@" in url else url


def collection(url: str) -> str:
    """A collection's URL with its trailing slash, so that members resolve inside it."""
    return url if url.endswith("/") else url + "/"


def shown(url: str) -> str:
    """The host and path of `url` for messages (no user info, no query)."""
    parts = urlsplit(url)
    return f"{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path or '/'}"


@dataclass(frozen=True)
class Answer:
    method: str
    url: str
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    @property
    def what(self) -> str:
        return f"{self.method} {shown(self.url)}"

    def expired_sync_token(self) -> bool:
        return self.status in (403, 412) and VALID_SYNC_TOKEN in preconditions(self.body)

    def error(self) -> ProviderError:
        """The provider error an unexpected status stands for."""
        if self.status == 401:
            return WrongPassword(f"{self.what}: the server refused the username or password (401)")
        if self.status == 403:
            broken = sorted(name.rpartition("}")[2] for name in preconditions(self.body))
            if broken:  # a CalDAV rule (e.g. no-uid-conflict), not a missing permission
                return ProviderError(f"{self.what}: refused by the server's {', '.join(broken)} rule (403)")
            return Forbidden(f"{self.what}: the account may not do this (403)")
        if self.status in (404, 410):
            return NotFound(f"{self.what}: not found ({self.status})")
        if self.status in (429, 503):
            return RateLimited(f"{self.what}: the server asks to slow down ({self.status})",
                               retry_after(self.headers))
        if self.status >= 500 or self.status in _OUTAGE_STATUSES or 300 <= self.status < 400:
            # A redirect, a request timeout or a locked resource comes from maintenance or a proxy in front of the
            # server, not from the event: retried like a server error rather than failing the item.
            return Unavailable(f"{self.what}: server error ({self.status})")
        return ProviderError(f"{self.what}: unexpected answer ({self.status})")


_OUTAGE_STATUSES = frozenset({408, 423, 425})


def _transport_problem(error: BaseException) -> ConnectionProblem:
    if isinstance(error, aiohttp.ClientSSLError | ssl.SSLError):
        return ConnectionProblem.TLS_ERROR
    if isinstance(error, TimeoutError | aiohttp.ServerTimeoutError):
        return ConnectionProblem.TIMEOUT
    return ConnectionProblem.UNREACHABLE


_PROBLEM_WORDS = {
    ConnectionProblem.TLS_ERROR: "the TLS certificate or handshake was refused",
    ConnectionProblem.TIMEOUT: "no answer in time",
    ConnectionProblem.UNREACHABLE: "could not connect",
}


class DavSession:
    """One account's HTTP session: basic authentication, a total time limit per request, keep-alive between calls."""

    def __init__(self, credentials: CaldavCredentials, timeout: float) -> None:
        if ":" in credentials.username:
            raise WrongPassword("a username cannot contain ':' with HTTP basic authentication")
        # aiohttp drops the Authorization header itself when a redirect leads to another origin.
        self._headers = {"Authorization": aiohttp.encode_basic_auth(credentials.username, credentials.password),
                         "User-Agent": "Lockstep CalDAV"}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None  # opened on first use, inside the event loop

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _opened(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers=self._headers)
        return self._session

    async def request(self, method: str, url: str, *, body: bytes | None = None, depth: str | None = None,
                      content_type: str = XML, headers: dict[str, str] | None = None,
                      follow: bool = False) -> Answer:
        """Send one request and read the whole answer; raise TransportFailed when there is no answer."""
        sent = dict(headers or {})
        if depth is not None:
            sent["Depth"] = depth
        if body is not None:
            sent["Content-Type"] = content_type
        started = time.monotonic()
        try:
            async with self._opened().request(method, URL(on_wire(url), encoded=True), data=body, headers=sent,
                                             allow_redirects=follow) as response:
                answer = Answer(method, str(response.url), response.status, response.headers, await response.read())
        except (aiohttp.ClientError, TimeoutError, ssl.SSLError) as error:
            problem = _transport_problem(error)
            log.info("caldav %s %s failed: %s", method, shown(url), problem.value)
            raise TransportFailed(problem, f"{method} {shown(url)}: {_PROBLEM_WORDS[problem]}") from None
        log.debug("caldav %s %s -> %s in %.0f ms", method, shown(url), answer.status,
                  (time.monotonic() - started) * 1000)
        return answer
