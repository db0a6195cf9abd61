"""A pull's transaction takes its locks in the one order (services.locks: the staff member, then the connection),
so whoever else changes the same staff member or connection meanwhile waits for its commit, and then sees all of
it; nobody waits in a circle (PostgreSQL would abort one of them as a deadlock). On SQLite the others wait for the
single writer. The pull is held open at a step by an `after_step` coroutine while the other change is started."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.intervals import Span
from jobs.pull import pull_calendar
from jobs.push import push_mapping
from models import Booking, BusyBlock, CalendarConnection, EventMapping, EventMappingState, ExternalCalendar, Staff
from providers.base import Changes, RemoteCalendar
from services.connection_settings import ConnectionSettings, update_calendar_connection, update_external_calendar
from services.connections import disconnect_calendar
from services.errors import SlotUnavailableError
from services.sync_dispatch import dispatch_outbox
from tests.fakes.memory import MemoryProvider
from tests.jobs.test_pull import moved_by_hand
from tests.support.sync import book, given_connected_staff, personal_event

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)
TEN_BERLIN = datetime(2030, 1, 8, 9, tzinfo=UTC)
HOUR = timedelta(hours=1)


def memory() -> MemoryProvider:
    return MemoryProvider([RemoteCalendar("work", "Work", "", "Europe/Berlin", writable=True, primary=True)])


def meanwhile(step: str, start: Callable[[], Coroutine[Any, Any, Any]], started: list[asyncio.Task[Any]]) -> Any:
    """An `after_step` that, at `step`, starts another change and lets it run until it has to wait. The change runs
    as another job or request would, outside the pull's transaction: a task started inside it would share it (the
    ORM finds a task's transaction in its context, and a new task copies the context)."""
    outside = contextvars.copy_context()

    async def after_step(name: str) -> None:
        if name == step:
            started.append(asyncio.create_task(start(), context=outside))
            await asyncio.sleep(0.5)
            assert not started[0].done(), "the other change did not wait for the pull's transaction"

    return after_step


async def test_a_booking_made_while_a_pull_imports_busy_time_waits_and_cannot_take_that_time(db: str) -> None:
    given = await given_connected_staff()
    provider = memory()
    provider.write_by_hand("work", "dentist.ics", personal_event("dentist", TEN_BERLIN))
    started: list[asyncio.Task[Any]] = []
    # when a customer books the dentist's hour while the pull that imports it is still open
    outcome = await pull_calendar(given.calendar.id, provider, NOW, after_step=meanwhile(
        "busy_blocks", lambda: book(given, TEN_BERLIN, NOW), started))
    # then the booking waited for the pull's commit, and then found the time taken
    assert outcome.status == "done"
    with pytest.raises(SlotUnavailableError):
        await started[0]
    assert await Booking.all().count() == 0
    assert await BusyBlock.all().values_list("external_event_id", flat=True) == ["dentist.ics"]


async def test_a_disconnect_while_a_pull_moves_a_booking_waits_for_it_and_neither_deadlocks(db: str) -> None:
    given = await given_connected_staff()
    provider = memory()
    (booking,) = await book(given, TEN_BERLIN, NOW)
    for mapping_id in await dispatch_outbox(NOW):
        await push_mapping(mapping_id, provider, NOW)
    await pull_calendar(given.calendar.id, provider, NOW)
    mapping = await EventMapping.get(booking_id=booking.id)
    # given the booking's event moved by hand (no busy time changes: the pull takes the staff lock without a new
    # schedule version, before the connection's, as the disconnect does)
    moved_by_hand(provider, mapping.external_event_id, TEN_BERLIN + 4 * HOUR)
    started: list[asyncio.Task[Any]] = []
    later = NOW + timedelta(minutes=1)
    # when the staff member disconnects the calendar while the pull is applying, before it moves the booking
    outcome = await pull_calendar(given.calendar.id, provider, later, after_step=meanwhile(
        "busy_blocks", lambda: disconnect_calendar(given.owner, given.connection.id, False, later), started))
    # then the pull moved the booking and committed, and the disconnect came after it, whole
    assert outcome.status == "done"
    disconnected = await started[0]
    assert disconnected.health == "disconnected"
    moved = await Booking.get(id=booking.id)
    assert (moved.starts_at, moved.version) == (TEN_BERLIN + 4 * HOUR, booking.version + 1)
    assert (await EventMapping.get(id=mapping.id)).state == EventMappingState.UNLINKED
    assert (await CalendarConnection.get(id=given.connection.id)).credentials == ""


