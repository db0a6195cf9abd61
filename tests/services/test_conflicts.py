"""Settling sync conflicts: each kind with each choice, against the memory calendar the engine really pushes to and
pulls from, so every conflict arises exactly as a pull opens it and every outcome is checked in the calendar too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
import pytest
from redis.asyncio.client import PubSub

from domain.conflicts import SettleChoice
from jobs.pull import pull_calendar
from jobs.push import push_mapping
from models import (
    Booking,
    BookingStatus,
    Business,
    ConflictStatus,
    EventMapping,
    EventMappingState,
    Notification,
    Staff,
    SyncConflict,
    SyncLogEntry,
    User,
    UserRole,
)
from services import live
from services.auth import Viewer
from services.bookings import cancel_bookings_for_calendar
from services.conflicts import list_conflicts, settle_conflict
from services.errors import InvalidInputError, NotAuthorizedError, NotFoundError, SlotUnavailableError
from tests.fakes.memory import MemoryProvider
from tests.support.calendar_sync import memory_calendar, move_by_hand, push_and_pull
from tests.support.live import hearing, next_event
from tests.support.sync import ConnectedStaff, book, given_connected_staff, personal_event

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
TEN_BERLIN = datetime(2030, 1, 8, 9, tzinfo=UTC)
TWO_BERLIN = TEN_BERLIN + timedelta(hours=4)


def staff_viewer(given: ConnectedStaff) -> Viewer:
    assert given.staff.user_id is not None
    return Viewer(given.staff.user_id, UserRole.STAFF)


async def pushed(given: ConnectedStaff, provider: MemoryProvider, start: datetime, *, recurrence: str | None = None
                 ) -> tuple[Booking, EventMapping]:
    first, *_ = await book(given, start, NOW, recurrence=recurrence)
    await push_and_pull(provider, given.calendar.id, NOW)
    return first, await EventMapping.get(booking_id=first.id)


async def moved_onto_taken_time(given: ConnectedStaff, provider: MemoryProvider
                                ) -> tuple[Booking, EventMapping, SyncConflict]:
    """Given a booking at 10:00 and another at 14:00, the staff member drags the first one's event to 14:00."""
    await book(given, TWO_BERLIN, NOW, name="Dora")
    booking, mapping = await pushed(given, provider, TEN_BERLIN)
    move_by_hand(provider, "work", mapping.external_event_id, TWO_BERLIN)
    await pull_calendar(given.calendar.id, provider, NOW + timedelta(minutes=1))
    return booking, mapping, await SyncConflict.get(booking_id=booking.id)


async def deleted_by_hand(given: ConnectedStaff, provider: MemoryProvider
                          ) -> tuple[Booking, EventMapping, SyncConflict]:
    booking, mapping = await pushed(given, provider, TEN_BERLIN)
    provider.delete_by_hand("work", mapping.external_event_id)
    await pull_calendar(given.calendar.id, provider, NOW + timedelta(minutes=1))
    return booking, mapping, await SyncConflict.get(booking_id=booking.id)


async def overlapped(given: ConnectedStaff, provider: MemoryProvider) -> tuple[Booking, EventMapping, SyncConflict]:
    booking, mapping = await pushed(given, provider, TEN_BERLIN)
    provider.write_by_hand("work", "dentist.ics", personal_event("dentist", TEN_BERLIN + timedelta(minutes=30)))
    await pull_calendar(given.calendar.id, provider, NOW + timedelta(minutes=1))
    return booking, mapping, await SyncConflict.get(booking_id=booking.id)


def event_start(provider: MemoryProvider, event_id: str) -> datetime:
    parsed: Any = icalendar.Calendar.from_ical(provider.calendars["work"].events[event_id].payload)
    (event,) = parsed.walk("VEVENT")
    return event["DTSTART"].dt.astimezone(UTC)  # type: ignore[no-any-return]


