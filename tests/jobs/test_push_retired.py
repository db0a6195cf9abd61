"""The push deletes the events retired on its mapping first (jobs.push_retired): once each, an event already gone
being what was wanted; an outage waits for the retry, a refusal leaves the event as busy time. And an event taken
over while a push of the same booking was writing leaves no copy behind."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from jobs.push import push_mapping
from models import BusyBlock, EventMapping, EventMappingState, RetiredEvent, SyncLogEntry
from providers.base import OutgoingEvent, ProviderError, Unavailable, Written
from services.event_links import link_event_to_booking
from tests.fakes.memory import MemoryProvider
from tests.support.duplicates import (
    LATER,
    NOW,
    TEN,
    Calendars,
    block_of,
    booked_and_written,
    by_hand,
    events_in,
    given_calendars,
    pull_all,
    push_due,
)
from tests.support.sync import book


@pytest.fixture
async def calendars(db: str) -> Calendars:
    return await given_calendars()


async def retired_copy(calendars: Calendars) -> tuple[int, str, str]:
    """A booking written to Work and a copy of it there taken over: (mapping ID, the earlier event, the copy)."""
    booking_id = await booked_and_written(calendars)
    earlier = (await EventMapping.get(booking_id=booking_id)).external_event_id
    copy = by_hand(calendars, "work", "copy", TEN, "Boiler check")
    await pull_all(calendars)
    mapping = await link_event_to_booking(calendars.given.owner, (await block_of(copy)).id, booking_id, LATER)
    return mapping.id, earlier, copy


async def test_an_event_already_gone_is_what_was_wanted(calendars: Calendars) -> None:
    mapping_id, earlier, copy = await retired_copy(calendars)
    calendars.provider.delete_by_hand("work", earlier)
    assert await push_due(calendars) == ["done"]
    assert list(events_in(calendars, "work")) == [copy]
    assert await RetiredEvent.all().count() == 0
    assert (await EventMapping.get(id=mapping_id)).state == EventMappingState.SYNCED


async def test_an_outage_keeps_the_retired_event_for_the_retry(calendars: Calendars) -> None:
    mapping_id, earlier, copy = await retired_copy(calendars)
    calendars.provider.faults.append(Unavailable("server error 503"))
    assert (await push_mapping(mapping_id, calendars.provider, LATER)).status == "retry"
    assert await RetiredEvent.filter(mapping_id=mapping_id).values_list("external_event_id", flat=True) == [earlier]
    assert (await EventMapping.get(id=mapping_id)).state == EventMappingState.PENDING
    assert sorted(events_in(calendars, "work")) == sorted([earlier, copy])
    assert (await push_mapping(mapping_id, calendars.provider, LATER + timedelta(hours=1))).status == "done"
    assert list(events_in(calendars, "work")) == [copy]


async def test_a_calendar_refusing_the_delete_keeps_the_event_as_busy_time(calendars: Calendars) -> None:
    mapping_id, earlier, copy = await retired_copy(calendars)
    # an event of someone else's that the calendar will not let go, taken for a copy of the booking
    await RetiredEvent.filter(mapping_id=mapping_id).update(external_event_id="theirs.ics")
    calendars.provider.write_by_hand("work", "theirs.ics", events_text(calendars, earlier))
    calendars.provider.delete_by_hand("work", earlier)
    calendars.provider.faults.append(ProviderError("refused by the server's need-privileges rule (403)"))
    assert (await push_mapping(mapping_id, calendars.provider, LATER)).status == "done"
    assert await RetiredEvent.all().count() == 0
    assert await SyncLogEntry.filter(action="delete_duplicate", direction="export").values_list(
        "outcome", "error") == [("failed", "refused by the server's need-privileges rule (403)")]
    assert sorted(events_in(calendars, "work")) == sorted([copy, "theirs.ics"])


def events_text(calendars: Calendars, event_id: str) -> str:
    return calendars.provider.calendars["work"].events[event_id].payload.replace("@lockstep", "@elsewhere")


class WritingWhile(MemoryProvider):
    """A calendar account where something else happens in Lockstep while a write is on its way (`meanwhile`)."""

    meanwhile: Callable[[], Awaitable[object]] | None = None

    async def put_event(self, calendar_id: str, event: OutgoingEvent, *, event_id: str | None = None,
                        etag: str | None = None) -> Written:
        written = await super().put_event(calendar_id, event, event_id=event_id, etag=etag)
        happening, self.meanwhile = self.meanwhile, None
        if happening is not None:
            await happening()
        return written


async def test_an_event_taken_over_while_the_booking_s_first_write_ran_leaves_no_copy(calendars: Calendars) -> None:
    provider = WritingWhile(list(c.calendar for c in calendars.provider.calendars.values()))
    calendars.provider = provider
    # given a booking about to be written, and the technician's own event for it in Work
    (booking,) = await book(calendars.given, TEN, NOW)
    copy = by_hand(calendars, "work", "copy", TEN, "Boiler check")
    await pull_all(calendars)
    block = await block_of(copy)
    # when the copy is linked while the push creates the booking's event
    provider.meanwhile = lambda: link_event_to_booking(calendars.given.owner, block.id, booking.id, LATER)
    assert await push_due(calendars, LATER) == ["done"]
    created = f"booking-{booking.id}@lockstep.ics"
    assert await RetiredEvent.all().values_list("external_event_id", flat=True) == [created]
    assert (await EventMapping.get(booking_id=booking.id)).external_event_id == copy
    # then the next push deletes what the first wrote and writes the booking onto the copy: one event
    assert await push_due(calendars, LATER + timedelta(minutes=1)) == ["done"]
    assert events_in(calendars, "work") == {copy: f"UID:booking-{booking.id}@lockstep"}
    assert await BusyBlock.all().count() == 0
