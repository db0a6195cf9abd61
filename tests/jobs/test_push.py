"""Push (Lockstep -> calendar) against the memory provider: what a booking change writes, and how failures retry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar

from domain.retry import MAX_ATTEMPTS
from jobs.push import push_mapping
from models import (
    Booking,
    CalendarConnection,
    ConnectionHealth,
    EventMapping,
    EventMappingState,
    ExternalCalendar,
    OutboxEntry,
    Staff,
    SyncLogEntry,
)
from providers.base import AuthFailed, ProviderError, RateLimited, RemoteCalendar, Unavailable
from services.bookings import CANCEL_THIS, cancel_booking, reschedule_booking
from services.connection_settings import update_external_calendar
from services.sync_dispatch import claim_due_pushes, dispatch_outbox, retry_mapping
from tests.fakes.memory import MemoryProvider
from tests.support.sync import book, given_connected_staff

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)
TEN_BERLIN = datetime(2030, 1, 8, 9, tzinfo=UTC)


def memory() -> MemoryProvider:
    return MemoryProvider([RemoteCalendar("work", "Work", "", "Europe/Berlin", writable=True, primary=True)])


def vevent(provider: MemoryProvider, event_id: str) -> Any:
    payload = provider.calendars["work"].events[event_id].payload
    return next(iter(icalendar.Calendar.from_ical(payload).walk("VEVENT")))


async def dispatched() -> EventMapping:
    (mapping_id,) = await dispatch_outbox(NOW)
    return await EventMapping.get(id=mapping_id)


async def test_a_booking_becomes_one_event_with_our_uid_and_a_retry_writes_nothing_new(db: str) -> None:
    # given a booking in a connected staff member's calendar
    given = await given_connected_staff()
    (booking,) = await book(given, TEN_BERLIN, NOW)
    provider = memory()
    # when the outbox is dispatched and the push runs twice
    mapping = await dispatched()
    first = await push_mapping(mapping.id, provider, NOW)
    again = await push_mapping(mapping.id, provider, NOW)
    # then one event exists, written once, titled and timed as the booking
    assert (first.status, first.action, again.status, again.action) == ("done", "create", "done", "nothing")
    events = provider.calendars["work"].events
    assert list(events) == [f"booking-{booking.id}@lockstep.ics"]
    event = vevent(provider, f"booking-{booking.id}@lockstep.ics")
    assert str(event["UID"]) == f"booking-{booking.id}@lockstep"
    assert str(event["SUMMARY"]) == "Boiler check – Cleo Customer"
    assert event["DTSTART"].dt == TEN_BERLIN
    assert "Contact: cleo@example.com" in str(event["DESCRIPTION"])
    stored = await EventMapping.get(id=mapping.id)
    assert (stored.state, stored.version_written, stored.attempts) == (EventMappingState.SYNCED, 1, 0)
    assert await OutboxEntry.filter(processed_at=None).count() == 0
    log = await SyncLogEntry.all().values_list("direction", "action", "outcome")
    assert log == [("export", "create", "ok")]


async def test_reschedule_updates_the_event_and_cancel_deletes_it(db: str) -> None:
    given = await given_connected_staff()
    (booking,) = await book(given, TEN_BERLIN, NOW)
    provider = memory()
    mapping = await dispatched()
    await push_mapping(mapping.id, provider, NOW)
    # when the booking is moved, then cancelled, each change pushed
    await reschedule_booking(given.owner, booking.id, TEN_BERLIN + timedelta(hours=2), None, NOW)
    await dispatch_outbox(NOW)
    moved = await push_mapping(mapping.id, provider, NOW)
    assert vevent(provider, f"booking-{booking.id}@lockstep.ics")["DTSTART"].dt == TEN_BERLIN + timedelta(hours=2)
    await cancel_booking(given.owner, booking.id, CANCEL_THIS, NOW)
    await dispatch_outbox(NOW)
    gone = await push_mapping(mapping.id, provider, NOW)
    # then the event followed, and is gone
    assert (moved.action, gone.action) == ("update", "delete")
    assert provider.calendars["work"].events == {}
    assert (await EventMapping.get(id=mapping.id)).external_event_id == ""


async def test_a_series_is_one_recurring_event_and_a_cancelled_occurrence_an_exdate(db: str) -> None:
    given = await given_connected_staff()
    occurrences = await book(given, TEN_BERLIN, NOW, recurrence="FREQ=WEEKLY;COUNT=4")
    provider = memory()
    mapping = await dispatched()
    await push_mapping(mapping.id, provider, NOW)
    await cancel_booking(given.owner, occurrences[1].id, CANCEL_THIS, NOW)
    assert await dispatch_outbox(NOW) == [mapping.id]
    await push_mapping(mapping.id, provider, NOW)
    (event_id,) = provider.calendars["work"].events
    event = vevent(provider, event_id)
    assert event_id == f"series-{occurrences[0].series_id}@lockstep.ics"
    assert str(event["RRULE"].to_ical().decode()) == "FREQ=WEEKLY;COUNT=4"
    assert [d.dt for d in event["EXDATE"].dts] == [TEN_BERLIN + timedelta(days=7)]


async def test_a_series_booked_until_a_date_is_written_until_its_last_booked_occurrence(db: str) -> None:
    # given a daily series booked with an UNTIL date (three occurrences: the 8th, 9th and 10th)
    given = await given_connected_staff()
    occurrences = await book(given, TEN_BERLIN, NOW, recurrence="freq=daily;until=20300110;")
    provider = memory()
    mapping = await dispatched()
    # when it is pushed
    await push_mapping(mapping.id, provider, NOW)
    # then the calendar's rule ends at the last booked occurrence, in UTC, not at the rule as typed
    event = vevent(provider, f"series-{occurrences[0].series_id}@lockstep.ics")
    assert len(occurrences) == 3
    assert event["RRULE"].to_ical().decode() == "FREQ=DAILY;UNTIL=20300110T090000Z"


async def test_rate_limits_retry_after_the_providers_delay_and_outages_are_retried_for_a_day(db: str) -> None:
    given = await given_connected_staff()
    await book(given, TEN_BERLIN, NOW)
    provider = memory()
    mapping = await dispatched()
    # when the provider throttles with Retry-After 120 s
    provider.faults.append(RateLimited("slow down", retry_after=120))
    outcome = await push_mapping(mapping.id, provider, NOW)
    # then the push waits at least that long, and the connection shows it
    assert outcome.status == "retry" and outcome.retry_at is not None
    assert outcome.retry_at >= NOW + timedelta(seconds=120)
    assert await claim_due_pushes(NOW + timedelta(seconds=60)) == []
    assert await claim_due_pushes(outcome.retry_at) == [mapping.id]
    connection = await CalendarConnection.get(id=given.connection.id)
    assert (connection.health, connection.last_error) == (ConnectionHealth.DEGRADED, "slow down")
    # when every later attempt fails too, each at the time it falls due
    clock, outcomes = outcome.retry_at, []
    while True:
        provider.faults.append(Unavailable("server error 503"))
        last = await push_mapping(mapping.id, provider, clock)
        outcomes.append(last.status)
        if last.retry_at is None:
            break
        clock = last.retry_at
    # then it was retried for more than a day (30 failures) before it was given up, marked as given up to an outage
    assert outcomes == ["retry"] * (MAX_ATTEMPTS - 2) + ["failed"]
    assert clock - NOW >= timedelta(hours=24)
    stored = await EventMapping.get(id=mapping.id)
    assert (stored.state, stored.attempts, stored.last_error, stored.failed_by_outage) == (
        EventMappingState.FAILED, MAX_ATTEMPTS, "server error 503", True)
    entry = await SyncLogEntry.filter(outcome="failed").get()
    assert entry.detail == f"gave up after {MAX_ATTEMPTS} attempts over a day"
    # and nothing was written; it can be retried alone
    assert provider.calendars["work"].events == {}
    assert await retry_mapping(mapping.id, NOW) is True
    assert await retry_mapping(mapping.id, NOW) is False
    assert (await push_mapping(mapping.id, provider, NOW)).status == "done"
    assert len(provider.calendars["work"].events) == 1
    assert (await CalendarConnection.get(id=given.connection.id)).health == ConnectionHealth.ACTIVE


async def test_a_calendar_refusing_the_event_itself_fails_that_item_at_once(db: str) -> None:
    given = await given_connected_staff()
    await book(given, TEN_BERLIN, NOW)
    provider = memory()
    mapping = await dispatched()
    # when the server refuses the event (a CalDAV rule, a 4xx that is no outage)
    provider.faults.append(ProviderError("PUT /work/x.ics: refused by the server's max-resource-size rule (403)"))
    outcome = await push_mapping(mapping.id, provider, NOW)
    # then the item is failed on the first try, not marked as an outage, and nothing is due any more
    assert (outcome.status, outcome.retry_at) == ("failed", None)
    stored = await EventMapping.get(id=mapping.id)
    assert (stored.state, stored.attempts, stored.failed_by_outage, stored.next_attempt_at) == (
        EventMappingState.FAILED, 1, False, None)
    assert (await SyncLogEntry.filter(outcome="failed").get()).detail == "the calendar refused this event"
    assert await claim_due_pushes(NOW + timedelta(days=2)) == []
    assert provider.calendars["work"].events == {}


async def test_refused_credentials_stop_retries_until_the_staff_member_reconnects(db: str) -> None:
    given = await given_connected_staff()
    await book(given, TEN_BERLIN, NOW)
    provider = memory()
    mapping = await dispatched()
    provider.faults.append(AuthFailed("the server refused the username or password"))
    outcome = await push_mapping(mapping.id, provider, NOW)
    assert outcome.status == "reauthorize"
    connection = await CalendarConnection.get(id=given.connection.id)
    assert connection.health == ConnectionHealth.REAUTHORIZATION_REQUIRED
    stored = await EventMapping.get(id=mapping.id)
    assert (stored.state, stored.next_attempt_at) == (EventMappingState.PENDING, None)
    assert await claim_due_pushes(NOW + timedelta(days=1)) == []
    # and a late job does not write to a connection that needs re-authorisation
    assert (await push_mapping(mapping.id, provider, NOW)).status == "skipped"
    assert provider.calendars["work"].events == {}


async def test_a_booking_moved_to_another_staff_member_leaves_the_first_calendar(db: str) -> None:
    given = await given_connected_staff()
    (booking,) = await book(given, TEN_BERLIN, NOW)
    provider = memory()
    mapping = await dispatched()
    await push_mapping(mapping.id, provider, NOW)
    # when the booking's staff changes behind the mapping (as a reschedule to another staff member does)
    other = await Staff.create(business_id=given.staff.business_id, name="Kim", email="kim@example.com",
                               time_zone="Europe/Berlin")
    await Booking.filter(id=booking.id).update(staff_id=other.id, version=booking.version + 1)
    await push_mapping(mapping.id, provider, NOW)
    # then this staff member's calendar no longer shows it
    assert provider.calendars["work"].events == {}



async def test_a_new_destination_receives_upcoming_bookings_and_the_old_one_lets_them_go(db: str) -> None:
    # given two bookings shown in the staff member's "work" calendar, and a second calendar of the connection
    given = await given_connected_staff()
    provider = MemoryProvider([RemoteCalendar("work", "Work", "", "Europe/Berlin", writable=True, primary=True),
                               RemoteCalendar("home", "Home", "", "Europe/Berlin", writable=True, primary=False)])
    home = await ExternalCalendar.create(connection=given.connection, provider_calendar_id="home", name="Home",
                                         import_busy=False, is_destination=False)
    first = (await book(given, TEN_BERLIN, NOW))[0]
    second = (await book(given, TEN_BERLIN + timedelta(hours=3), NOW, name="Dora"))[0]
    for mapping_id in await dispatch_outbox(NOW):
        await push_mapping(mapping_id, provider, NOW)
    # when "home" becomes the destination
    await update_external_calendar(given.owner, home.id, None, True, NOW)
    for mapping_id in await claim_due_pushes(NOW):
        await push_mapping(mapping_id, provider, NOW)
    # then both bookings moved from "work" to "home"
    assert provider.calendars["work"].events == {}
    assert sorted(provider.calendars["home"].events) == [f"booking-{first.id}@lockstep.ics",
                                                         f"booking-{second.id}@lockstep.ics"]
    assert not (await ExternalCalendar.get(id=given.calendar.id)).is_destination