async def test_keeping_a_booking_whose_event_was_moved_writes_the_event_back(db: str) -> None:
    given = await given_connected_staff()
    provider = memory_calendar()
    booking, mapping, conflict = await moved_onto_taken_time(given, provider)
    assert (conflict.kind, conflict.status, conflict.proposed_start) == ("event_moved", "open", TWO_BERLIN)
    # when the staff member keeps the booking
    settled = await settle_conflict(staff_viewer(given), conflict.id, SettleChoice.KEEP_BOOKING, LATER)
    # then the conflict is settled by them, the booking is untouched and its event is due to be written in full
    assert (settled.status, settled.resolution, settled.settled_at) == ("settled", "restore_event", LATER)
    assert (await SyncConflict.get(id=conflict.id)).settled_by_id == given.staff.user_id
    after = await Booking.get(id=booking.id)
    assert (after.starts_at.astimezone(UTC), after.version) == (TEN_BERLIN, booking.version)
    queued = await EventMapping.get(id=mapping.id)
    assert (queued.state, queued.version_written, queued.next_attempt_at) == (EventMappingState.PENDING, 0, LATER)
    # and the push puts the event back at 10:00 over the hand-edited copy
    assert (await push_mapping(mapping.id, provider, LATER)).status == "done"
    assert event_start(provider, mapping.external_event_id) == TEN_BERLIN
    assert (await EventMapping.get(id=mapping.id)).state == EventMappingState.SYNCED


async def test_accepting_a_move_reschedules_the_booking_once_the_time_is_free(db: str) -> None:
    given = await given_connected_staff()
    provider = memory_calendar()
    booking, mapping, conflict = await moved_onto_taken_time(given, provider)
    dora = await Booking.get(customer_name="Dora")
    await cancel_bookings_for_calendar([dora.id], NOW + timedelta(minutes=2))
    # when the owner accepts the calendar's time, which is free now
    settled = await settle_conflict(given.owner, conflict.id, SettleChoice.ACCEPT_CALENDAR, LATER)
    # then the booking moves there and the event is rewritten from the booking
    assert (settled.status, settled.resolution) == ("settled", "reschedule_booking")
    after = await Booking.get(id=booking.id)
    assert (after.starts_at.astimezone(UTC), after.version) == (TWO_BERLIN, booking.version + 1)
    assert (await EventMapping.get(id=mapping.id)).state == EventMappingState.PENDING
    assert (await push_mapping(mapping.id, provider, LATER)).status == "done"
    assert event_start(provider, mapping.external_event_id) == TWO_BERLIN


async def test_accepting_a_move_onto_taken_time_is_refused_and_changes_nothing(db: str) -> None:
    given = await given_connected_staff()
    provider = memory_calendar()
    booking, mapping, conflict = await moved_onto_taken_time(given, provider)
    notifications = await Notification.all().count()
    log = await SyncLogEntry.all().count()
    # when the calendar's time is accepted while the 14:00 booking still holds it
    with pytest.raises(SlotUnavailableError):
        await settle_conflict(given.owner, conflict.id, SettleChoice.ACCEPT_CALENDAR, LATER)
    # then the conflict stays open and everything is as it was
    still = await SyncConflict.get(id=conflict.id)
    assert (still.status, still.resolution, still.settled_at) == ("open", "", None)
    after = await Booking.get(id=booking.id)
    assert (after.starts_at.astimezone(UTC), after.version) == (TEN_BERLIN, booking.version)
    assert (await EventMapping.get(id=mapping.id)).state == EventMappingState.CONFLICT
    assert (await Notification.all().count(), await SyncLogEntry.all().count()) == (notifications, log)


async def test_keeping_a_booking_whose_event_was_deleted_creates_the_event_again(db: str) -> None:
    given = await given_connected_staff()
    provider = memory_calendar()
    booking, mapping, conflict = await deleted_by_hand(given, provider)
    assert (conflict.kind, conflict.status) == ("event_deleted", "open")
    await settle_conflict(given.owner, conflict.id, SettleChoice.KEEP_BOOKING, LATER)
    queued = await EventMapping.get(id=mapping.id)
    assert (queued.state, queued.external_event_id, queued.etag) == (EventMappingState.PENDING, "", "")
    outcome = await push_mapping(mapping.id, provider, LATER)
    assert (outcome.status, outcome.action) == ("done", "create")
    assert list(provider.calendars["work"].events) == [f"booking-{booking.id}@lockstep.ics"]


async def test_accepting_a_deletion_cancels_the_booking_and_writes_nothing(db: str) -> None:
    given = await given_connected_staff()
    provider = memory_calendar()
    booking, mapping, conflict = await deleted_by_hand(given, provider)
    settled = await settle_conflict(given.owner, conflict.id, SettleChoice.ACCEPT_CALENDAR, LATER)
    assert settled.resolution == "cancel_booking"
    assert (await Booking.get(id=booking.id)).status == BookingStatus.CANCELLED
    await push_mapping(mapping.id, provider, LATER)
    assert provider.calendars["work"].events == {}
    assert (await EventMapping.get(id=mapping.id)).state == EventMappingState.SYNCED


