"""Real CalDAV servers for tests: Radicale (with a password, so a wrong one can be tried) and Xandikos (no
authentication, principal /user/), each a child process of this virtualenv on a free loopback port with its own
temporary storage. A server that does not start fails the run loudly; it is never skipped.

`make_calendar` gives each test a calendar of its own, and `write_by_hand` plays the staff member adding an event
in their calendar app, so tests never share state through a server. `serving_locally` runs a tiny HTTP server
in the test's event loop for answers no real server gives on demand (HTML, 429, 500, a truncated sync).
"""

from __future__ import annotations

import secrets
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import aiohttp
import httpx
from aiohttp import web

from tests.support.server import free_port

_BIN = Path(sys.executable).parent
_MKCALENDAR = ('<?xml version="1.0" encoding="utf-8"?>'
               '<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>'
               '<D:displayname>{name}</D:displayname>'
               '<C:supported-calendar-component-set>{components}</C:supported-calendar-component-set>'
               '</D:prop></D:set></C:mkcalendar>')
_PROPPATCH = ('<?xml version="1.0" encoding="utf-8"?>'
              '<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" '
              'xmlns:I="http://apple.com/ns/ical/"><D:set><D:prop>{props}</D:prop></D:set></D:propertyupdate>')


@dataclass(frozen=True)
class CaldavServer:
    """A running server: where to start discovery (`url`), the account, and where its calendars live."""

    url: str
    username: str
    password: str
    kind: str  # "radicale" or "xandikos"
    principal_url: str
    home_url: str

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": aiohttp.encode_basic_auth(self.username, self.password)}


def _wait_until_answering(process: subprocess.Popen[bytes], url: str, log: Path, name: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.request("OPTIONS", url, timeout=1)
            return
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"{name} did not start:\n{log.read_text()}")
        time.sleep(0.05)


@contextmanager
def _serving(command: list[str], url: str, workdir: Path, name: str) -> Iterator[None]:
    log = workdir / f"{name}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=workdir, stdout=output, stderr=subprocess.STDOUT)
        try:
            _wait_until_answering(process, url, log, name)
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def running_radicale(workdir: Path) -> Iterator[CaldavServer]:
    """Radicale with one htpasswd user whose password is random (so a test can look for it in logs)."""
    port, username, password = free_port(), "tech", f"pw-{secrets.token_hex(12)}"
    users = workdir / "users"
    users.write_text(f"{username}:{password}\n")
    url = f"http://127.0.0.1:{port}/"
    command = [str(_BIN / "radicale"), "--server-hosts", f"127.0.0.1:{port}", "--auth-type", "htpasswd",
               "--auth-htpasswd-filename", str(users), "--auth-htpasswd-encryption", "plain",
               # a refused password is answered at once: the wrong-password test need not wait a second
               "--auth-delay", "0", "--storage-filesystem-folder", str(workdir / "storage"),
               "--logging-level", "warning"]
    with _serving(command, url, workdir, "radicale"):
        yield CaldavServer(url, username, password, "radicale", f"{url}{username}/", f"{url}{username}/")


@contextmanager
def running_xandikos(workdir: Path) -> Iterator[CaldavServer]:
    """Xandikos with its default layout (principal /user/, home /user/calendars/); it checks no password."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = [str(_BIN / "xandikos"), "serve", "-d", str(workdir / "storage"), "--defaults",
               "-l", "127.0.0.1", "-p", str(port)]
    with _serving(command, url, workdir, "xandikos"):
        yield CaldavServer(url, "user", "not-checked", "xandikos", f"{url}user/", f"{url}user/calendars/")


async def _send(server: CaldavServer, method: str, url: str, body: str, content_type: str,
                headers: dict[str, str] | None = None) -> aiohttp.ClientResponse:
    sent = {**server.auth_headers(), "Content-Type": content_type, **(headers or {})}
    async with aiohttp.ClientSession() as session, session.request(method, url, data=body.encode(),
                                                                   headers=sent) as response:
        await response.read()
        return response


async def make_calendar(server: CaldavServer, name: str, components: tuple[str, ...] = ("VEVENT",)) -> str:
    """MKCALENDAR a fresh calendar named `name` (display name) for `components` in the account's home; returns its
    URL."""
    url = f"{server.home_url}{uuid.uuid4().hex[:12]}/"
    listed = "".join(f'<C:comp name="{component}"/>' for component in components)
    response = await _send(server, "MKCALENDAR", url, _MKCALENDAR.format(name=escape(name), components=listed),
                           "application/xml; charset=utf-8")
    if response.status != 201:
        raise RuntimeError(f"MKCALENDAR {url} answered {response.status}")
    return url


async def proppatch(server: CaldavServer, url: str, *, colour: str | None = None, timezone_ical: str | None = None,
                    addresses: tuple[str, ...] | None = None) -> None:
    """PROPPATCH a calendar's Apple colour and CalDAV calendar-timezone, or a principal's calendar addresses."""
    props = ""
    if colour is not None:
        props += f"<I:calendar-color>{escape(colour)}</I:calendar-color>"
    if timezone_ical is not None:
        props += f"<C:calendar-timezone>{escape(timezone_ical)}</C:calendar-timezone>"
    if addresses is not None:
        hrefs = "".join(f"<D:href>{escape(address)}</D:href>" for address in addresses)
        props += f"<C:calendar-user-address-set>{hrefs}</C:calendar-user-address-set>"
    response = await _send(server, "PROPPATCH", url, _PROPPATCH.format(props=props), "application/xml; charset=utf-8")
    if response.status != 207:
        raise RuntimeError(f"PROPPATCH {url} answered {response.status}")


async def write_by_hand(server: CaldavServer, calendar_url: str, name: str, ical_text: str) -> str:
    """The staff member saves an event in their calendar app: PUT `name`.ics; returns the event's URL."""
    url = f"{calendar_url}{name}.ics"
    response = await _send(server, "PUT", url, ical_text, "text/calendar; charset=utf-8")
    if response.status not in (201, 204):
        raise RuntimeError(f"PUT {url} answered {response.status}")
    return url


async def delete_by_hand(server: CaldavServer, event_url: str) -> None:
    response = await _send(server, "DELETE", event_url, "", "text/plain")
    if response.status not in (200, 204):
        raise RuntimeError(f"DELETE {event_url} answered {response.status}")


@asynccontextmanager
async def serving_locally(handler: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]],
                          ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[str]:
    """Serve every request (any method) with `handler` on a free loopback port; yields the base URL."""
    runner = web.ServerRunner(web.Server(handler))
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port, ssl_context=ssl_context)
    await site.start()
    try:
        yield f"{'https' if ssl_context else 'http'}://127.0.0.1:{port}/"
    finally:
        await runner.cleanup()
