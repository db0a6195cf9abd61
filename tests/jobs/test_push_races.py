"""Push when the world moves under it: the booking changes again while its event is being written, and export-only
calendars whose copy was edited or deleted by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar

from jobs.push import push_mapping
from models import CalendarConnection, EventMapping, EventMappingState, SyncDirection
from providers.base import OutgoingEvent, RemoteCalendar, Written
from services.bookings import reschedule_booking
from services.sync_dispatch import dispatch_outbox
from tests.fakes.memory import MemoryProvider
from tests.support.sync import ConnectedStaff, book, given_connected_staff, personal_event

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)
TEN_BERLIN = datetime(2030, 1, 8, 9, tzinfo=UTC)
NOON_BERLIN = TEN_BERLIN + timedelta(hours=2)
WORK = [RemoteCalendar("work", "Work", "", "Europe/Berlin", writable=True, primary=True)]


class RescheduledWhileWriting(MemoryProvider):
    """A calendar slow enough that the booking is rescheduled (and the change dispatched) during the first write."""

    def __init__(self, given: ConnectedStaff, booking_id: int, to: datetime) -> None:
        super().__init__(WORK)
        self.move: tuple[ConnectedStaff, int, datetime] | None = (given, booking_id, to)

    async def put_event(self, calendar_id: str, event: OutgoingEvent, *, event_id: str | None = None,
                        etag: str | None = None) -> Written:
        if self.move is not None:
            given, booking_id, to = self.move
            self.move = None
            await reschedule_booking(given.owner, booking_id, to, None, NOW)
            await dispatch_outbox(NOW)
        return await super().put_event(calendar_id, event, event_id=event_id, etag=etag)


def start_in(provider: MemoryProvider, event_id: str) -> datetime:
    calendar: Any = icalendar.Calendar.from_ical(provider.calendars["work"].events[event_id].payload)
    start: datetime = next(iter(calendar.walk("VEVENT")))["DTSTART"].dt
    return start.astimezone(UTC)


async def test_a_booking_changed_during_its_push_stays_pending_until_the_newer_state_is_written(db: str) -> None:
    # given a booking whose first push is slow, and which is rescheduled to noon meanwhile
    given = await given_connected_staff()
    (booking,) = await book(given, TEN_BERLIN, NOW)
    provider = RescheduledWhileWriting(given, booking.id, NOON_BERLIN)
    (mapping_id,) = await dispatch_outbox(NOW)
    # when that push finishes
    first = await push_mapping(mapping_id, provider, NOW)
    # then it wrote the older state but does not claim the mapping is synced
    mapping = await EventMapping.get(id=mapping_id)
    event_id = f"booking-{booking.id}@lockstep.ics"
    assert (first.status, start_in(provider, event_id)) == ("done", TEN_BERLIN)
    assert (mapping.state, mapping.next_attempt_at) == (EventMappingState.PENDING, NOW)
    # when the next push runs, the newer state is written and only then is it synced
    second = await push_mapping(mapping_id, provider, NOW)
    assert (second.status, second.action, start_in(provider, event_id)) == ("done", "update", NOON_BERLIN)
    assert (await EventMapping.get(id=mapping_id)).state == EventMappingState.SYNCED


async def pushed_to_an_export_only_calendar() -> tuple[ConnectedStaff, MemoryProvider, int, int]:
    """Given a booking at ten whose event is in a calendar connected export only: (given, calendar, booking id,
    mapping id)."""
    given = await given_connected_staff()
    await CalendarConnection.filter(id=given.connection.id).update(direction=SyncDirection.EXPORT_ONLY)
    provider = MemoryProvider(WORK)
    (booking,) = await book(given, TEN_BERLIN, NOW)
    (mapping_id,) = await dispatch_outbox(NOW)
    await push_mapping(mapping_id, provider, NOW)
    return given, provider, booking.id, mapping_id


async def test_export_only_writes_over_a_copy_edited_by_hand(db: str) -> None:
    given, provider, booking_id, mapping_id = await pushed_to_an_export_only_calendar()
    event_id = f"booking-{booking_id}@lockstep.ics"
    provider.write_by_hand("work", event_id, personal_event(f"booking-{booking_id}@lockstep",
                                                            TEN_BERLIN + timedelta(hours=5)))
    # when the booking is rescheduled in Lockstep
    await reschedule_booking(given.owner, booking_id, NOON_BERLIN, None, NOW)
    await dispatch_outbox(NOW)
    outcome = await push_mapping(mapping_id, provider, NOW)
    # then Lockstep's time is written over the hand edit at once (export only never pulls to settle it)
    assert (outcome.status, start_in(provider, event_id)) == ("done", NOON_BERLIN)
    assert (await EventMapping.get(id=mapping_id)).state == EventMappingState.SYNCED


async def test_export_only_writes_again_an_event_deleted_by_hand(db: str) -> None:
    given, provider, booking_id, mapping_id = await pushed_to_an_export_only_calendar()
    event_id = f"booking-{booking_id}@lockstep.ics"
    provider.delete_by_hand("work", event_id)
    await reschedule_booking(given.owner, booking_id, NOON_BERLIN, None, NOW)
    await dispatch_outbox(NOW)
    outcome = await push_mapping(mapping_id, provider, NOW)
    assert (outcome.status, start_in(provider, event_id)) == ("done", NOON_BERLIN)
    assert list(provider.calendars["work"].events) == [event_id]
