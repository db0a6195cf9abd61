"""Our CalDAV client against the sync-collection and listing quirks of real servers (docs/caldav-client.md lists
each, with its source): on Radicale and Xandikos where they show the quirk, else on the loopback server of
tests/fakes/caldav_quirks.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.busy import BusyPolicy, caldav_busy_spans
from domain.intervals import Span
from providers.base import CursorExpired
from providers.caldav import CaldavCredentials, CaldavProvider
from tests.fakes.caldav_quirks import CALENDAR, HOME, Quirks, quirky_caldav
from tests.support.caldav_servers import CaldavServer, make_calendar, write_by_hand

START = datetime(2030, 1, 7, 9, tzinfo=UTC)
WINDOW = Span(START - timedelta(days=30), START + timedelta(days=365))


def errand(number: int, starts: datetime = START, component: str = "VEVENT") -> str:
    times = (f"DTSTART:{starts:%Y%m%dT%H%M%SZ}\r\nDTEND:{starts + timedelta(minutes=30):%Y%m%dT%H%M%SZ}\r\n"
             if component == "VEVENT" else f"DUE:{starts:%Y%m%dT%H%M%SZ}\r\n")
    return (f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Staff phone//EN\r\nBEGIN:{component}\r\n"
            f"UID:hand-{number}@phone.example\r\nDTSTAMP:20291201T120000Z\r\n{times}SUMMARY:Errand {number}\r\n"
            f"END:{component}\r\nEND:VCALENDAR\r\n")


def ids(url: str, *names: str) -> list[str]:
    return [f"{url}{CALENDAR[1:]}{name}".replace("%40", "@") for name in names]


@pytest.mark.parametrize("quirk", ["unsupported", "unreadable-token", "teapot-after-delete", "drops-deletes"])
async def test_a_sync_answer_that_cannot_be_had_or_trusted_becomes_a_complete_listing(quirk: str) -> None:
    # given a calendar with a sync token whose sync-collection REPORT is not implemented (501), fails for a token
    # the server cannot read (500: Xandikos 0.2, CCS), is refused after a delete (418: Infomaniak, older
    # sabre/dav), or is silent about a delete (Bedework 5)
    async with quirky_caldav(Quirks(sync=quirk)) as (server, url), \
            CaldavProvider(CaldavCredentials(url, "tech", "pw"), HOME) as provider:
        server.store("one.ics", errand(1))
        server.store("two.ics", errand(2))
        first = await provider.fetch_changes(url + CALENDAR[1:], None, WINDOW)
        # when the staff member deletes one event and the calendar is fetched from the cursor
        server.remove("one.ics")
        after = await provider.fetch_changes(url + CALENDAR[1:], first.cursor, WINDOW)
    # then the fetch is a complete listing, so the deleted event is known to be gone
    assert after.complete
    assert [event.event_id for event in after.changed] == ids(url, "two.ics")
    assert after.cursor == f"sync:{server.sync_token}"


async def test_a_sync_answer_that_lists_the_collection_itself_yields_only_its_events() -> None:
    # given a server whose sync answer lists the calendar collection as one of its members (iCloud)
    async with quirky_caldav(Quirks(collection_in_sync=True)) as (server, url), \
            CaldavProvider(CaldavCredentials(url, "tech", "pw"), HOME) as provider:
        first = await provider.fetch_changes(url + CALENDAR[1:], None, WINDOW)
        etag = server.store("one.ics", errand(1))
        after = await provider.fetch_changes(url + CALENDAR[1:], first.cursor, WINDOW)
    # then the collection is neither an event nor fetched as one
    assert (after.complete, after.deleted) == (False, ())
    assert [(event.event_id, event.etag) for event in after.changed] == [(ids(url, "one.ics")[0], etag)]


async def test_a_listing_that_ignores_time_range_and_component_gives_busy_time_only_inside_the_window() -> None:
    # given a server whose calendar-query ignores its time range (SOGo, Bedework) and its VEVENT filter
    # (Infomaniak, Yahoo): it also returns a task and an event a year before the window
    async with quirky_caldav() as (server, url), \
            CaldavProvider(CaldavCredentials(url, "tech", "pw"), HOME) as provider:
        server.store("inside.ics", errand(1))
        server.store("task.ics", errand(2, component="VTODO"))
        server.store("long-ago.ics", errand(3, START - timedelta(days=400)))
        listed = await provider.fetch_changes(url + CALENDAR[1:], None, WINDOW)
    # then the client passes on what the server said, and reading it finds busy time in the window only
    busy = {event.event_id.rpartition("/")[2]: caldav_busy_spans(event.payload, WINDOW, BusyPolicy("UTC"))
            for event in listed.changed}
    assert {name: [span.span for span in spans] for name, spans in busy.items()} == {
        "inside.ics": [Span(START, START + timedelta(minutes=30))], "task.ics": [], "long-ago.ics": []}


async def test_a_token_the_server_refuses_is_an_expired_cursor_on_radicale_and_xandikos(
        caldav_server: CaldavServer) -> None:
    # given a calendar and a sync token it never issued (Radicale: 403, Xandikos: 412, both valid-sync-token)
    calendar = await make_calendar(caldav_server, "Work")
    credentials = CaldavCredentials(caldav_server.url, caldav_server.username, caldav_server.password)
    async with CaldavProvider(credentials, caldav_server.home_url) as provider:
        listed = await provider.fetch_changes(calendar, None, WINDOW)
        token = listed.cursor.removeprefix("sync:")
        with pytest.raises(CursorExpired):
            await provider.fetch_changes(calendar, f"sync:{token[:-8]}00000000", WINDOW)


async def test_a_series_begun_before_the_window_arrives_whole_with_its_exception_and_exdate(
        caldav_server: CaldavServer) -> None:
    # given a weekly series that began before the window, with one date excluded and one occurrence moved: our
    # client never asks the server to expand it (Radicale, Nextcloud, Robur expand wrongly, GMX not at all, most
    # drop exceptions when they do), so it must come back as the one object that was stored
    first = START - timedelta(days=60)
    excluded, moved = first + timedelta(weeks=6), first + timedelta(weeks=7)
    series = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Staff phone//EN\r\n"
              f"BEGIN:VEVENT\r\nUID:series@phone.example\r\nDTSTAMP:20291201T120000Z\r\n"
              f"DTSTART:{first:%Y%m%dT%H%M%SZ}\r\nDTEND:{first + timedelta(hours=1):%Y%m%dT%H%M%SZ}\r\n"
              f"RRULE:FREQ=WEEKLY;COUNT=20\r\nEXDATE:{excluded:%Y%m%dT%H%M%SZ}\r\nSUMMARY:Class\r\nEND:VEVENT\r\n"
              f"BEGIN:VEVENT\r\nUID:series@phone.example\r\nDTSTAMP:20291201T120000Z\r\n"
              f"RECURRENCE-ID:{moved:%Y%m%dT%H%M%SZ}\r\nDTSTART:{moved + timedelta(hours=2):%Y%m%dT%H%M%SZ}\r\n"
              f"DTEND:{moved + timedelta(hours=3):%Y%m%dT%H%M%SZ}\r\nSUMMARY:Class (moved)\r\nEND:VEVENT\r\n"
              "END:VCALENDAR\r\n")
    calendar = await make_calendar(caldav_server, "Work")
    url = await write_by_hand(caldav_server, calendar, "series", series)
    credentials = CaldavCredentials(caldav_server.url, caldav_server.username, caldav_server.password)
    async with CaldavProvider(credentials, caldav_server.home_url) as provider:
        listed = await provider.fetch_changes(calendar, None, WINDOW)
    # then the listing holds the series, and its busy time has every occurrence in the window but the excluded
    assert [event.event_id for event in listed.changed] == [url]
    spans = [span.span for span in caldav_busy_spans(listed.changed[0].payload, WINDOW, BusyPolicy("UTC"))]
    starts = [first + timedelta(weeks=week) for week in range(20)]
    expected = [Span(start + timedelta(hours=2), start + timedelta(hours=3)) if start == moved
                else Span(start, start + timedelta(hours=1))
                for start in starts if start >= WINDOW.start and start != excluded]
    assert spans == expected
    assert len(expected) == 14
