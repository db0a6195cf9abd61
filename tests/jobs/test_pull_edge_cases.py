"""Pull in the cases that must not destroy anything: a calendar that suddenly lists nothing, a complete listing that
brings old events over bookings, and the many polls that find nothing new."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.conflicts import ConflictPolicy
from domain.sync import EMPTY_CONFIRMED_AFTER
from jobs.pull import pull_calendar
from jobs.push import push_mapping
from models import (
    Booking,
    BookingStatus,
    BusyBlock,
    CalendarConnection,
    ConnectionHealth,
    EventMapping,
    EventMappingState,
    ExternalCalendar,
    SyncConflict,
    SyncLogEntry,
)
from providers.base import RemoteCalendar
from services.bookings import reschedule_booking
from services.sync_dispatch import dispatch_outbox
from tests.fakes.memory import MemoryProvider
from tests.jobs.test_pull import moved_by_hand, pushed
from tests.support.sync import ConnectedStaff, book, given_connected_staff, personal_event

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)
TEN_BERLIN = datetime(2030, 1, 8, 9, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def memory() -> MemoryProvider:
    return MemoryProvider([RemoteCalendar("work", "Work", "", "Europe/Berlin", writable=True, primary=True)])


async def six_events_imported() -> tuple[ConnectedStaff, MemoryProvider]:
    """Given a connected calendar holding six personal events (more than an empty listing is believed of), pulled."""
    given = await given_connected_staff()
    provider = memory()
    for day in range(6):
        provider.write_by_hand("work", f"visit-{day}.ics", personal_event(f"visit-{day}", TEN_BERLIN
                                                                          + timedelta(days=day)))
    await pull_calendar(given.calendar.id, provider, NOW)
    return given, provider


async def test_a_suddenly_empty_calendar_is_held_until_enough_listings_agree(db: str) -> None:
    # given six imported personal events, all then gone at once with no change history
    given, provider = await six_events_imported()
    for day in range(6):
        provider.delete_by_hand("work", f"visit-{day}.ics")
    provider.forget_history("work")
    # when the calendar is polled, short of the confirmation count
    for poll in range(1, EMPTY_CONFIRMED_AFTER):
        outcome = await pull_calendar(given.calendar.id, provider, NOW + poll * MINUTE)
        assert outcome.plan is not None and outcome.plan.suspicious
    # then every block stays, the health says why, and the next poll lists the window in full again
    assert await BusyBlock.all().count() == 6
    connection = await CalendarConnection.get(id=given.connection.id)
    assert (connection.health, connection.last_error) == (
        ConnectionHealth.DEGRADED, "The calendar suddenly listed no events; the last known busy time stays in force")
    calendar = await ExternalCalendar.get(id=given.calendar.id)
    assert (calendar.empty_listings, calendar.window_start) == (EMPTY_CONFIRMED_AFTER - 1, None)
    # when one more complete listing is empty too
    believed = await pull_calendar(given.calendar.id, provider, NOW + EMPTY_CONFIRMED_AFTER * MINUTE)
    # then the calendar is believed empty: the blocks go and the connection is healthy again
    assert believed.plan is not None and len(believed.plan.deletes) == 6
    assert await BusyBlock.all().count() == 0
    assert (await CalendarConnection.get(id=given.connection.id)).health == ConnectionHealth.ACTIVE
    assert (await ExternalCalendar.get(id=given.calendar.id)).empty_listings == 0


async def test_events_coming_back_after_an_empty_listing_reset_the_count(db: str) -> None:
    given, provider = await six_events_imported()
    saved = dict(provider.calendars["work"].events)
    provider.calendars["work"].events.clear()
    provider.forget_history("work")
    await pull_calendar(given.calendar.id, provider, NOW + MINUTE)
    # when the provider answers properly again
    provider.calendars["work"].events.update(saved)
    await pull_calendar(given.calendar.id, provider, NOW + 2 * MINUTE)
    # then nothing was lost and the doubt is over
    assert await BusyBlock.all().count() == 6
    assert (await ExternalCalendar.get(id=given.calendar.id)).empty_listings == 0
    assert (await CalendarConnection.get(id=given.connection.id)).health == ConnectionHealth.ACTIVE


async def test_a_complete_listing_never_cancels_a_booking_by_itself_even_when_the_calendar_wins(db: str) -> None:
    # given a booking made before the calendar was first imported, and an older event over it in the calendar
    given = await given_connected_staff(policy=ConflictPolicy.CALENDAR_WINS)
    (booking,) = await book(given, TEN_BERLIN, NOW)
    provider = memory()
    provider.write_by_hand("work", "dentist.ics", personal_event("dentist", TEN_BERLIN))
    # when the first (complete) import runs
    await pull_calendar(given.calendar.id, provider, NOW)
    # then the booking stands and a person decides
    assert (await Booking.get(id=booking.id)).status == BookingStatus.CONFIRMED
    assert await SyncConflict.all().values_list("booking_id", "kind", "status") == [
        (booking.id, "busy_overlap", "open")]


async def test_a_poll_that_finds_nothing_new_writes_no_log_entry(db: str) -> None:
    given = await given_connected_staff()
    provider = memory()
    provider.write_by_hand("work", "dentist.ics", personal_event("dentist", TEN_BERLIN))
    await pull_calendar(given.calendar.id, provider, NOW)
    logged = await SyncLogEntry.all().count()
    # when the calendar is polled and nothing changed
    outcome = await pull_calendar(given.calendar.id, provider, NOW + MINUTE)
    # then nothing is written to the log, and the last pull time still moves on
    assert outcome.plan is not None and outcome.plan.empty
    assert await SyncLogEntry.all().count() == logged
    calendar = await ExternalCalendar.get(id=given.calendar.id)
    assert calendar.last_pulled_at == NOW + MINUTE
    assert (await CalendarConnection.get(id=given.connection.id)).last_successful_sync_at == NOW + MINUTE


async def test_a_hand_move_does_not_undo_a_reschedule_still_on_its_way_when_the_policy_asks(db: str) -> None:
    # given a booking at ten, in the calendar, rescheduled to noon in Lockstep before that change was pushed
    given = await given_connected_staff()
    provider = memory()
    booking, mapping = await pushed(given, provider, TEN_BERLIN)
    await reschedule_booking(given.owner, booking.id, TEN_BERLIN + timedelta(hours=2), None, NOW)
    # when the staff member also drags the event, to a free 14:00, and the calendar is pulled
    moved_by_hand(provider, mapping.external_event_id, TEN_BERLIN + timedelta(hours=4))
    await pull_calendar(given.calendar.id, provider, NOW + MINUTE)
    # then Lockstep's reschedule stands and a person chooses
    after = await Booking.get(id=booking.id)
    assert after.starts_at.astimezone(UTC) == TEN_BERLIN + timedelta(hours=2)
    conflict = await SyncConflict.get(booking_id=booking.id)
    assert (conflict.kind, conflict.status, conflict.proposed_start) == (
        "event_moved", "open", TEN_BERLIN + timedelta(hours=4))


async def test_a_hand_move_followed_by_lockstep_is_not_written_back(db: str) -> None:
    # given a booking in the calendar, moved there by hand to a free time
    given = await given_connected_staff()
    provider = memory()
    _, mapping = await pushed(given, provider, TEN_BERLIN)
    moved_by_hand(provider, mapping.external_event_id, TEN_BERLIN + timedelta(hours=4))
    etag = provider.calendars["work"].events[mapping.external_event_id].etag
    # when the pull moves the booking and its change is dispatched and pushed
    await pull_calendar(given.calendar.id, provider, NOW + MINUTE)
    await dispatch_outbox(NOW + MINUTE)
    outcome = await push_mapping(mapping.id, provider, NOW + MINUTE)
    # then nothing is written: the calendar already shows the new time
    assert (outcome.status, outcome.action) == ("done", "nothing")
    assert provider.calendars["work"].events[mapping.external_event_id].etag == etag
    assert (await EventMapping.get(id=mapping.id)).state == EventMappingState.SYNCED


async def test_a_tentative_event_that_blocks_is_stored_as_tentative_and_follows_its_event(db: str) -> None:
    # given a connection whose tentative events block, a tentative event and a confirmed one
    given = await given_connected_staff()
    await CalendarConnection.filter(id=given.connection.id).update(tentative_blocks=True)
    provider = MemoryProvider([RemoteCalendar("work", "Work", "", "Europe/Berlin", writable=True, primary=True)])
    provider.write_by_hand("work", "maybe.ics", personal_event("maybe", TEN_BERLIN, extra="STATUS:TENTATIVE\r\n"))
    provider.write_by_hand("work", "gym.ics", personal_event("gym", TEN_BERLIN + timedelta(hours=3)))
    # when the calendar is pulled
    await pull_calendar(given.calendar.id, provider, NOW)
    # then both block their time, and only the tentative one says so
    assert await BusyBlock.all().order_by("starts_at").values_list("external_event_id", "tentative") == [
        ("maybe.ics", True), ("gym.ics", False)]
    # when the event is confirmed, and pulled again
    provider.write_by_hand("work", "maybe.ics", personal_event("maybe", TEN_BERLIN))
    await pull_calendar(given.calendar.id, provider, NOW + timedelta(minutes=1))
    # then its block is no longer tentative
    assert await BusyBlock.all().order_by("starts_at").values_list("external_event_id", "tentative") == [
        ("maybe.ics", False), ("gym.ics", False)]
