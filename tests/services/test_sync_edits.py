"""Hand edits of Lockstep's events found by a pull (services.sync_edits), in the cases the convergence state machine
(tests/jobs/test_convergence.py) found the engine getting wrong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar

from domain.intervals import Span
from jobs.pull import pull_calendar
from jobs.push import push_mapping
from models import Booking, EventMapping, EventMappingState
from providers.base import RemoteCalendar
from services.sync_dispatch import dispatch_outbox
from tests.fakes.memory import MemoryProvider
from tests.support.sync import book, given_connected_staff

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)
TEN_BERLIN = datetime(2030, 1, 8, 9, tzinfo=UTC)
TWO_BERLIN = TEN_BERLIN + timedelta(hours=4)
MINUTE = timedelta(minutes=1)


def memory() -> MemoryProvider:
    return MemoryProvider([RemoteCalendar("work", "Work", "", "Europe/Berlin", writable=True, primary=True)])


def dragged(provider: MemoryProvider, event_id: str, to: Span) -> None:
    """The staff member drags the event to `to` (and so may change its length too)."""
    calendar: Any = icalendar.Calendar.from_ical(provider.calendars["work"].events[event_id].payload)
    for event in calendar.walk("VEVENT"):
        event.pop("DTSTART")
        event.pop("DTEND")
        event.add("DTSTART", to.start)
        event.add("DTEND", to.end)
    provider.write_by_hand("work", event_id, calendar.to_ical().decode())


def times_of(provider: MemoryProvider, event_id: str) -> Span:
    calendar: Any = icalendar.Calendar.from_ical(provider.calendars["work"].events[event_id].payload)
    event = next(iter(calendar.walk("VEVENT")))
    return Span(event["DTSTART"].dt.astimezone(UTC), event["DTEND"].dt.astimezone(UTC))


async def test_a_hand_move_that_also_stretches_the_event_is_followed_and_the_booking_length_written_back(
        db: str) -> None:
    # given a one-hour booking at ten, in the calendar
    given = await given_connected_staff()
    provider = memory()
    (booking,) = await book(given, TEN_BERLIN, NOW)
    (mapping_id,) = await dispatch_outbox(NOW)
    await push_mapping(mapping_id, provider, NOW)
    event_id = (await EventMapping.get(id=mapping_id)).external_event_id
    # when the staff member drags it to a free 14:00 and stretches it to 90 minutes, and the calendar is pulled
    dragged(provider, event_id, Span(TWO_BERLIN, TWO_BERLIN + timedelta(minutes=90)))
    await pull_calendar(given.calendar.id, provider, NOW + MINUTE)
    # then the booking follows the move but keeps its service's length
    moved = await Booking.get(id=booking.id)
    assert (moved.starts_at, moved.ends_at) == (TWO_BERLIN, TWO_BERLIN + timedelta(hours=1))
    # and the push that follows writes that length back (before the fix it wrote nothing: the event stayed 90 min)
    assert await dispatch_outbox(NOW + MINUTE) == [mapping_id]
    outcome = await push_mapping(mapping_id, provider, NOW + MINUTE)
    assert (outcome.status, outcome.action) == ("done", "update")
    assert times_of(provider, event_id) == Span(TWO_BERLIN, TWO_BERLIN + timedelta(hours=1))
    mapping = await EventMapping.get(id=mapping_id)
    assert (mapping.state, mapping.version_written) == (EventMappingState.SYNCED, moved.version)
