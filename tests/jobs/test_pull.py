"""Pull (calendar -> Lockstep) against the memory provider: busy blocks, cursors, and hand edits of our events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar

from domain.conflicts import ConflictPolicy
from domain.intervals import Span
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
    Notification,
    SyncConflict,
    SyncLogEntry,
)
from providers.base import RemoteCalendar, Unavailable
from services.availability import load_availability
from services.sync_dispatch import dispatch_outbox
from tests.fakes.memory import MemoryProvider
from tests.support.sync import ConnectedStaff, book, given_connected_staff, personal_event

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)
TEN_BERLIN = datetime(2030, 1, 8, 9, tzinfo=UTC)


def memory() -> MemoryProvider:
    return MemoryProvider([RemoteCalendar("work", "Work", "", "Europe/Berlin", writable=True, primary=True)])


async def blocks() -> list[tuple[str, datetime, datetime, str]]:
    rows = await BusyBlock.all().order_by("starts_at")
    return [(row.external_event_id, row.starts_at.astimezone(UTC), row.ends_at.astimezone(UTC), row.title)
            for row in rows]


async def test_personal_events_become_busy_blocks_and_leave_when_deleted(db: str) -> None:
    given = await given_connected_staff()
    provider = memory()
    provider.write_by_hand("work", "dentist.ics", personal_event("dentist", TEN_BERLIN))
    provider.write_by_hand("work", "free.ics", personal_event("free", TEN_BERLIN, extra="TRANSP:TRANSPARENT\r\n"))
    # when the calendar is pulled
    first = await pull_calendar(given.calendar.id, provider, NOW)
    # then the opaque event blocks its hour and the transparent one nothing
    assert first.status == "done"
    assert await blocks() == [("dentist.ics", TEN_BERLIN, TEN_BERLIN + timedelta(hours=1), "Dentist")]
    (availability,) = await load_availability([given.staff], _around(TEN_BERLIN))
    assert TEN_BERLIN in [span.start for span in availability.busy]
    # when it is deleted and pulled again (incrementally)
    provider.delete_by_hand("work", "dentist.ics")
    await pull_calendar(given.calendar.id, provider, NOW + timedelta(minutes=1))
    assert await blocks() == []
    connection = await CalendarConnection.get(id=given.connection.id)
    assert (connection.health, connection.last_successful_sync_at) == (ConnectionHealth.ACTIVE,
                                                                         NOW + timedelta(minutes=1))


async def test_a_title_with_control_characters_is_imported_on_every_database(db: str) -> None:
    # given an event whose title carries a NUL (PostgreSQL refuses it in text) and an escape
    given = await given_connected_staff()
    provider = memory()
    provider.write_by_hand("work", "dentist.ics", personal_event("dentist", TEN_BERLIN, summary="Den\x00tist\x1b"))
    # when the calendar is pulled
    outcome = await pull_calendar(given.calendar.id, provider, NOW)
    # then its time is blocked, under the title with those characters replaced
    assert outcome.status == "done"
    assert await blocks() == [("dentist.ics", TEN_BERLIN, TEN_BERLIN + timedelta(hours=1), "Den\ufffdtist\ufffd")]


def _around(start: datetime) -> Span:
    return Span(start - timedelta(hours=2), start + timedelta(hours=2))


async def test_an_expired_cursor_lists_everything_again_and_keeps_blocks_meanwhile(db: str) -> None:
    given = await given_connected_staff()
    provider = memory()
    provider.write_by_hand("work", "dentist.ics", personal_event("dentist", TEN_BERLIN))
    await pull_calendar(given.calendar.id, provider, NOW)
    provider.forget_history("work")
    # when the provider is down on the next pull, the blocks stay
    provider.faults.append(Unavailable("server error 502"))
    down = await pull_calendar(given.calendar.id, provider, NOW + timedelta(minutes=1))
    assert down.status == "retry"
    assert [b[0] for b in await blocks()] == ["dentist.ics"]
    assert (await CalendarConnection.get(id=given.connection.id)).health == ConnectionHealth.DEGRADED
    # when it answers again with an expired cursor, the full listing replaces the blocks
    provider.write_by_hand("work", "gym.ics", personal_event("gym", TEN_BERLIN + timedelta(hours=3)))
    back = await pull_calendar(given.calendar.id, provider, NOW + timedelta(minutes=2))
    assert back.status == "done"
    assert [b[0] for b in await blocks()] == ["dentist.ics", "gym.ics"]
    assert (await CalendarConnection.get(id=given.connection.id)).health == ConnectionHealth.ACTIVE


async def test_a_sudden_empty_calendar_keeps_the_last_known_busy_time(db: str) -> None:
    given = await given_connected_staff()
    provider = memory()
    for day in range(6):
        uid = f"visit-{day}"
        provider.write_by_hand("work", f"{uid}.ics", personal_event(uid, TEN_BERLIN + timedelta(days=day)))
    await pull_calendar(given.calendar.id, provider, NOW)
    for day in range(6):
        provider.delete_by_hand("work", f"visit-{day}.ics")
    provider.forget_history("work")  # so the next pull is a complete listing, which is now empty
    outcome = await pull_calendar(given.calendar.id, provider, NOW + timedelta(minutes=1))
    assert outcome.plan is not None and outcome.plan.suspicious
    assert len(await blocks()) == 6
    connection = await CalendarConnection.get(id=given.connection.id)
    assert connection.health == ConnectionHealth.DEGRADED
    assert "suddenly listed no events" in connection.last_error


async def pushed(given: ConnectedStaff, provider: MemoryProvider, starts: datetime) -> tuple[Booking, EventMapping]:
    (booking,) = await book(given, starts, NOW)
    for mapping_id in await dispatch_outbox(NOW):
        await push_mapping(mapping_id, provider, NOW)
    await pull_calendar(given.calendar.id, provider, NOW)
    return booking, await EventMapping.get(booking_id=booking.id)


def moved_by_hand(provider: MemoryProvider, event_id: str, to: datetime) -> None:
    calendar: Any = icalendar.Calendar.from_ical(provider.calendars["work"].events[event_id].payload)
    for event in calendar.walk("VEVENT"):
        length = event["DTEND"].dt - event["DTSTART"].dt
        event.pop("DTSTART")
        event.pop("DTEND")
        event.add("DTSTART", to)
        event.add("DTEND", to + length)
    provider.write_by_hand("work", event_id, calendar.to_ical().decode())


async def test_our_own_event_is_never_a_busy_block_and_rereading_it_changes_nothing(db: str) -> None:
    given = await given_connected_staff()
    provider = memory()
    booking, mapping = await pushed(given, provider, TEN_BERLIN)
    await pull_calendar(given.calendar.id, provider, NOW + timedelta(minutes=1))
    assert await blocks() == []
    assert (await Booking.get(id=booking.id)).version == booking.version
    assert await SyncConflict.all().count() == 0
    assert (await EventMapping.get(id=mapping.id)).state == EventMappingState.SYNCED


async def test_moving_the_event_to_a_free_time_reschedules_the_booking(db: str) -> None:
    given = await given_connected_staff()
    provider = memory()
    booking, mapping = await pushed(given, provider, TEN_BERLIN)
    moved_by_hand(provider, mapping.external_event_id, TEN_BERLIN + timedelta(hours=4))
    await pull_calendar(given.calendar.id, provider, NOW + timedelta(minutes=1))
    after = await Booking.get(id=booking.id)
    assert (after.starts_at.astimezone(UTC), after.version) == (TEN_BERLIN + timedelta(hours=4), booking.version + 1)
    # and the follow-up push writes over the hand-edited copy without a conflict
    await dispatch_outbox(NOW)
    assert (await push_mapping(mapping.id, provider, NOW)).status == "done"
    kinds = await Notification.all().values_list("kind", flat=True)
    assert set(kinds) == {"event_moved"}


async def test_moving_the_event_onto_busy_time_opens_a_conflict_when_the_policy_asks(db: str) -> None:
    given = await given_connected_staff()
    provider = memory()
    other_start = TEN_BERLIN + timedelta(hours=4)
    await book(given, other_start, NOW, name="Dora")
    booking, mapping = await pushed(given, provider, TEN_BERLIN)
    moved_by_hand(provider, mapping.external_event_id, other_start)
    await pull_calendar(given.calendar.id, provider, NOW + timedelta(minutes=1))
    # then the booking stays, a conflict is open, and nothing is pushed over the calendar's copy
    after = await Booking.get(id=booking.id)
    assert (after.starts_at.astimezone(UTC), after.version) == (TEN_BERLIN, booking.version)
    conflict = await SyncConflict.get(booking_id=booking.id)
    assert (conflict.kind, conflict.status, conflict.proposed_start) == ("event_moved", "open", other_start)
    assert (await EventMapping.get(id=mapping.id)).state == EventMappingState.CONFLICT


async def test_deleting_the_event_cancels_the_booking_when_the_calendar_wins(db: str) -> None:
    given = await given_connected_staff(policy=ConflictPolicy.CALENDAR_WINS)
    provider = memory()
    booking, mapping = await pushed(given, provider, TEN_BERLIN)
    provider.delete_by_hand("work", mapping.external_event_id)
    await pull_calendar(given.calendar.id, provider, NOW + timedelta(minutes=1))
    assert (await Booking.get(id=booking.id)).status == BookingStatus.CANCELLED
    await dispatch_outbox(NOW)
    assert (await push_mapping(mapping.id, provider, NOW)).action == "nothing"
    assert provider.calendars["work"].events == {}


async def test_deleting_the_event_restores_it_when_the_platform_wins(db: str) -> None:
    given = await given_connected_staff(policy=ConflictPolicy.PLATFORM_WINS)
    provider = memory()
    booking, mapping = await pushed(given, provider, TEN_BERLIN)
    provider.delete_by_hand("work", mapping.external_event_id)
    await pull_calendar(given.calendar.id, provider, NOW + timedelta(minutes=1))
    assert (await Booking.get(id=booking.id)).status == BookingStatus.CONFIRMED
    assert (await push_mapping(mapping.id, provider, NOW)).action == "create"
    assert list(provider.calendars["work"].events) == [f"booking-{booking.id}@lockstep.ics"]


async def test_a_busy_event_over_a_booking_opens_one_conflict(db: str) -> None:
    given = await given_connected_staff()
    provider = memory()
    booking, _ = await pushed(given, provider, TEN_BERLIN)
    provider.write_by_hand("work", "dentist.ics", personal_event("dentist", TEN_BERLIN + timedelta(minutes=30)))
    await pull_calendar(given.calendar.id, provider, NOW + timedelta(minutes=1))
    await pull_calendar(given.calendar.id, provider, NOW + timedelta(minutes=2))
    conflicts = await SyncConflict.all().values_list("booking_id", "kind", "status", "external_event_id")
    assert conflicts == [(booking.id, "busy_overlap", "open", "dentist.ics")]
    assert (await Booking.get(id=booking.id)).status == BookingStatus.CONFIRMED


async def test_a_busy_event_over_a_booking_cancels_it_when_the_calendar_wins(db: str) -> None:
    given = await given_connected_staff(policy=ConflictPolicy.CALENDAR_WINS)
    provider = memory()
    booking, _ = await pushed(given, provider, TEN_BERLIN)
    provider.write_by_hand("work", "dentist.ics", personal_event("dentist", TEN_BERLIN))
    await pull_calendar(given.calendar.id, provider, NOW + timedelta(minutes=1))
    assert (await Booking.get(id=booking.id)).status == BookingStatus.CANCELLED
    conflicts = await SyncConflict.all().values_list("kind", "status", "resolution")
    assert conflicts == [("busy_overlap", "settled", "cancel_booking")]
    assert await Notification.filter(kind="busy_overlap").count() == 2  # the staff member and the owner


async def test_an_invitation_declined_from_an_address_found_at_connect_time_takes_no_time(db: str) -> None:
    given = await given_connected_staff()
    provider = memory()
    declined = "ATTENDEE;PARTSTAT=DECLINED:mailto:Sam.Tech@icloud.example\r\n"
    provider.write_by_hand("work", "party.ics", personal_event("party", TEN_BERLIN, extra=declined))
    await pull_calendar(given.calendar.id, provider, NOW, own_addresses=("mailto:sam.tech@icloud.example",))
    assert await blocks() == []
    # while without knowing that address, the invitation is someone else's answer and the event blocks
    await given.calendar.update_from_dict({"sync_cursor": "", "window_start": None}).save()
    await pull_calendar(given.calendar.id, provider, NOW)
    assert [block[0] for block in await blocks()] == ["party.ics"]


async def test_hand_edits_of_one_occurrence_of_a_series_reach_that_occurrence_only(db: str) -> None:
    # given a weekly series of three, pushed, in a calendar whose side wins
    given = await given_connected_staff(policy=ConflictPolicy.CALENDAR_WINS)
    provider = memory()
    occurrences = await book(given, TEN_BERLIN, NOW, recurrence="FREQ=WEEKLY;COUNT=3")
    for mapping_id in await dispatch_outbox(NOW):
        await push_mapping(mapping_id, provider, NOW)
    (event_id,) = provider.calendars["work"].events
    # when the staff member deletes the second occurrence and moves the third two hours later, in their app
    calendar: Any = icalendar.Calendar.from_ical(provider.calendars["work"].events[event_id].payload)
    master = next(e for e in calendar.walk("VEVENT") if e.get("RECURRENCE-ID") is None)
    master.add("EXDATE", occurrences[1].starts_at.astimezone(UTC))
    moved = icalendar.Event()
    third = occurrences[2].starts_at.astimezone(UTC)
    for name in ("UID", "SUMMARY"):
        moved.add(name, master[name])
    moved.add("DTSTAMP", NOW)
    moved.add("RECURRENCE-ID", third)
    moved.add("DTSTART", third + timedelta(hours=2))
    moved.add("DTEND", third + timedelta(hours=3))
    calendar.add_component(moved)
    provider.write_by_hand("work", event_id, calendar.to_ical().decode())
    await pull_calendar(given.calendar.id, provider, NOW + timedelta(minutes=1))
    # then the second is cancelled, the third rescheduled, the first untouched
    after = [await Booking.get(id=b.id) for b in occurrences]
    assert [b.status for b in after] == [BookingStatus.CONFIRMED, BookingStatus.CANCELLED, BookingStatus.CONFIRMED]
    assert [b.starts_at.astimezone(UTC) for b in after] == [TEN_BERLIN, occurrences[1].starts_at.astimezone(UTC),
                                                            third + timedelta(hours=2)]
    # and the follow-up push writes the series as it now is, over the hand-edited copy
    assert [(await push_mapping(m, provider, NOW)).status for m in await dispatch_outbox(NOW)] == ["done"]


async def test_an_unreadable_copy_of_our_event_is_not_taken_for_a_deletion(db: str) -> None:
    given = await given_connected_staff(policy=ConflictPolicy.CALENDAR_WINS)
    provider = memory()
    booking, mapping = await pushed(given, provider, TEN_BERLIN)
    provider.write_by_hand("work", mapping.external_event_id, "BEGIN:VCALENDAR\r\nthis is not iCalendar")
    provider.forget_history("work")  # the next pull is a complete listing
    assert (await pull_calendar(given.calendar.id, provider, NOW + timedelta(minutes=1))).status == "done"
    assert (await Booking.get(id=booking.id)).status == BookingStatus.CONFIRMED
    assert await SyncConflict.all().count() == 0
    detail = (await SyncLogEntry.filter(action="pull").order_by("-id").first())
    assert detail is not None and "1 events could not be read" in detail.detail
