"""The CalendarProvider contract: every provider (the memory fake, CalDAV against real Radicale and Xandikos, Google
and Microsoft against their faithful fakes, and others as they are added to SUBJECTS) must pass the same tests.

A *subject* is a provider under test with a calendar of its own, plus the three things only a test can do: play the
staff member writing an event in their calendar app, make a cursor the provider no longer accepts, and read the
occurrences out of the payloads the provider returns (iCalendar objects, or Google's and Graph's one JSON resource per
occurrence).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
import pytest
import recurring_ical_events

from domain.graph_events import MARKER_PROPERTY_ID, graph_instant
from domain.intervals import Span
from providers.base import (
    CalendarProvider,
    Changes,
    CursorExpired,
    MovedOccurrence,
    NotFound,
    OutgoingEvent,
    PreconditionFailed,
    RateLimited,
    RemoteCalendar,
)
from providers.caldav import CaldavCredentials, CaldavProvider
from tests.fakes.memory import MemoryProvider
from tests.support.caldav_servers import CaldavServer, make_calendar, write_by_hand
from tests.support.google import conforming_google, google_provider
from tests.support.graph_contract import conforming_microsoft
from tests.support.microsoft import microsoft_provider

CALENDAR = RemoteCalendar("work", "Work", "#336699", "Europe/Berlin", writable=True, primary=True)
START = datetime(2030, 1, 7, 9, tzinfo=UTC)
WINDOW = Span(START - timedelta(days=30), START + timedelta(days=365))
DENTIST = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Staff phone//EN\r
BEGIN:VEVENT\r
UID:dentist-2030@phone.example\r
DTSTAMP:20291201T120000Z\r
DTSTART:20300108T140000Z\r
DTEND:20300108T150000Z\r
SUMMARY:Dentist\r
END:VEVENT\r
END:VCALENDAR\r
"""


@dataclass(frozen=True)
class Occurrence:
    owner: str  # the event id of what holds it: the event, or the series of an instance listed on its own
    uid: str  # the iCalendar UID, or for Google the marker property (else the iCalUID)
    summary: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Subject:
    provider: CalendarProvider
    calendar_id: str
    write_by_hand: Callable[[str, str], Awaitable[str]]  # (name, iCalendar text) -> event id
    expire: Callable[[str], Awaitable[str]]  # a cursor it issued -> one it no longer accepts
    occurrences: Callable[[Changes], list[Occurrence]]


def ical_occurrences(changes: Changes) -> list[Occurrence]:
    found = []
    for event in changes.changed:
        calendar = icalendar.Calendar.from_ical(event.payload)
        for occurrence in recurring_ical_events.of(calendar).between(WINDOW.start, WINDOW.end):
            found.append(Occurrence(event.event_id, str(occurrence["UID"]), str(occurrence.get("SUMMARY", "")),
                                    occurrence.decoded("DTSTART").astimezone(UTC),
                                    occurrence.decoded("DTEND").astimezone(UTC)))
    return found


def google_occurrences(changes: Changes) -> list[Occurrence]:
    found = []
    for event in changes.changed:
        resource: dict[str, Any] = json.loads(event.payload)
        marker = resource.get("extendedProperties", {}).get("private", {}).get("lockstepMarker")
        found.append(Occurrence(resource.get("recurringEventId", resource["id"]), marker or resource["iCalUID"],
                                resource.get("summary", ""),
                                datetime.fromisoformat(resource["start"]["dateTime"]).astimezone(UTC),
                                datetime.fromisoformat(resource["end"]["dateTime"]).astimezone(UTC)))
    return found


def google_resource(ical_text: str) -> dict[str, Any]:
    """The event of an iCalendar object as the staff member would enter it in Google Calendar."""
    event = icalendar.Calendar.from_ical(ical_text).walk("VEVENT")[0]
    return {"iCalUID": str(event["UID"]), "summary": str(event["SUMMARY"]),
            "start": {"dateTime": event.decoded("DTSTART").isoformat()},
            "end": {"dateTime": event.decoded("DTEND").isoformat()}}


