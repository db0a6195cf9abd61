"""One object a server cannot evaluate must not lose the whole calendar: when the window query fails (500), the
members are listed (PROPFIND Depth 1) and fetched by calendar-multiget in chunks; a chunk the server fails on is
halved until the object that causes it stands alone, and that one is reported unreadable, not deleted."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from providers.base import Changes, RemoteEvent, Unavailable
from providers.caldav import CaldavCredentials, CaldavProvider
from tests.providers.test_caldav_sync import (
    WINDOW,
    hand_event,
    member,
    multistatus,
    propstat,
    requests_logged,
)
from tests.support.caldav_servers import CaldavServer, make_calendar, serving_locally, write_by_hand

BAD_RULE = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Staff phone//EN\r\nBEGIN:VEVENT\r\nUID:bad@phone.example\r\n"
            "DTSTAMP:20291201T120000Z\r\nDTSTART:20300108T090000Z\r\nDTEND:20300108T100000Z\r\n"
            "RRULE:FREQ=SOMETIMES;COUNT=3\r\nSUMMARY:Broken\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


async def test_xandikos_fails_the_window_query_on_a_malformed_rrule_and_the_members_are_read_instead(
        xandikos_server: CaldavServer, caplog: pytest.LogCaptureFixture) -> None:
    # Given a Xandikos calendar with two good events and one whose RRULE it cannot evaluate
    calendar = await make_calendar(xandikos_server, "Work")
    for name, text in (("one", hand_event(1)), ("broken", BAD_RULE), ("two", hand_event(2, 3))):
        await write_by_hand(xandikos_server, calendar, name, text)
    credentials = CaldavCredentials(xandikos_server.url, xandikos_server.username, xandikos_server.password)
    caplog.set_level(logging.DEBUG, logger="lockstep.providers.caldav")
    # When the window is listed
    async with CaldavProvider(credentials, xandikos_server.home_url) as provider:
        changes = await provider.fetch_changes(calendar, None, WINDOW)
    # Then the query failed, and the three objects came by PROPFIND and one multiget; the reader decides the rest
    assert requests_logged(caplog) == [("PROPFIND", 207), ("REPORT", 500), ("PROPFIND", 207), ("REPORT", 207)]
    assert [event.event_id for event in changes.changed] == [f"{calendar}broken.ics", f"{calendar}one.ics",
                                                             f"{calendar}two.ics"]
    assert "FREQ=SOMETIMES" in changes.changed[0].payload
    assert (changes.complete, changes.deleted, changes.unreadable) == (True, (), ())
    assert changes.cursor.startswith("sync:")


@dataclass
class FailingServer:
    """A server that answers 500 to any query or multiget that touches one of `poison`, as a server that cannot
    evaluate those objects does; `seen` is how many hrefs each multiget asked for."""

    objects: dict[str, str]
    poison: frozenset[str]
    seen: list[int] = field(default_factory=list)

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        body = (await request.read()).decode()
        if request.method == "PROPFIND" and request.headers.get("Depth") == "0":
            return multistatus(f"<D:response><D:href>/cal/</D:href>{propstat('<D:sync-token>t2</D:sync-token>')}"
                               "</D:response>")
        if request.method == "PROPFIND":
            members = "".join(f"<D:response><D:href>{href}</D:href>{propstat('<D:getetag>1</D:getetag>')}"
                              "</D:response>" for href in sorted(self.objects))
            collection = propstat("<D:resourcetype><D:collection/></D:resourcetype>")
            return multistatus(f"<D:response><D:href>/cal/</D:href>{collection}</D:response>{members}")
        if "sync-collection" in body:
            return multistatus("".join(f"<D:response><D:href>{href}</D:href>{propstat('<D:getetag>2</D:getetag>')}"
                                       "</D:response>" for href in sorted(self.objects)) + "<D:sync-token>t3"
                                                                                           "</D:sync-token>")
        hrefs = re.findall(r"<D:href>(.*?)</D:href>", body) if "multiget" in body else sorted(self.objects)
        if "multiget" in body:
            self.seen.append(len(hrefs))
        if self.poison & set(hrefs):
            return web.Response(status=500, text="Internal Server Error")
        return multistatus("".join(member(href, self.objects[href]) for href in hrefs))


def seven_objects() -> dict[str, str]:
    return {f"/cal/{n}.ics": hand_event(n, n) for n in range(7)}


async def test_a_chunk_the_server_fails_on_is_halved_until_the_bad_object_stands_alone(
        caplog: pytest.LogCaptureFixture) -> None:
    # Given seven objects, the server failing on the fifth, and chunks of four
    script = FailingServer(seven_objects(), frozenset({"/cal/4.ics"}))
    async with serving_locally(script) as url, CaldavProvider(CaldavCredentials(url, "tech", "pw"), url) as provider:
        provider.multiget_chunk = 4
        # When the window is listed
        changes = await provider.fetch_changes(f"{url}cal/", None, WINDOW)
    # Then six objects are read, the fifth is unreadable (not deleted), and the failing chunks were halved
    assert [event.event_id for event in changes.changed] == [f"{url}cal/{n}.ics" for n in (0, 1, 2, 3, 5, 6)]
    assert (changes.complete, changes.deleted, changes.unreadable) == (True, (), (f"{url}cal/4.ics",))
    assert script.seen == [4, 3, 1, 2]  # [0-3] fine; [4-6] fails: [4] alone fails, [5-6] fine
    assert any("left out" in record.getMessage() and "/cal/4.ics" in record.getMessage()
               for record in caplog.records)


async def test_the_sync_collection_path_reports_the_object_unreadable_rather_than_deleted() -> None:
    # Given a sync since t1 that lists two changed objects, the server failing on one of them
    script = FailingServer({"/cal/a.ics": hand_event(1), "/cal/bad.ics": hand_event(2)}, frozenset({"/cal/bad.ics"}))
    async with serving_locally(script) as url, CaldavProvider(CaldavCredentials(url, "tech", "pw"), url) as provider:
        changes = await provider.fetch_changes(f"{url}cal/", "sync:t1", WINDOW)
    # Then the good one is changed, the bad one unreadable, nothing deleted
    assert changes == Changes((RemoteEvent(f"{url}cal/a.ics", '"/cal/a.ics-1"', hand_event(1).replace("\r\n", "\n")),),
                              (), "sync:t3", complete=False, unreadable=(f"{url}cal/bad.ics",))


async def test_a_server_that_fails_on_every_object_is_an_outage_not_unreadable_events() -> None:
    # Given a server that fails on every object
    objects = seven_objects()
    script = FailingServer(objects, frozenset(objects))
    async with serving_locally(script) as url, CaldavProvider(CaldavCredentials(url, "tech", "pw"), url) as provider:
        provider.max_unreadable = 3
        # Then the listing fails as the server's trouble (retried later), after three objects alone
        with pytest.raises(Unavailable, match="server error"):
            await provider.fetch_changes(f"{url}cal/", None, WINDOW)
    assert script.seen == [7, 3, 1, 2, 1, 1]