async def test_keeping_a_booking_under_a_busy_event_keeps_both(db: str) -> None:
    given = await given_connected_staff()
    provider = memory_calendar()
    booking, mapping, conflict = await overlapped(given, provider)
    assert (conflict.kind, conflict.status) == ("busy_overlap", "open")
    settled = await settle_conflict(given.owner, conflict.id, SettleChoice.KEEP_BOOKING, LATER)
    assert (settled.status, settled.resolution) == ("settled", "keep_both")
    after = await Booking.get(id=booking.id)
    assert (after.status, after.version) == (BookingStatus.CONFIRMED, booking.version)
    assert (await EventMapping.get(id=mapping.id)).state == EventMappingState.SYNCED
    assert sorted(provider.calendars["work"].events) == [f"booking-{booking.id}@lockstep.ics", "dentist.ics"]


async def test_accepting_a_busy_event_cancels_the_booking_and_removes_its_event(db: str) -> None:
    given = await given_connected_staff()
    provider = memory_calendar()
    booking, mapping, conflict = await overlapped(given, provider)
    await settle_conflict(given.owner, conflict.id, SettleChoice.ACCEPT_CALENDAR, LATER)
    assert (await Booking.get(id=booking.id)).status == BookingStatus.CANCELLED
    outcome = await push_mapping(mapping.id, provider, LATER)
    assert (outcome.status, outcome.action) == ("done", "delete")
    assert list(provider.calendars["work"].events) == ["dentist.ics"]


async def test_settling_is_logged_and_notifies_the_staff_member_and_the_owner(db: str) -> None:
    given = await given_connected_staff()
    provider = memory_calendar()
    booking, mapping, conflict = await deleted_by_hand(given, provider)
    await settle_conflict(given.owner, conflict.id, SettleChoice.KEEP_BOOKING, LATER)
    notified = await Notification.filter(kind="conflict_settled").order_by("user_id").values_list(
        "user_id", "message", "data")
    data = {"staffId": given.staff.id, "bookingId": booking.id, "conflictId": conflict.id,
            "resolution": "restore_event"}
    message = "A conflict was settled: the booking stands and its event is written back"
    assert notified == [(given.owner.user_id, message, data), (given.staff.user_id, message, data)]
    entry = await SyncLogEntry.filter(action="settle_conflict").get()
    assert (entry.connection_id, entry.direction, entry.outcome, entry.detail) == (
        given.connection.id, "none", "ok", "event_deleted: restore_event")
    assert (entry.booking_id, entry.mapping_id) == (booking.id, mapping.id)


async def test_a_settled_conflict_cannot_be_settled_again(db: str) -> None:
    given = await given_connected_staff()
    provider = memory_calendar()
    booking, _, conflict = await overlapped(given, provider)
    await settle_conflict(given.owner, conflict.id, SettleChoice.KEEP_BOOKING, LATER)
    with pytest.raises(InvalidInputError) as raised:
        await settle_conflict(given.owner, conflict.id, SettleChoice.ACCEPT_CALENDAR, LATER)
    assert (raised.value.path, raised.value.message) == (["input", "conflictId"], "This conflict is already settled")
    assert (await Booking.get(id=booking.id)).status == BookingStatus.CONFIRMED
    assert (await SyncConflict.get(id=conflict.id)).resolution == "keep_both"


async def test_only_the_owner_and_the_staff_member_settle_or_see_conflicts(db: str) -> None:
    given = await given_connected_staff()
    provider = memory_calendar()
    booking, _, conflict = await overlapped(given, provider)
    stranger = await User.create(email="rival@example.com", name="R", password_hash="-", role=UserRole.OWNER)
    await Business.create(name="Rival", time_zone="UTC", owner=stranger)
    colleague_user = await User.create(email="kim@example.com", name="K", password_hash="-", role=UserRole.STAFF)
    await Staff.create(business_id=given.staff.business_id, user=colleague_user, name="Kim", email="kim@example.com",
                       time_zone="UTC")
    outsiders = [Viewer(stranger.id, UserRole.OWNER), Viewer(colleague_user.id, UserRole.STAFF)]
    for outsider in outsiders:
        with pytest.raises(NotFoundError) as raised:
            await settle_conflict(outsider, conflict.id, SettleChoice.ACCEPT_CALENDAR, LATER)
        assert raised.value.path == ["input", "conflictId"]
        with pytest.raises(NotAuthorizedError):
            await list_conflicts(outsider, given.staff.id, None)
    assert (await SyncConflict.get(id=conflict.id)).status == ConflictStatus.OPEN
    assert (await Booking.get(id=booking.id)).status == BookingStatus.CONFIRMED


