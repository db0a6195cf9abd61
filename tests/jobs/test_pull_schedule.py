"""A pull that finds nothing new: what it costs, and when the calendar is pulled next."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from domain.intervals import Span
from jobs.pull import pull_calendar
from models import CalendarConnection, ExternalCalendar, SyncLogEntry
from providers.base import Changes, RemoteCalendar
from services.sync_dispatch import request_pull
from services.sync_schedule import TIMING
from tests.fakes.memory import MemoryProvider
from tests.support.statements import counted_statements
from tests.support.sync import given_connected_staff

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)


class AskedWhileFetching(MemoryProvider):
    """The memory provider, running `during_fetch` while it answers (as if someone acted while the pull listed)."""

    def __init__(self, during_fetch: Callable[[], Awaitable[object]] | None = None) -> None:
        super().__init__([RemoteCalendar("work", "Work", "", "Europe/Berlin", writable=True, primary=True)])
        self.during_fetch = during_fetch

    async def fetch_changes(self, calendar_id: str, cursor: str | None, window: Span) -> Changes:
        if self.during_fetch is not None and cursor is not None:
            await self.during_fetch()
        return await super().fetch_changes(calendar_id, cursor, window)


async def test_a_pull_that_finds_nothing_costs_three_statements_and_comes_due_a_hot_poll_later(db: str) -> None:
    # given a calendar pulled once, whose provider has nothing new since
    given = await given_connected_staff()
    provider = AskedWhileFetching()
    await pull_calendar(given.calendar.id, provider, NOW)
    logged = await SyncLogEntry.all().count()
    later = NOW + timedelta(minutes=1)
    # when it is pulled again
    with counted_statements() as statements:
        outcome = await pull_calendar(given.calendar.id, provider, later)
    # then it read the calendar with its connection and staff member in one statement, wrote the calendar and the
    # success, and nothing else
    assert outcome.status == "done"
    assert outcome.plan is not None and (outcome.plan.upserts, outcome.plan.deletes) == ((), ())
    assert [statement.split()[0] for statement in statements] == ["SELECT"] + ["UPDATE"] * 2
    calendar = await ExternalCalendar.get(id=given.calendar.id)
    assert (calendar.last_pulled_at, calendar.next_pull_at) == (later, later + TIMING.hot_poll)
    connection = await CalendarConnection.get(id=given.connection.id)
    assert (connection.last_successful_sync_at, connection.last_attempt_at) == (later, later)
    assert await SyncLogEntry.all().count() == logged


async def test_sync_now_asked_while_a_quiet_pull_runs_keeps_its_time(db: str) -> None:
    # given a calendar pulled once, and "sync now" asked while the next pull is listing
    given = await given_connected_staff()
    later = NOW + timedelta(minutes=1)
    asked = later + timedelta(seconds=5)
    provider = AskedWhileFetching(lambda: request_pull(given.connection.id, asked))
    await pull_calendar(given.calendar.id, provider, NOW)
    # when that pull finds nothing new
    await pull_calendar(given.calendar.id, provider, later)
    # then the calendar is due when "sync now" said, not a hot poll later, and the pull itself is recorded
    calendar = await ExternalCalendar.get(id=given.calendar.id)
    assert (calendar.last_pulled_at, calendar.next_pull_at) == (later, asked)
