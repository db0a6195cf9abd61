"""CalDAV reading beyond the shared contract: the cheap change check, multiget chunks, truncated sync answers,
the ctag fallback, writes whose answer has no ETag, and the speed of a first import."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web

from domain.intervals import Span
from providers.base import Changes, OutgoingEvent, RemoteEvent, Written
from providers.caldav import CaldavCredentials, CaldavProvider
from providers.caldav_http import absolute
from tests.support.caldav_servers import CaldavServer, make_calendar, serving_locally, write_by_hand

START = datetime(2030, 1, 7, 9, tzinfo=UTC)
WINDOW = Span(START - timedelta(days=30), START + timedelta(days=365))


def hand_vevent(number: int, hours_after_start: int = 0) -> str:
    starts = START + timedelta(hours=hours_after_start)
    return (f"BEGIN:VEVENT\r\nUID:hand-{number}@phone.example\r\nDTSTAMP:20291201T120000Z\r\n"
            f"DTSTART:{starts:%Y%m%dT%H%M%SZ}\r\nDTEND:{starts + timedelta(minutes=30):%Y%m%dT%H%M%SZ}\r\n"
            f"SUMMARY:Errand {number}\r\nEND:VEVENT\r\n")


def calendar_text(*vevents: str) -> str:
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Staff phone//EN\r\n{''.join(vevents)}END:VCALENDAR\r\n"


def hand_event(number: int, hours_after_start: int = 0) -> str:
    return calendar_text(hand_vevent(number, hours_after_start))


def requests_logged(caplog: pytest.LogCaptureFixture) -> list[tuple[str, int]]:
    """(method, status) of every request the provider logged (its debug line: method, address, status, time)."""
    found = []
    for record in caplog.records:
        if record.name == "lockstep.providers.caldav" and isinstance(record.args, tuple) and len(record.args) == 4:
            method, _, status, _ = record.args
            assert isinstance(method, str) and isinstance(status, int)
            found.append((method, status))
    return found


@pytest.fixture
async def caldav(caldav_server: CaldavServer) -> AsyncIterator[tuple[CaldavProvider, str]]:
    credentials = CaldavCredentials(caldav_server.url, caldav_server.username, caldav_server.password)
    async with CaldavProvider(credentials, caldav_server.home_url) as provider:
        yield provider, await make_calendar(caldav_server, "Work")


async def test_nothing_changed_costs_one_propfind_and_keeps_the_cursor(
        caldav: tuple[CaldavProvider, str], caplog: pytest.LogCaptureFixture) -> None:
    provider, calendar = caldav
    await provider.put_event(calendar, OutgoingEvent("booking-1@lockstep", "Check", "", START,
                                                     START + timedelta(hours=1), "Europe/Berlin"))
    first = await provider.fetch_changes(calendar, None, WINDOW)
    caplog.set_level(logging.DEBUG, logger="lockstep.providers.caldav")
    again = await provider.fetch_changes(calendar, first.cursor, WINDOW)
    assert again == Changes((), (), first.cursor, complete=False)
    assert requests_logged(caplog) == [("PROPFIND", 207)]


class SmallChunks(CaldavProvider):
    multiget_chunk = 2


async def test_changed_events_are_fetched_in_multiget_chunks(caldav_server: CaldavServer,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    # given a listing, then five events added by hand: more than two chunks of two
    calendar = await make_calendar(caldav_server, "Work")
    credentials = CaldavCredentials(caldav_server.url, caldav_server.username, caldav_server.password)
    async with SmallChunks(credentials, caldav_server.home_url) as provider:
        first = await provider.fetch_changes(calendar, None, WINDOW)
        added = [await write_by_hand(caldav_server, calendar, f"errand-{n}", hand_event(n, n)) for n in range(5)]
        caplog.set_level(logging.DEBUG, logger="lockstep.providers.caldav")
        since = await provider.fetch_changes(calendar, first.cursor, WINDOW)
    # then all five come back, with their data, after one sync report and three multigets
    assert [event.event_id for event in since.changed] == sorted(added)
    assert [re.search(r"UID:(\S+)", event.payload).group(1) for event in since.changed  # type: ignore[union-attr]
            ] == [f"hand-{n}@phone.example" for n in range(5)]
    assert all(event.etag.startswith('"') for event in since.changed)
    assert requests_logged(caplog) == [("PROPFIND", 207)] + [("REPORT", 207)] * 4


@dataclass
class ScriptedServer:
    """A minimal CalDAV collection at /cal/ answering from fixed data, for what the real servers never do."""

    sync_token: str = ""
    ctag: str = ""
    pages: dict[str, str] = field(default_factory=dict)  # sync token asked -> multistatus body
    objects: dict[str, str] = field(default_factory=dict)  # href -> iCalendar text
    seen: list[str] = field(default_factory=list)  # "METHOD path" of every request

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        body = (await request.read()).decode()
        self.seen.append(f"{request.method} {request.path}")
        if request.method == "PROPFIND" and request.path == "/cal/":
            props = (f"<D:sync-token>{self.sync_token}</D:sync-token>" if self.sync_token else "") + (
                f"<CS:getctag>{self.ctag}</CS:getctag>" if self.ctag else "")
            return multistatus(f"<D:response><D:href>/cal/</D:href>{propstat(props)}</D:response>")
        if request.method == "PROPFIND":
            return multistatus(f'<D:response><D:href>{request.path}</D:href>'
                               f'{propstat("<D:getetag>&quot;from-propfind&quot;</D:getetag>")}</D:response>')
        if request.method == "PUT":
            return web.Response(status=201)  # no ETag: the server altered what it stored
        if "sync-collection" in body:
            asked = re.search(r"<D:sync-token>(.*?)</D:sync-token>", body).group(1)  # type: ignore[union-attr]
            return multistatus(self.pages[asked])
        hrefs = re.findall(r"<D:href>(.*?)</D:href>", body) if "multiget" in body else sorted(self.objects)
        return multistatus("".join(member(href, self.objects[href]) for href in hrefs))


def propstat(props: str) -> str:
    return f"<D:propstat><D:prop>{props}</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>"


def member(href: str, data: str) -> str:
    return (f"<D:response><D:href>{href}</D:href>"
            f'{propstat(f"<D:getetag>&quot;{href}-1&quot;</D:getetag><C:calendar-data>{data}</C:calendar-data>")}'
            "</D:response>")


def multistatus(responses: str) -> web.Response:
    return web.Response(status=207, content_type="application/xml", text=(
        '<?xml version="1.0"?><D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" '
        f'xmlns:CS="http://calendarserver.org/ns/">{responses}</D:multistatus>'))


async def test_a_truncated_sync_answer_is_followed_to_the_end() -> None:
    # given a server that answers the sync in two pages, the first marked 507 (truncated)
    script = ScriptedServer(sync_token="t3", objects={"/cal/a.ics": hand_event(1), "/cal/b.ics": hand_event(2)})
    script.pages = {
        "t1": ('<D:response><D:href>/cal/a.ics</D:href>{}</D:response>'.format(propstat("<D:getetag>1</D:getetag>"))
               + "<D:response><D:href>/cal/gone.ics</D:href><D:status>HTTP/1.1 404 Not Found</D:status></D:response>"
               + "<D:response><D:href>/cal/</D:href><D:status>HTTP/1.1 507 Insufficient Storage</D:status>"
               + "<D:error><D:number-of-matches-within-limits/></D:error></D:response><D:sync-token>t2</D:sync-token>"),
        "t2": ('<D:response><D:href>/cal/b.ics</D:href>{}</D:response>'.format(propstat("<D:getetag>1</D:getetag>"))
               + "<D:sync-token>t3</D:sync-token>"),
    }
    async with serving_locally(script) as url, CaldavProvider(CaldavCredentials(url, "tech", "pw"), url) as provider:
        changes = await provider.fetch_changes(f"{url}cal/", "sync:t1", WINDOW)
    # then both pages count, and the cursor is the last page's token
    assert changes == Changes(
        (RemoteEvent(f"{url}cal/a.ics", '"/cal/a.ics-1"', hand_event(1).replace("\r\n", "\n")),
         RemoteEvent(f"{url}cal/b.ics", '"/cal/b.ics-1"', hand_event(2).replace("\r\n", "\n"))),
        (f"{url}cal/gone.ics",), "sync:t3", complete=False)
    assert script.seen == ["PROPFIND /cal/", "REPORT /cal/", "REPORT /cal/", "REPORT /cal/"]


async def test_without_sync_collection_the_ctag_decides_and_a_change_lists_everything() -> None:
    script = ScriptedServer(ctag="c1", objects={"/cal/a.ics": hand_event(1)})
    async with serving_locally(script) as url, CaldavProvider(CaldavCredentials(url, "tech", "pw"), url) as provider:
        calendar = f"{url}cal/"
        first = await provider.fetch_changes(calendar, None, WINDOW)
        unchanged = await provider.fetch_changes(calendar, first.cursor, WINDOW)
        script.ctag, script.objects["/cal/b.ics"] = "c2", hand_event(2)
        changed = await provider.fetch_changes(calendar, first.cursor, WINDOW)
        script.ctag = ""  # a server with neither version: every fetch lists everything
        versionless = await provider.fetch_changes(calendar, None, WINDOW)
        again = await provider.fetch_changes(calendar, versionless.cursor, WINDOW)
    assert (first.cursor, first.complete, [e.event_id for e in first.changed]) == ("ctag:c1", True, [f"{url}cal/a.ics"])
    assert unchanged == Changes((), (), "ctag:c1", complete=False)
    assert (changed.cursor, changed.complete, [e.event_id for e in changed.changed]) == (
        "ctag:c2", True, [f"{url}cal/a.ics", f"{url}cal/b.ics"])
    assert (versionless.cursor, again.cursor, again.complete, len(again.changed)) == ("full:", "full:", True, 2)


async def test_a_write_answered_without_etag_reads_the_etag() -> None:
    script = ScriptedServer()
    event = OutgoingEvent("booking-9@lockstep", "Check", "", START, START + timedelta(hours=1), "Europe/Berlin")
    async with serving_locally(script) as url, CaldavProvider(CaldavCredentials(url, "tech", "pw"), url) as provider:
        written = await provider.put_event(f"{url}cal/", event)
    assert written == Written(f"{url}cal/booking-9@lockstep.ics", '"from-propfind"')
    assert script.seen == ["PUT /cal/booking-9@lockstep.ics", "PROPFIND /cal/booking-9@lockstep.ics"]


@pytest.mark.parametrize(("base", "href", "expected"), [
    ("http://h:5/cal/", "/cal/a%40b.ics", "http://h:5/cal/a@b.ics"),
    ("http://h:5/cal/", "a@b.ics", "http://h:5/cal/a@b.ics"),
    ("HTTP://User:pw@H:5/cal/", "x.ics", "http://h:5/cal/x.ics"),
    ("http://h/cal/", "/cal/a b/%C3%BC%2f%41.ics", "http://h/cal/a%20b/%C3%BC%2FA.ics"),
    ("https://caldav.example/", "https://p12.example:8443/1/calendars/home/", "https://p12.example:8443/1/calendars/home/"),
])
def test_an_href_has_one_spelling_as_an_id(base: str, href: str, expected: str) -> None:
    # so the id from our PUT, from a listing and from a sync answer is one string, whichever way a server escapes
    assert absolute(base, href) == expected
