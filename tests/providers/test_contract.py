"""The CalendarProvider contract: every provider (the memory fake now, real servers and faithful fakes as they are
added to PROVIDERS) must pass the same tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from domain.intervals import Span
from providers.base import (
    CalendarProvider,
    CursorExpired,
    NotFound,
    OutgoingEvent,
    PreconditionFailed,
    RateLimited,
    RemoteCalendar,
)
from tests.fakes.memory import MemoryProvider

CALENDAR = RemoteCalendar("work", "Work", "#336699", "Europe/Berlin", writable=True, primary=True)
START = datetime(2030, 1, 7, 9, tzinfo=UTC)
WINDOW = Span(START - timedelta(days=30), START + timedelta(days=365))


def memory() -> MemoryProvider:
    return MemoryProvider([CALENDAR])


PROVIDERS: dict[str, Callable[[], CalendarProvider]] = {"memory": memory}


@pytest.fixture(params=sorted(PROVIDERS))
def provider(request: pytest.FixtureRequest) -> CalendarProvider:
    return PROVIDERS[request.param]()


def booking_event(marker: str = "lockstep-booking-1", hour: int = 9) -> OutgoingEvent:
    return OutgoingEvent(marker=marker, summary="Boiler check – Cleo", description="Side door",
                         starts_at=START.replace(hour=hour), ends_at=START.replace(hour=hour + 1),
                         time_zone="Europe/Berlin")


async def test_lists_its_calendars(provider: CalendarProvider) -> None:
    assert [c.calendar_id for c in await provider.list_calendars()] == ["work"]


async def test_a_retried_create_yields_one_event(provider: CalendarProvider) -> None:
    first = await provider.put_event("work", booking_event())
    again = await provider.put_event("work", booking_event())
    listing = await provider.fetch_changes("work", None, WINDOW)
    assert again.event_id == first.event_id
    assert [event.event_id for event in listing.changed] == [first.event_id]


async def test_update_with_a_stale_etag_is_refused(provider: CalendarProvider) -> None:
    written = await provider.put_event("work", booking_event())
    moved = await provider.put_event("work", booking_event(hour=11), event_id=written.event_id, etag=written.etag)
    assert moved.etag != written.etag
    with pytest.raises(PreconditionFailed):
        await provider.put_event("work", booking_event(hour=13), event_id=written.event_id, etag=written.etag)
    with pytest.raises(PreconditionFailed):
        await provider.delete_event("work", written.event_id, etag=written.etag)


async def test_incremental_fetch_returns_only_what_changed_since_the_cursor(provider: CalendarProvider) -> None:
    kept = await provider.put_event("work", booking_event("lockstep-booking-1"))
    gone = await provider.put_event("work", booking_event("lockstep-booking-2", hour=12))
    first = await provider.fetch_changes("work", None, WINDOW)
    assert first.complete and len(first.changed) == 2
    # when one event moves and the other is deleted
    moved = await provider.put_event("work", booking_event("lockstep-booking-1", hour=14), event_id=kept.event_id,
                                     etag=kept.etag)
    await provider.delete_event("work", gone.event_id)
    since = await provider.fetch_changes("work", first.cursor, WINDOW)
    # then exactly those changes come back, and nothing more after that
    assert not since.complete
    assert [(e.event_id, e.etag) for e in since.changed] == [(kept.event_id, moved.etag)]
    assert since.deleted == (gone.event_id,)
    quiet = await provider.fetch_changes("work", since.cursor, WINDOW)
    assert (quiet.changed, quiet.deleted) == ((), ())


async def test_deleting_a_missing_event_is_not_found(provider: CalendarProvider) -> None:
    with pytest.raises(NotFound):
        await provider.delete_event("work", "no-such-event")


async def test_an_expired_cursor_says_so() -> None:
    provider = memory()
    first = await provider.fetch_changes("work", None, WINDOW)
    provider.forget_history("work")
    with pytest.raises(CursorExpired):
        await provider.fetch_changes("work", first.cursor, WINDOW)


async def test_injected_faults_come_out_once_in_order() -> None:
    provider = memory()
    provider.faults.append(RateLimited("slow down", retry_after=30))
    with pytest.raises(RateLimited) as raised:
        await provider.list_calendars()
    assert raised.value.retry_after == 30
    assert len(await provider.list_calendars()) == 1
