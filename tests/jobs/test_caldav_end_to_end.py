"""The sync engine end to end against real CalDAV servers: the same tests on Radicale and on Xandikos.

Bookings go out through the push job, events come in through the pull job, both with the real CalDAV client and the
real database; the server is changed "by hand" with plain HTTP, as a calendar app would. Dates are relative to today,
so every event lies inside the import window.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import icalendar
import pytest

from domain.conflicts import ConflictPolicy
from domain.intervals import Span
from domain.zones import load_zone, to_utc
from jobs import runtime
from jobs.pull import import_window
from jobs.tasks import run_pull, run_push
from models import Booking, BookingStatus, BusyBlock, EventMapping, SyncLogEntry
from providers.caldav import CaldavCredentials, CaldavProvider
from services.availability import offered_slots
from services.bookings import CANCEL_THIS, cancel_booking, reschedule_booking
from services.credentials import CredentialVault, new_key
from services.sync_dispatch import dispatch_outbox
from tests.support.caldav_servers import CaldavServer, delete_by_hand, make_calendar, write_by_hand
from tests.support.sync import ConnectedStaff, book, given_connected_staff, personal_event

BERLIN = "Europe/Berlin"
KEY = new_key()


@dataclass(frozen=True)
class Synced:
    server: CaldavServer
    calendar_url: str
    given: ConnectedStaff


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return to_utc(datetime.combine(day, time(hour, minute)), load_zone(BERLIN))


def in_days(days: int) -> date:
    return datetime.now(UTC).astimezone(load_zone(BERLIN)).date() + timedelta(days=days)


async def connect(database_url: str, server: CaldavServer, policy: ConflictPolicy, zone: str = BERLIN) -> Synced:
    calendar_url = await make_calendar(server, "Work")
    runtime.configure(runtime.JobConfig(database_url=database_url, redis_url="redis://unused", secret_keys=(KEY,)))
    sealed = CredentialVault([KEY]).seal({"server_url": server.url, "username": server.username,
                                          "password": server.password, "home_url": server.home_url,
                                          "principal_url": server.principal_url, "own_addresses": []})
    given = await given_connected_staff(calendar_url, zone=zone, credentials=sealed, policy=policy)
    return Synced(server, calendar_url, given)


@pytest.fixture
async def synced(db: str, caldav_server: CaldavServer) -> Synced:
    return await connect(db, caldav_server, ConflictPolicy.ASK)


async def on_server(synced: Synced) -> dict[str, Any]:
    """UID -> the calendar object as the server holds it now."""
    credentials = CaldavCredentials(synced.server.url, synced.server.username, synced.server.password)
    async with CaldavProvider(credentials, synced.server.home_url) as client:
        listing = await client.fetch_changes(synced.calendar_url, None, import_window(datetime.now(UTC)))
    objects = {}
    for remote in listing.changed:
        calendar = icalendar.Calendar.from_ical(remote.payload)
        master = next(e for e in calendar.walk("VEVENT") if e.get("RECURRENCE-ID") is None)
        objects[str(master["UID"])] = {"master": master, "url": remote.event_id, "text": remote.payload}
    return objects


async def push_all() -> list[str]:
    return [await run_push(mapping_id) for mapping_id in await dispatch_outbox(datetime.now(UTC))]


async def blocks() -> list[tuple[datetime, datetime]]:
    return [(b.starts_at.astimezone(UTC), b.ends_at.astimezone(UTC))
            for b in await BusyBlock.all().order_by("starts_at")]


async def test_a_booking_appears_moves_and_disappears_in_the_calendar(synced: Synced) -> None:
    given, now = synced.given, datetime.now(UTC)
    start = local(in_days(3), 10)
    (booking,) = await book(given, start, now)
    assert await push_all() == ["done"]
    created = (await on_server(synced))[f"booking-{booking.id}@lockstep"]["master"]
    assert (created["DTSTART"].dt, str(created["SUMMARY"])) == (start, "Boiler check – Cleo Customer")
    assert created["DTSTART"].params["TZID"] == BERLIN
    await reschedule_booking(given.owner, booking.id, start + timedelta(hours=3), None, now)
    assert await push_all() == ["done"]
    moved = (await on_server(synced))[f"booking-{booking.id}@lockstep"]["master"]
    assert moved["DTSTART"].dt == start + timedelta(hours=3)
    await cancel_booking(given.owner, booking.id, CANCEL_THIS, now)
    assert await push_all() == ["done"]
    assert await on_server(synced) == {}
    log = await SyncLogEntry.all().order_by("id").values_list("action", "outcome")
    assert log == [("create", "ok"), ("update", "ok"), ("delete", "ok")]


async def test_a_series_is_one_recurring_event_with_an_exdate_per_cancelled_occurrence(synced: Synced) -> None:
    given, now = synced.given, datetime.now(UTC)
    start = local(in_days(3), 9)
    occurrences = await book(given, start, now, recurrence="FREQ=WEEKLY;COUNT=3")
    await push_all()
    await cancel_booking(given.owner, occurrences[1].id, CANCEL_THIS, now)
    await push_all()
    (uid,) = await on_server(synced)
    master = (await on_server(synced))[uid]["master"]
    assert uid == f"series-{occurrences[0].series_id}@lockstep"
    assert master["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=3"
    assert [d.dt for d in master["EXDATE"].dts] == [occurrences[1].starts_at.astimezone(UTC)]


async def test_a_personal_event_takes_its_slot_and_gives_it_back_when_deleted(synced: Synced) -> None:
    given = synced.given
    day = in_days(4)
    start = local(day, 11)
    whole_day = Span(local(day, 0), local(day + timedelta(days=1), 0))

    async def slot_offered() -> bool:
        slots = await offered_slots(given.service.id, whole_day.start, whole_day.end, None, datetime.now(UTC))
        return start in [slot.start for slot in slots]

    assert await slot_offered()
    url = await write_by_hand(synced.server, synced.calendar_url, "dentist", personal_event("dentist", start))
    assert await run_pull(given.calendar.id) == "done"
    assert not await slot_offered()
    assert await blocks() == [(start, start + timedelta(hours=1))]
    # when the staff member moves it two hours later in their app, the block follows and the slot is free again
    later = start + timedelta(hours=2)
    await write_by_hand(synced.server, synced.calendar_url, "dentist", personal_event("dentist", later))
    assert await run_pull(given.calendar.id) == "done"
    assert await slot_offered()
    assert await blocks() == [(later, later + timedelta(hours=1))]
    await delete_by_hand(synced.server, url)
    assert await run_pull(given.calendar.id) == "done"
    assert await slot_offered()
    assert await blocks() == []


def _next_dst_change(after: date) -> date:
    zone = load_zone(BERLIN)
    day = after
    while True:
        if datetime.combine(day, time(12), zone).utcoffset() != datetime.combine(
                day + timedelta(days=1), time(12), zone).utcoffset():
            return day + timedelta(days=1)
        day += timedelta(days=1)


async def test_a_weekly_event_with_exceptions_stays_at_local_time_across_dst(synced: Synced) -> None:
    # given a weekly 9:00 Berlin meeting spanning the next DST change, one week excluded and one moved to 14:00
    change = _next_dst_change(in_days(14))
    first = change - timedelta(days=change.weekday()) - timedelta(days=14)  # a Monday two weeks before
    mondays = [first + timedelta(weeks=n) for n in range(4)]
    stamp = "DTSTAMP:20260101T000000Z"
    text = "\r\n".join([
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Test//EN",
        "BEGIN:VTIMEZONE", "TZID:Europe/Berlin",
        "BEGIN:STANDARD", "DTSTART:19701025T030000", "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
        "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "END:STANDARD",
        "BEGIN:DAYLIGHT", "DTSTART:19700329T020000", "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
        "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200", "END:DAYLIGHT", "END:VTIMEZONE",
        "BEGIN:VEVENT", "UID:standup", stamp, f"DTSTART;TZID=Europe/Berlin:{first:%Y%m%d}T090000",
        f"DTEND;TZID=Europe/Berlin:{first:%Y%m%d}T093000", "RRULE:FREQ=WEEKLY;COUNT=4",
        f"EXDATE;TZID=Europe/Berlin:{mondays[1]:%Y%m%d}T090000", "SUMMARY:Stand-up", "END:VEVENT",
        "BEGIN:VEVENT", "UID:standup", stamp, f"RECURRENCE-ID;TZID=Europe/Berlin:{mondays[2]:%Y%m%d}T090000",
        f"DTSTART;TZID=Europe/Berlin:{mondays[2]:%Y%m%d}T140000",
        f"DTEND;TZID=Europe/Berlin:{mondays[2]:%Y%m%d}T143000", "SUMMARY:Stand-up (moved)", "END:VEVENT",
        "END:VCALENDAR", ""])
    await write_by_hand(synced.server, synced.calendar_url, "standup", text)
    # when the calendar is pulled
    assert await run_pull(synced.given.calendar.id) == "done"
    # then the blocks keep local wall time on both sides of the change
    half = timedelta(minutes=30)
    assert await blocks() == [(local(mondays[0], 9), local(mondays[0], 9) + half),
                              (local(mondays[2], 14), local(mondays[2], 14) + half),
                              (local(mondays[3], 9), local(mondays[3], 9) + half)]
    assert local(mondays[0], 9).hour != local(mondays[3], 9).hour  # the UTC hour did change


async def test_all_day_blocks_the_local_day_and_tentative_and_transparent_events_do_not(synced: Synced) -> None:
    day = in_days(5)
    all_day = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\nBEGIN:VEVENT\r\nUID:holiday\r\n"
               f"DTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:{day:%Y%m%d}\r\n"
               f"DTEND;VALUE=DATE:{day + timedelta(days=1):%Y%m%d}\r\nSUMMARY:Holiday\r\nEND:VEVENT\r\n"
               "END:VCALENDAR\r\n")
    await write_by_hand(synced.server, synced.calendar_url, "holiday", all_day)
    await write_by_hand(synced.server, synced.calendar_url, "maybe",
                        personal_event("maybe", local(in_days(6), 10), extra="STATUS:TENTATIVE\r\n"))
    await write_by_hand(synced.server, synced.calendar_url, "free",
                        personal_event("free", local(in_days(6), 12), extra="TRANSP:TRANSPARENT\r\n"))
    assert await run_pull(synced.given.calendar.id) == "done"
    assert await blocks() == [(local(day, 0), local(day + timedelta(days=1), 0))]


async def test_moving_the_bookings_event_on_the_server_to_a_free_time_reschedules_it(synced: Synced) -> None:
    given, now = synced.given, datetime.now(UTC)
    start = local(in_days(3), 10)
    (booking,) = await book(given, start, now)
    await push_all()
    await run_pull(given.calendar.id)
    stored = (await on_server(synced))[f"booking-{booking.id}@lockstep"]
    later = start + timedelta(hours=5)
    text = stored["text"].replace(f"{start.astimezone(load_zone(BERLIN)):%Y%m%dT%H%M%S}",
                                  f"{later.astimezone(load_zone(BERLIN)):%Y%m%dT%H%M%S}")
    text = text.replace(f"{(start + timedelta(hours=1)).astimezone(load_zone(BERLIN)):%Y%m%dT%H%M%S}",
                        f"{(later + timedelta(hours=1)).astimezone(load_zone(BERLIN)):%Y%m%dT%H%M%S}")
    await write_by_hand(synced.server, synced.calendar_url, stored["url"].rsplit("/", 1)[1].removesuffix(".ics"),
                        text)
    assert await run_pull(given.calendar.id) == "done"
    assert (await Booking.get(id=booking.id)).starts_at.astimezone(UTC) == later
    assert await push_all() == ["done"]  # the follow-up write is accepted over the hand-edited copy
    assert (await on_server(synced))[f"booking-{booking.id}@lockstep"]["master"]["DTSTART"].dt == later
    assert await blocks() == []  # our own event never becomes a busy block


@pytest.fixture
async def synced_calendar_wins(db: str, caldav_server: CaldavServer) -> AsyncIterator[Synced]:
    yield await connect(db, caldav_server, ConflictPolicy.CALENDAR_WINS)


async def test_deleting_the_bookings_event_cancels_it_when_the_calendar_wins(synced_calendar_wins: Synced) -> None:
    synced = synced_calendar_wins
    given, now = synced.given, datetime.now(UTC)
    (booking,) = await book(given, local(in_days(3), 10), now)
    await push_all()
    await run_pull(given.calendar.id)
    await delete_by_hand(synced.server, (await on_server(synced))[f"booking-{booking.id}@lockstep"]["url"])
    assert await run_pull(given.calendar.id) == "done"
    assert (await Booking.get(id=booking.id)).status == BookingStatus.CANCELLED
    assert await push_all() == ["done"]
    assert (await EventMapping.get(booking_id=booking.id)).external_event_id == ""


async def test_an_all_day_event_on_the_windows_last_local_date_east_of_utc_is_imported(
        db: str, radicale_server: CaldavServer) -> None:
    # Given a staff member in Tokyo, and an all-day event on the last local date the import window reaches: the
    # window ends at UTC midnight, which is 9:00 on that date in Tokyo, while the server compares the date as UTC.
    synced = await connect(db, radicale_server, ConflictPolicy.ASK, zone="Asia/Tokyo")
    tokyo = load_zone("Asia/Tokyo")
    window = import_window(datetime.now(UTC))
    last = window.end.astimezone(tokyo).date()
    all_day = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\nBEGIN:VEVENT\r\nUID:last-day\r\n"
               f"DTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:{last:%Y%m%d}\r\n"
               f"DTEND;VALUE=DATE:{last + timedelta(days=1):%Y%m%d}\r\nSUMMARY:Holiday\r\nEND:VEVENT\r\n"
               "END:VCALENDAR\r\n")
    await write_by_hand(synced.server, synced.calendar_url, "last-day", all_day)
    # When the calendar is pulled
    assert await run_pull(synced.given.calendar.id) == "done"
    # Then the event's local day blocks time: the server was asked for a wide enough window
    midnight = to_utc(datetime.combine(last, time()), tokyo)
    assert await blocks() == [(midnight, midnight + timedelta(days=1))]