async def memory_subject(request: pytest.FixtureRequest) -> AsyncIterator[Subject]:
    provider = MemoryProvider([CALENDAR])

    async def by_hand(name: str, text: str) -> str:
        provider.write_by_hand("work", f"{name}.ics", text)
        return f"{name}.ics"

    async def expire(cursor: str) -> str:
        provider.forget_history("work")
        return cursor

    yield Subject(provider, "work", by_hand, expire, ical_occurrences)


async def caldav_subject(request: pytest.FixtureRequest) -> AsyncIterator[Subject]:
    server: CaldavServer = request.getfixturevalue(f"{request.param}_server")
    calendar_id = await make_calendar(server, "Work")

    async def by_hand(name: str, text: str) -> str:
        return await write_by_hand(server, calendar_id, name, text)

    async def expire(cursor: str) -> str:
        return cursor[:-8] + "00000000"  # a token of the server's own shape that it never issued

    credentials = CaldavCredentials(server.url, server.username, server.password)
    async with CaldavProvider(credentials, server.home_url) as provider:
        yield Subject(provider, calendar_id, by_hand, expire, ical_occurrences)


async def google_subject(request: pytest.FixtureRequest) -> AsyncIterator[Subject]:
    calendar_id = "work@group.calendar.google.com"
    async with conforming_google() as google, google_provider(google) as (provider, _):
        google.add_calendar(calendar_id, "Work", "Europe/Berlin", access_role="writer")
        google.page_limit = 2  # short pages, so every listing in the contract pages

        async def by_hand(name: str, text: str) -> str:
            return str(google.insert_by_hand(calendar_id, google_resource(text))["id"])

        async def expire(cursor: str) -> str:
            google.expire_sync_tokens()
            return cursor

        yield Subject(provider, calendar_id, by_hand, expire, google_occurrences)


def graph_occurrences(changes: Changes, uids: dict[str, str]) -> list[Occurrence]:
    """Graph's payloads, one per occurrence. Outlook gives an event an iCalUId of its own, so a hand-written event's
    UID is the one its text had (`uids`, by event id); Lockstep's events are known by the marker property."""
    found = []
    for event in changes.changed:
        resource: dict[str, Any] = json.loads(event.payload)
        markers = [prop["value"] for prop in resource.get("singleValueExtendedProperties", [])
                   if prop["id"] == MARKER_PROPERTY_ID]
        owner = resource.get("seriesMasterId") or resource["id"]
        found.append(Occurrence(owner, markers[0] if markers else uids.get(owner, resource["iCalUId"]),
                                resource.get("subject", ""), graph_instant(resource["start"], "UTC"),
                                graph_instant(resource["end"], "UTC")))
    return found


def graph_resource(ical_text: str) -> dict[str, Any]:
    """The event of an iCalendar object as the staff member would enter it in Outlook."""
    event = icalendar.Calendar.from_ical(ical_text).walk("VEVENT")[0]

    def when(name: str) -> dict[str, str]:
        return {"dateTime": event.decoded(name).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}

    return {"subject": str(event["SUMMARY"]), "start": when("DTSTART"), "end": when("DTEND")}


async def microsoft_subject(request: pytest.FixtureRequest) -> AsyncIterator[Subject]:
    async with conforming_microsoft() as microsoft, microsoft_provider(microsoft) as (provider, _):
        calendar_id = microsoft.add_calendar("Work")
        microsoft.page_size = 2  # short pages, so every listing in the contract pages
        uids: dict[str, str] = {}

        async def by_hand(name: str, text: str) -> str:
            event_id = microsoft.immutable_id(microsoft.insert_by_hand(calendar_id, graph_resource(text))["id"])
            uids[event_id] = str(icalendar.Calendar.from_ical(text).walk("VEVENT")[0]["UID"])
            return event_id

        async def expire(cursor: str) -> str:
            microsoft.expire_delta_tokens()
            return cursor

        yield Subject(provider, calendar_id, by_hand, expire, lambda changes: graph_occurrences(changes, uids))


