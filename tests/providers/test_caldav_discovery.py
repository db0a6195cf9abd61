"""CalDAV discovery against real Radicale and Xandikos, and every way a connection check can fail."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import socket
import ssl
from pathlib import Path

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from providers.base import RemoteCalendar
from providers.caldav import (
    DEFAULT_SERVER_URLS,
    CaldavCredentials,
    CaldavServerType,
    ConnectionCheckFailed,
    ConnectionProblem,
    discover,
    server_url_for,
)
from providers.caldav_discovery import normal_colour, zone_of
from tests.support.caldav_servers import CaldavServer, make_calendar, proppatch, serving_locally
from tests.support.server import free_port

BERLIN = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nEND:VTIMEZONE\r\nEND:VCALENDAR\r\n"


def credentials(server: CaldavServer, url: str | None = None, password: str | None = None) -> CaldavCredentials:
    return CaldavCredentials(url or server.url, server.username, server.password if password is None else password)


def test_the_server_url_is_the_given_one_else_the_providers_default() -> None:
    assert server_url_for(CaldavServerType.ICLOUD, None) == "https://caldav.icloud.com/"
    assert server_url_for(CaldavServerType.FASTMAIL, "") == "https://caldav.fastmail.com/"
    assert server_url_for(CaldavServerType.ICLOUD, "https://p12-caldav.icloud.com/") == "https://p12-caldav.icloud.com/"
    assert server_url_for(CaldavServerType.NEXTCLOUD, "https://cloud.example.org") == \
        "https://cloud.example.org/remote.php/dav"
    assert server_url_for(CaldavServerType.NEXTCLOUD, "cloud.example.org/") == "https://cloud.example.org/remote.php/dav"
    assert server_url_for(CaldavServerType.NEXTCLOUD, "https://example.org/nc/remote.php/dav/") == \
        "https://example.org/nc/remote.php/dav/"
    assert server_url_for(CaldavServerType.GENERIC, "http://127.0.0.1:5232/") == "http://127.0.0.1:5232/"
    assert set(DEFAULT_SERVER_URLS) == {CaldavServerType.ICLOUD, CaldavServerType.FASTMAIL}
    for server_type in (CaldavServerType.NEXTCLOUD, CaldavServerType.GENERIC):
        with pytest.raises(ValueError):
            server_url_for(server_type, None)
    with pytest.raises(ValueError):
        server_url_for(CaldavServerType.GENERIC, "ftp://example.org/")


@pytest.mark.parametrize(("given", "expected"), [
    ("#FF8800CC", "#ff8800"), ("#336699", "#336699"), ("#abc", "#aabbcc"), ("", ""), ("blue", ""),
    (" #00FF00 ", "#00ff00"),
])
def test_apple_colours_become_lower_case_rrggbb(given: str, expected: str) -> None:
    assert normal_colour(given) == expected


def test_the_calendar_zone_is_the_tzid_of_its_vtimezone() -> None:
    assert zone_of(BERLIN) == "Europe/Berlin"
    assert zone_of("BEGIN:VCALENDAR\nBEGIN:VTIMEZONE\nTZID;X-LIC=1:America/New_York\nEND:VTIMEZONE\nEND:VCALENDAR") \
        == "America/New_York"
    assert zone_of("") == "UTC"


async def test_discovery_finds_the_principal_home_and_event_calendars(caldav_server: CaldavServer) -> None:
    # given an event calendar with a colour and a time zone, and a task list
    jobs = await make_calendar(caldav_server, "Jobs")
    await proppatch(caldav_server, jobs, colour="#FF8800CC", timezone_ical=BERLIN)
    tasks = await make_calendar(caldav_server, "Tasks", components=("VTODO",))
    # when the account is discovered
    account = await discover(credentials(caldav_server))
    # then the principal and home are the server's, and the calendars are the event calendars in href order
    assert (account.principal_url, account.home_url) == (caldav_server.principal_url, caldav_server.home_url)
    ids = [calendar.calendar_id for calendar in account.calendars]
    assert ids == sorted(ids) and jobs in ids and tasks not in ids
    assert [calendar.primary for calendar in account.calendars] == [True] + [False] * (len(ids) - 1)
    found = next(calendar for calendar in account.calendars if calendar.calendar_id == jobs)
    assert found == RemoteCalendar(jobs, "Jobs", "#ff8800", "Europe/Berlin", writable=True, primary=jobs == ids[0])


async def test_a_calendar_without_colour_or_zone_gets_none_and_utc(caldav_server: CaldavServer) -> None:
    plain = await make_calendar(caldav_server, "Plain")
    account = await discover(credentials(caldav_server))
    found = next(calendar for calendar in account.calendars if calendar.calendar_id == plain)
    assert (found.name, found.colour, found.time_zone, found.writable) == ("Plain", "", "UTC", True)


async def test_own_addresses_are_the_principals_mailto_addresses(xandikos_server: CaldavServer,
                                                                 radicale_server: CaldavServer) -> None:
    # Xandikos keeps an address set that can be edited; Radicale's names only the principal's own path.
    await proppatch(xandikos_server, xandikos_server.principal_url, addresses=(
        "mailto:Tech@Example.COM", "/user/", "MAILTO:tech@work.example"))
    assert (await discover(credentials(xandikos_server))).own_addresses == ("tech@example.com", "tech@work.example")
    assert (await discover(credentials(radicale_server))).own_addresses == ()


async def test_a_bare_host_is_found_through_the_well_known_redirect(caldav_server: CaldavServer,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="lockstep.providers.caldav")
    account = await discover(credentials(caldav_server))
    # the first request went to /.well-known/caldav and, after the redirect, found the principal there
    requests = [(record.args[0], record.args[1], record.args[2]) for record in caplog.records
                if isinstance(record.args, tuple) and len(record.args) == 4]
    port = caldav_server.url.rstrip("/").rpartition(":")[2]
    assert requests[0] == ("PROPFIND", f"127.0.0.1:{port}/.well-known/caldav", 207)
    assert [path for _, path, _ in requests[1:]] == [
        f"127.0.0.1:{port}{account.principal_url.split(port, 1)[1]}",
        f"127.0.0.1:{port}{account.home_url.split(port, 1)[1]}",
    ]


async def test_a_wrong_password_is_told_apart(radicale_server: CaldavServer) -> None:
    with pytest.raises(ConnectionCheckFailed) as raised:
        await discover(credentials(radicale_server, password="not-the-password"))
    assert raised.value.problem is ConnectionProblem.WRONG_PASSWORD
    assert "not-the-password" not in str(raised.value)


@pytest.mark.parametrize("path", ["no-such-place/", "{user}/no-such-calendar-home/"])
async def test_a_wrong_url_is_told_apart(caldav_server: CaldavServer, path: str) -> None:
    # Radicale answers 403 outside the user's own tree and 404 inside it; Xandikos a 207 with a 404 inside.
    url = caldav_server.url + path.format(user=caldav_server.username)
    with pytest.raises(ConnectionCheckFailed) as raised:
        await discover(credentials(caldav_server, url))
    assert raised.value.problem is ConnectionProblem.WRONG_URL


async def html_page(request: web.BaseRequest) -> web.StreamResponse:
    if request.path == "/.well-known/caldav":
        return web.Response(status=404, text="Not here")
    return web.Response(text="<html><body>Welcome to our shop</body></html>", content_type="text/html")


async def test_a_web_site_is_not_caldav() -> None:
    async with serving_locally(html_page) as url:
        with pytest.raises(ConnectionCheckFailed) as raised:
            await discover(CaldavCredentials(url, "tech", "secret"))
    assert raised.value.problem is ConnectionProblem.NOT_CALDAV


def self_signed_context(folder: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
                   .not_valid_after(now + dt.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .sign(key, hashes.SHA256()))
    (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                       serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


async def test_an_untrusted_certificate_is_a_tls_error(tmp_path: Path) -> None:
    async with serving_locally(html_page, ssl_context=self_signed_context(tmp_path)) as url:
        with pytest.raises(ConnectionCheckFailed) as raised:
            await discover(CaldavCredentials(url, "tech", "secret"))
    assert raised.value.problem is ConnectionProblem.TLS_ERROR


async def test_a_server_that_never_answers_is_a_timeout() -> None:
    with socket.socket() as silent:  # the kernel accepts connections on a listening socket; nobody ever answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        with pytest.raises(ConnectionCheckFailed) as raised:
            await discover(CaldavCredentials(url, "tech", "secret"), timeout=0.3)
    assert raised.value.problem is ConnectionProblem.TIMEOUT


async def test_a_closed_port_or_unknown_host_is_unreachable() -> None:
    for url in (f"http://127.0.0.1:{free_port()}/", "http://no-such-host.invalid/"):
        with pytest.raises(ConnectionCheckFailed) as raised:
            await discover(CaldavCredentials(url, "tech", "secret"), timeout=5)
        assert raised.value.problem is ConnectionProblem.UNREACHABLE