class ChangedWhileListing(MemoryProvider):
    """The memory calendar, where the staff member changes the connection's settings while a listing is on its
    way (after the provider answered, before the pull applies the answer)."""

    def __init__(self, meanwhile: Callable[[], Coroutine[Any, Any, Any]] | None = None) -> None:
        super().__init__([RemoteCalendar("work", "Work", "", "Europe/Berlin", writable=True, primary=True)])
        self.meanwhile = meanwhile

    async def fetch_changes(self, calendar_id: str, cursor: str | None, window: Span) -> Changes:
        changes = await super().fetch_changes(calendar_id, cursor, window)
        if self.meanwhile is not None:
            await self.meanwhile()
        return changes


@pytest.mark.parametrize("change", ["disconnect", "stop_importing"])
async def test_a_pull_whose_calendar_stopped_importing_while_it_listed_brings_no_busy_time_back(
        db: str, change: str) -> None:
    given = await given_connected_staff()
    provider = ChangedWhileListing()
    provider.write_by_hand("work", "dentist.ics", personal_event("dentist", TEN_BERLIN))
    await pull_calendar(given.calendar.id, provider, NOW)
    later = NOW + timedelta(minutes=1)

    async def stop() -> None:
        if change == "disconnect":
            await disconnect_calendar(given.owner, given.connection.id, True, later)
        else:
            await update_external_calendar(given.owner, given.calendar.id, False, None, later)

    # when, while the next pull lists a new event, the calendar is disconnected with its blocks removed (or its
    # import switched off, which removes them too)
    provider.write_by_hand("work", "gym.ics", personal_event("gym", TEN_BERLIN + 3 * HOUR))
    provider.meanwhile = stop
    outcome = await pull_calendar(given.calendar.id, provider, later)
    # then the pull applies nothing of what it read: no block comes back
    assert outcome.status == "skipped"
    assert await BusyBlock.all().count() == 0


async def test_a_pull_that_listed_under_a_blocking_rule_changed_meanwhile_leaves_the_full_re_read_to_the_next(
        db: str) -> None:
    # given a tentative event that takes no time (tentative does not block by default), already pulled
    given = await given_connected_staff()
    provider = ChangedWhileListing()
    provider.write_by_hand("work", "maybe.ics", personal_event("maybe", TEN_BERLIN, extra="STATUS:TENTATIVE\r\n"))
    await pull_calendar(given.calendar.id, provider, NOW)
    assert await BusyBlock.all().count() == 0
    later = NOW + timedelta(minutes=1)
    version: list[int] = []

    async def block_tentative() -> None:
        await update_calendar_connection(given.owner, given.connection.id, ConnectionSettings(tentative_blocks=True),
                                         later)
        version.append((await Staff.get(id=given.staff.id)).booking_lock)

    # when, while the next pull lists a new event under the old rule, tentative events are made to block
    provider.write_by_hand("work", "gym.ics", personal_event("gym", TEN_BERLIN + 3 * HOUR))
    provider.meanwhile = block_tentative
    outcome = await pull_calendar(given.calendar.id, provider, later)
    # then that pull applies nothing, keeps the full re-read asked for, and gives the schedule no new version
    assert outcome.status == "skipped"
    calendar = await ExternalCalendar.get(id=given.calendar.id)
    assert (calendar.sync_cursor, calendar.window_start) == ("", None)
    assert await BusyBlock.all().count() == 0
    assert (await Staff.get(id=given.staff.id)).booking_lock == version[0]
    # and the next pull reads every event under the new rule
    provider.meanwhile = None
    assert (await pull_calendar(given.calendar.id, provider, later)).status == "done"
    assert sorted(await BusyBlock.all().values_list("starts_at", flat=True)) == [TEN_BERLIN, TEN_BERLIN + 3 * HOUR]
