"""How CalDAV failures reach the sync engine: each HTTP status as its provider error, Retry-After read, a refused
sync token as CursorExpired, and no password in any message or log line."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from aiohttp import web

from domain.intervals import Span
from providers.base import (
    AuthFailed,
    CursorExpired,
    NotFound,
    OutgoingEvent,
    ProviderError,
    RateLimited,
    Unavailable,
)
from providers.caldav import CaldavCredentials, CaldavProvider, ConnectionCheckFailed, discover
from providers.caldav_http import Forbidden
from tests.support.caldav_servers import CaldavServer, make_calendar, serving_locally
from tests.support.server import free_port

START = datetime(2030, 1, 7, 9, tzinfo=UTC)
WINDOW = Span(START - timedelta(days=30), START + timedelta(days=365))
EVENT = OutgoingEvent("booking-3@lockstep", "Check", "", START, START + timedelta(hours=1), "Europe/Berlin")


def answering(status: int, headers: dict[str, str] | None = None,
              body: str = "") -> Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]:
    """A server that answers every request with `status`."""
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        return web.Response(status=status, headers=headers, text=body, content_type="application/xml")
    return handler


@pytest.mark.parametrize(("status", "headers", "expected", "retry_after"), [
    (429, {"Retry-After": "120"}, RateLimited, 120.0),
    (503, {"Retry-After": "7"}, RateLimited, 7.0),
    (503, {}, RateLimited, None),
    (429, {"Retry-After": "soon"}, RateLimited, None),
    (500, {}, Unavailable, None),
    (502, {}, Unavailable, None),
    (401, {"WWW-Authenticate": 'Basic realm="x"'}, AuthFailed, None),
    (403, {}, Forbidden, None),
    (404, {}, NotFound, None),
])
async def test_each_status_becomes_its_provider_error(status: int, headers: dict[str, str],
                                                      expected: type[ProviderError], retry_after: float | None) -> None:
    async with serving_locally(answering(status, headers)) as url, \
            CaldavProvider(CaldavCredentials(url, "tech", "pw"), url) as provider:
        with pytest.raises(expected) as raised:
            await provider.list_calendars()
    assert getattr(raised.value, "retry_after", None) == retry_after
    assert f"({status})" in str(raised.value)


async def test_retry_after_may_be_an_http_date() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    async with serving_locally(answering(503, {"Retry-After": later})) as url, \
            CaldavProvider(CaldavCredentials(url, "tech", "pw"), url) as provider:
        with pytest.raises(RateLimited) as raised:
            await provider.fetch_changes(f"{url}cal/", None, WINDOW)
    assert raised.value.retry_after is not None and 85 <= raised.value.retry_after <= 90


@pytest.mark.parametrize("status", [403, 412])
async def test_a_refused_sync_token_is_an_expired_cursor(status: int) -> None:
    # Radicale answers 403 and Xandikos 412, both naming DAV:valid-sync-token
    refusal = '<?xml version="1.0"?><D:error xmlns:D="DAV:"><D:valid-sync-token/></D:error>'
    current = ('<?xml version="1.0"?><D:multistatus xmlns:D="DAV:"><D:response><D:href>/cal/</D:href><D:propstat>'
               '<D:prop><D:sync-token>t9</D:sync-token></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>'
               '</D:response></D:multistatus>')

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        if request.method == "PROPFIND":
            return web.Response(status=207, text=current, content_type="application/xml")
        return web.Response(status=status, text=refusal, content_type="application/xml")

    async with serving_locally(handler) as url, CaldavProvider(CaldavCredentials(url, "tech", "pw"), url) as provider:
        with pytest.raises(CursorExpired):
            await provider.fetch_changes(f"{url}cal/", "sync:t1", WINDOW)
        with pytest.raises(CursorExpired):  # a cursor this provider never issued
            await provider.fetch_changes(f"{url}cal/", "page-2", WINDOW)


async def test_a_broken_caldav_rule_is_not_an_authorisation_failure() -> None:
    body = '<?xml version="1.0"?><D:error xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:no-uid-conflict/>' \
           "</D:error>"
    async with serving_locally(answering(403, body=body)) as url, \
            CaldavProvider(CaldavCredentials(url, "tech", "pw"), url) as provider:
        with pytest.raises(ProviderError) as raised:
            await provider.put_event(f"{url}cal/", EVENT)
    assert not isinstance(raised.value, AuthFailed)
    assert "no-uid-conflict" in str(raised.value)


async def test_a_gone_event_cannot_be_deleted() -> None:
    async with serving_locally(answering(410)) as url, \
            CaldavProvider(CaldavCredentials(url, "tech", "pw"), url) as provider:
        with pytest.raises(NotFound):
            await provider.delete_event(f"{url}cal/", f"{url}cal/old.ics")


async def test_no_answer_at_all_is_unavailable() -> None:
    credentials = CaldavCredentials(f"http://127.0.0.1:{free_port()}/", "tech", "pw")
    async with CaldavProvider(credentials, credentials.server_url, timeout=2) as provider:
        with pytest.raises(Unavailable):
            await provider.list_calendars()


async def test_the_password_appears_in_no_message_and_no_log_line(radicale_server: CaldavServer,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    # given a calendar, and the account's password changed since
    calendar = await make_calendar(radicale_server, "Work")
    stale = f"old-{secrets.token_hex(8)}"
    credentials = CaldavCredentials(radicale_server.url, radicale_server.username, stale)
    caplog.set_level(logging.DEBUG)
    messages: list[str] = []
    # when every operation is tried with it
    async with CaldavProvider(credentials, radicale_server.home_url) as provider:
        for attempt in (provider.list_calendars(), provider.fetch_changes(calendar, None, WINDOW),
                        provider.fetch_changes(calendar, "sync:x", WINDOW), provider.put_event(calendar, EVENT),
                        provider.delete_event(calendar, f"{calendar}x.ics")):
            with pytest.raises(AuthFailed) as raised:
                await attempt
            messages += [str(raised.value), repr(raised.value)]
    with pytest.raises(ConnectionCheckFailed) as refused:
        await discover(credentials)
    messages += [str(refused.value), repr(credentials)]
    # then each was refused, and neither password shows anywhere
    logged = [record.getMessage() for record in caplog.records]
    assert len(logged) >= 6
    for text in messages + logged:
        assert stale not in text and radicale_server.password not in text