async def test_conflicts_are_listed_newest_first_and_filtered_by_status(db: str) -> None:
    given = await given_connected_staff()
    provider = memory_calendar()
    _, _, first = await overlapped(given, provider)
    await book(given, TEN_BERLIN + timedelta(days=1), NOW, name="Eve")
    await push_and_pull(provider, given.calendar.id, NOW)
    provider.write_by_hand("work", "gym.ics", personal_event("gym", TEN_BERLIN + timedelta(days=1)))
    await pull_calendar(given.calendar.id, provider, NOW + timedelta(minutes=2))
    second = await SyncConflict.exclude(id=first.id).get()
    await settle_conflict(given.owner, first.id, SettleChoice.KEEP_BOOKING, LATER)
    everything = await list_conflicts(staff_viewer(given), given.staff.id, None)
    still_open = await list_conflicts(given.owner, given.staff.id, ConflictStatus.OPEN)
    assert [row.id for row in everything] == [second.id, first.id]
    assert [row.id for row in still_open] == [second.id]
    assert everything[0].booking.customer_name == "Eve"


async def test_a_series_event_stays_held_until_its_last_open_conflict_is_settled(db: str) -> None:
    # given a weekly series of two whose one calendar event the staff member deleted: two open conflicts
    given = await given_connected_staff()
    provider = memory_calendar()
    first, mapping = await pushed(given, provider, TEN_BERLIN, recurrence="FREQ=WEEKLY;COUNT=2")
    provider.delete_by_hand("work", mapping.external_event_id)
    await pull_calendar(given.calendar.id, provider, NOW + timedelta(minutes=1))
    conflicts = await SyncConflict.all().order_by("id")
    assert [(row.kind, row.status) for row in conflicts] == [("event_deleted", "open")] * 2
    # when the first is settled the event is still held back; when the second is, it is created again
    await settle_conflict(given.owner, conflicts[0].id, SettleChoice.KEEP_BOOKING, LATER)
    held = await EventMapping.get(id=mapping.id)
    assert (held.booking_id, held.state, held.external_event_id) == (first.id, EventMappingState.CONFLICT, "")
    await settle_conflict(given.owner, conflicts[1].id, SettleChoice.KEEP_BOOKING, LATER)
    assert (await EventMapping.get(id=mapping.id)).state == EventMappingState.PENDING
    assert (await push_mapping(mapping.id, provider, LATER)).action == "create"
    assert len(provider.calendars["work"].events) == 1


async def everything_heard(heard: PubSub) -> list[live.LiveEvent]:
    events = []
    while (event := await next_event(heard, wait=0.3)) is not None:
        events.append(event)
    return events


async def test_a_settled_conflict_is_announced_once_committed_and_a_refused_one_not_at_all(db: str, redis_url: str
                                                                                          ) -> None:
    given = await given_connected_staff()
    provider = memory_calendar()
    booking, _, conflict = await moved_onto_taken_time(given, provider)
    async with hearing(redis_url) as heard:
        # when accepting the calendar's time is refused (the 14:00 booking holds it), nothing is announced
        with pytest.raises(SlotUnavailableError):
            await settle_conflict(given.owner, conflict.id, SettleChoice.ACCEPT_CALENDAR, LATER)
        assert await everything_heard(heard) == []
        # when the time is free and the calendar's time is accepted
        await cancel_bookings_for_calendar([(await Booking.get(customer_name="Dora")).id], NOW + timedelta(minutes=2))
        await everything_heard(heard)
        await settle_conflict(given.owner, conflict.id, SettleChoice.ACCEPT_CALENDAR, LATER)
        events = await everything_heard(heard)
    # then the move and the notifications are announced, once the settlement has committed
    assert [type(event).__name__ for event in events] == ["BookingsChanged", "AvailabilityChanged",
                                                          "NotificationsAdded"]
    assert events[0] == live.BookingsChanged("rescheduled", given.staff.business_id, (given.staff.id,), (booking.id,))
