"""Our CalDAV client against the discovery and write quirks of real servers (docs/caldav-client.md lists each,
with its source), on a loopback server that mimics them (tests/fakes/caldav_quirks.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web

from domain.intervals import Span
from providers.base import NotFound, OutgoingEvent
from providers.caldav import CaldavCredentials, CaldavProvider, ConnectionCheckFailed, ConnectionProblem, discover
from providers.caldav_xml import DavResponse, is_event_calendar, parse_multistatus
from tests.fakes.caldav_quirks import CALENDAR, HOME, PRINCIPAL, Quirks, quirky_caldav
from tests.support.caldav_servers import serving_locally

START = datetime(2030, 1, 7, 9, tzinfo=UTC)
WINDOW = Span(START - timedelta(days=30), START + timedelta(days=365))
EVENT = OutgoingEvent("booking-3@lockstep", "Check", "", START, START + timedelta(hours=1), "Europe/Berlin")
Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


async def test_an_address_as_username_is_reached_through_percent_40_and_ids_keep_the_at() -> None:
    # given a server that serves paths with '@' only when it is spelt %40 (Nextcloud's e-mail usernames, and
    # Stalwart for object names) and refuses allprop and a Depth 1 PROPFIND of the principal (iCloud, GMX)
    async with quirky_caldav(Quirks(at_only_encoded=True)) as (server, url):
        # when the account is discovered, an event is written, listed, updated and deleted
        account = await discover(CaldavCredentials(url, "tech@example.com", "pw"))
        async with CaldavProvider(CaldavCredentials(url, "tech@example.com", "pw"), account.home_url) as provider:
            calendar = (await provider.list_calendars())[0].calendar_id
            written = await provider.put_event(calendar, EVENT)
            listed = await provider.fetch_changes(calendar, None, WINDOW)
            updated = await provider.put_event(calendar, EVENT, event_id=written.event_id, etag=written.etag)
            await provider.delete_event(calendar, updated.event_id, etag=updated.etag)
    # then every step worked: ids keep the one spelling (a literal '@'), only the wire says %40
    assert (account.principal_url, account.home_url) == (url + PRINCIPAL[1:], url + HOME[1:])
    assert account.own_addresses == ("tech@example.com",)
    assert [(found.name, found.colour) for found in account.calendars] == [("Work", "#cb30e0")]  # iCloud's #RRGGBBAA
    assert written.event_id == f"{url}{CALENDAR[1:]}booking-3@lockstep.ics"
    assert [event.event_id for event in listed.changed] == [written.event_id]
    assert server.objects == {}
    assert not any("@" in path for _, path, _ in server.requests)
    assert {depth for method, path, depth in server.requests if path == PRINCIPAL.replace("@", "%40")} == {"0"}


async def test_a_well_known_redirect_to_a_place_without_the_account_falls_back_to_the_given_host() -> None:
    # given a bare host whose /.well-known/caldav leads to a DAV place that names no principal (GMX, Infomaniak)
    async with quirky_caldav(Quirks(well_known="elsewhere")) as (server, url):
        account = await discover(CaldavCredentials(url, "tech@example.com", "pw"))
    # then the host itself was asked next and named the principal
    assert account.home_url == url + HOME[1:]
    assert [path for method, path, _ in server.requests[:3]] == ["/.well-known/caldav", "/dav/", "/"]


async def test_without_current_user_principal_the_given_url_is_taken_as_the_principal() -> None:
    # given a server that has no current-user-principal (mail.ru, DavMail), and the principal's URL as given
    async with quirky_caldav(Quirks(no_principal=True)) as (_, url):
        account = await discover(CaldavCredentials(url + "principals/tech%40example.com/", "tech", "pw"))
        # and the host alone, where there is nothing to find
        with pytest.raises(ConnectionCheckFailed) as raised:
            await discover(CaldavCredentials(url, "tech", "pw"))
    # then the given principal led to the home and its calendar; the bare host is a wrong URL
    assert (account.principal_url, account.home_url) == (url + PRINCIPAL[1:], url + HOME[1:])
    assert [found.name for found in account.calendars] == ["Work"]
    assert raised.value.problem is ConnectionProblem.WRONG_URL


async def test_a_well_known_redirect_to_another_origin_is_no_wrong_password() -> None:
    # given a host whose well-known redirect leads to another origin, which (getting no credentials, as they are
    # never sent across origins) answers 401; the host itself names the principal
    credentials_seen_elsewhere: list[bool] = []

    async def elsewhere(request: web.BaseRequest) -> web.StreamResponse:
        credentials_seen_elsewhere.append("Authorization" in request.headers)
        return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="other"'})

    async with serving_locally(elsewhere) as other_url, quirky_caldav() as (server, _):
        async def redirecting(request: web.BaseRequest) -> web.StreamResponse:
            if request.path == "/.well-known/caldav":
                raise web.HTTPMovedPermanently(other_url + "dav/")
            return await server.handle(request)

        async with serving_locally(redirecting) as host_url:
            account = await discover(CaldavCredentials(host_url, "tech@example.com", "pw"))
    # then the other origin never saw the password, and discovery went on at the host and found the account
    assert credentials_seen_elsewhere == [False]
    assert account.home_url == host_url + HOME[1:]


async def test_a_401_without_www_authenticate_is_never_met_as_credentials_go_with_the_first_request() -> None:
    # given a server whose 401 names no scheme (Yahoo): a client waiting for a challenge could never sign in
    async with quirky_caldav() as (server, _):
        async def no_challenge(request: web.BaseRequest) -> web.StreamResponse:
            if "Authorization" not in request.headers:
                return web.Response(status=401, text='{"error": "unauthorized"}')
            return await server.handle(request)

        async with serving_locally(no_challenge) as strict_url:
            account = await discover(CaldavCredentials(strict_url, "tech@example.com", "pw"))
    assert account.home_url == strict_url + HOME[1:]


@pytest.mark.parametrize("shape", ["weak", "percent-encoded", "none"])
async def test_an_etag_from_put_that_if_match_cannot_use_is_read_again(shape: str) -> None:
    # given a server whose PUT answer has a weak ETag (GMX), a percent-encoded one (Bedework 5) or none (servers
    # that altered what they stored): none of them would ever match in If-Match
    async with quirky_caldav(Quirks(put_etag=shape)) as (server, url), \
            CaldavProvider(CaldavCredentials(url, "tech", "pw"), HOME) as provider:
        written = await provider.put_event(url + CALENDAR[1:], EVENT)
        # when the event is updated with the etag the write gave
        updated = await provider.put_event(url + CALENDAR[1:], EVENT, event_id=written.event_id, etag=written.etag)
    # then the etag kept was the strong one the server holds, and the conditional update went through
    assert written.etag == '"v2"'
    assert updated.etag == '"v3"'
    assert server.objects["booking-3@lockstep.ics"][0] == '"v3"'


async def test_a_server_that_ignores_if_none_match_still_gets_one_object() -> None:
    # given a server that overwrites despite If-None-Match: * (SOGo, Zimbra), and a create retried after its
    # answer was lost
    async with quirky_caldav(Quirks(ignores_if_none_match=True)) as (server, url), \
            CaldavProvider(CaldavCredentials(url, "tech", "pw"), HOME) as provider:
        first = await provider.put_event(url + CALENDAR[1:], EVENT)
        again = await provider.put_event(url + CALENDAR[1:], EVENT)
    # then the marker's stable name kept it to one object
    assert first.event_id == again.event_id
    assert list(server.objects) == ["booking-3@lockstep.ics"]


async def test_a_server_that_names_the_object_itself_is_followed_by_its_location() -> None:
    # given a server that stores a new object under a name of its own and says where in Location (201)
    async with quirky_caldav(Quirks(renames_on_put=True)) as (server, url), \
            CaldavProvider(CaldavCredentials(url, "tech", "pw"), HOME) as provider:
        written = await provider.put_event(url + CALENDAR[1:], EVENT)
        updated = await provider.put_event(url + CALENDAR[1:], EVENT, event_id=written.event_id, etag=written.etag)
        await provider.delete_event(url + CALENDAR[1:], updated.event_id, etag=updated.etag)
    # then the event id is where the server put it, and the update and the delete reached that object
    assert written.event_id == f"{url}{CALENDAR[1:]}server-named-1.ics"
    assert updated.event_id == written.event_id
    assert server.objects == {}


async def test_a_missing_object_answered_403_is_told_apart_from_a_refusal() -> None:
    # given a server that answers 403 for an object that does not exist (Robur), and one event that does
    async with quirky_caldav(Quirks(forbids_missing=True)) as (server, url), \
            CaldavProvider(CaldavCredentials(url, "tech", "pw"), HOME) as provider:
        written = await provider.put_event(url + CALENDAR[1:], EVENT)
        # when a missing event is deleted, then the existing one
        with pytest.raises(NotFound):
            await provider.delete_event(url + CALENDAR[1:], f"{url}{CALENDAR[1:]}gone-long-ago.ics")
        await provider.delete_event(url + CALENDAR[1:], written.event_id, etag=written.etag)
    # then the missing one was not found (done, for the engine), and the other was deleted
    assert server.objects == {}


def test_a_calendar_that_names_no_components_is_taken_to_hold_events() -> None:
    # given collections from a server without supported-calendar-component-set (Robur, Purelymail): RFC 4791
    # section 5.2.3 says such a calendar accepts every component
    def collection(props: str) -> DavResponse:
        body = ('<D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:response><D:href>/c/'
                f"</D:href><D:propstat><D:prop>{props}</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>"
                "</D:response></D:multistatus>")
        return parse_multistatus(body.encode()).responses[0]

    calendar = "<D:resourcetype><D:collection/><C:calendar/></D:resourcetype>"
    assert is_event_calendar(collection(calendar))
    assert not is_event_calendar(collection(calendar + '<C:supported-calendar-component-set><C:comp name="VTODO"/>'
                                                       "</C:supported-calendar-component-set>"))
    assert not is_event_calendar(collection("<D:resourcetype><D:collection/></D:resourcetype>"))