SUBJECTS = {"memory": memory_subject, "radicale": caldav_subject, "xandikos": caldav_subject,
            "google": google_subject, "microsoft": microsoft_subject}


@pytest.fixture(params=sorted(SUBJECTS))
async def subject(request: pytest.FixtureRequest) -> AsyncIterator[Subject]:
    async for made in SUBJECTS[request.param](request):
        yield made


def booking_event(marker: str = "booking-1@lockstep", hour: int = 9) -> OutgoingEvent:
    return OutgoingEvent(marker=marker, summary="Boiler check – Cleo", description="Side door",
                         starts_at=START.replace(hour=hour), ends_at=START.replace(hour=hour + 1),
                         time_zone="Europe/Berlin")


async def test_lists_its_calendars(subject: Subject) -> None:
    calendars = await subject.provider.list_calendars()
    assert [(c.name, c.writable) for c in calendars if c.calendar_id == subject.calendar_id] == [("Work", True)]


async def test_a_retried_create_yields_one_event(subject: Subject) -> None:
    first = await subject.provider.put_event(subject.calendar_id, booking_event())
    again = await subject.provider.put_event(subject.calendar_id, booking_event())
    listing = await subject.provider.fetch_changes(subject.calendar_id, None, WINDOW)
    assert again.event_id == first.event_id
    assert [event.event_id for event in listing.changed] == [first.event_id]


async def test_update_with_a_stale_etag_is_refused(subject: Subject) -> None:
    provider, calendar = subject.provider, subject.calendar_id
    written = await provider.put_event(calendar, booking_event())
    moved = await provider.put_event(calendar, booking_event(hour=11), event_id=written.event_id, etag=written.etag)
    assert moved.etag != written.etag
    with pytest.raises(PreconditionFailed):
        await provider.put_event(calendar, booking_event(hour=13), event_id=written.event_id, etag=written.etag)
    with pytest.raises(PreconditionFailed):
        await provider.delete_event(calendar, written.event_id, etag=written.etag)
    # and the event is still the moved one
    listing = await provider.fetch_changes(calendar, None, WINDOW)
    assert [(e.event_id, e.etag) for e in listing.changed] == [(written.event_id, moved.etag)]


async def test_incremental_fetch_returns_only_what_changed_since_the_cursor(subject: Subject) -> None:
    provider, calendar = subject.provider, subject.calendar_id
    kept = await provider.put_event(calendar, booking_event("booking-1@lockstep"))
    gone = await provider.put_event(calendar, booking_event("booking-2@lockstep", hour=12))
    first = await provider.fetch_changes(calendar, None, WINDOW)
    assert first.complete and len(first.changed) == 2
    # when one event moves and the other is deleted
    moved = await provider.put_event(calendar, booking_event("booking-1@lockstep", hour=14), event_id=kept.event_id,
                                     etag=kept.etag)
    await provider.delete_event(calendar, gone.event_id)
    since = await provider.fetch_changes(calendar, first.cursor, WINDOW)
    # then exactly those changes come back, and nothing more after that
    assert not since.complete
    assert [(e.event_id, e.etag) for e in since.changed] == [(kept.event_id, moved.etag)]
    assert since.deleted == (gone.event_id,)
    quiet = await provider.fetch_changes(calendar, since.cursor, WINDOW)
    assert (quiet.changed, quiet.deleted, quiet.complete) == ((), (), False)


async def test_deleting_a_missing_event_is_not_found(subject: Subject) -> None:
    with pytest.raises(NotFound):
        await subject.provider.delete_event(subject.calendar_id, "no-such-event")


async def test_updating_an_event_deleted_meanwhile_is_not_found(subject: Subject) -> None:
    # given an event the staff member deleted after Lockstep wrote it
    written = await subject.provider.put_event(subject.calendar_id, booking_event())
    await subject.provider.delete_event(subject.calendar_id, written.event_id)
    # when Lockstep updates it from the etag it had
    with pytest.raises(NotFound):
        await subject.provider.put_event(subject.calendar_id, booking_event(hour=11), event_id=written.event_id,
                                         etag=written.etag)
    # then it is not brought back
    assert (await subject.provider.fetch_changes(subject.calendar_id, None, WINDOW)).changed == ()


async def test_a_complete_listing_has_our_events_and_hand_written_ones(subject: Subject) -> None:
    # given one event Lockstep wrote and one the staff member added in their calendar app
    ours = await subject.provider.put_event(subject.calendar_id, booking_event())
    theirs = await subject.write_by_hand("dentist", DENTIST)
    # when everything is listed
    listing = await subject.provider.fetch_changes(subject.calendar_id, None, WINDOW)
    # then both come back, with payloads that parse
    assert listing.complete
    assert sorted(e.event_id for e in listing.changed) == sorted([ours.event_id, theirs])
    read = {occurrence.owner: occurrence for occurrence in subject.occurrences(listing)}
    assert (read[ours.event_id].uid, read[ours.event_id].summary) == ("booking-1@lockstep", "Boiler check – Cleo")
    assert (read[theirs].uid, read[theirs].start) == ("dentist-2030@phone.example",
                                                      datetime(2030, 1, 8, 14, tzinfo=UTC))


async def test_a_series_with_a_cancelled_and_a_moved_occurrence_round_trips(subject: Subject) -> None:
    # given a weekly series of four whose second occurrence is cancelled and third moved by two hours
    weeks = [START + timedelta(weeks=n) for n in range(4)]
    moved = MovedOccurrence(weeks[2], weeks[2] + timedelta(hours=2), weeks[2] + timedelta(hours=3))
    series = OutgoingEvent(marker="series-7@lockstep", summary="Pool service", description="",
                           starts_at=START, ends_at=START + timedelta(hours=1), time_zone="Europe/Berlin",
                           rrule="FREQ=WEEKLY;COUNT=4", exdates=(weeks[1],), moved=(moved,))
    written = await subject.provider.put_event(subject.calendar_id, series)
    # when it is read back
    listing = await subject.provider.fetch_changes(subject.calendar_id, None, WINDOW)
    # then it is one event (one series) whose occurrences are exactly the planned ones, all with the series' marker
    occurrences = subject.occurrences(listing)
    assert {o.owner for o in occurrences} == {written.event_id}
    assert sorted((o.start, o.end) for o in occurrences) == [
        (weeks[0], weeks[0] + timedelta(hours=1)),
        (moved.starts_at, moved.ends_at),
        (weeks[3], weeks[3] + timedelta(hours=1)),
    ]
    assert {o.uid for o in occurrences} == {"series-7@lockstep"}


async def test_a_cursor_the_provider_no_longer_accepts_says_so(subject: Subject) -> None:
    await subject.provider.put_event(subject.calendar_id, booking_event())
    first = await subject.provider.fetch_changes(subject.calendar_id, None, WINDOW)
    stale = await subject.expire(first.cursor)
    await subject.provider.put_event(subject.calendar_id, booking_event("booking-2@lockstep", hour=12))
    with pytest.raises(CursorExpired):
        await subject.provider.fetch_changes(subject.calendar_id, stale, WINDOW)


async def test_injected_faults_come_out_once_in_order() -> None:
    provider = MemoryProvider([CALENDAR])
    provider.faults.append(RateLimited("slow down", retry_after=30))
    with pytest.raises(RateLimited) as raised:
        await provider.list_calendars()
    assert raised.value.retry_after == 30
    assert len(await provider.list_calendars()) == 1
