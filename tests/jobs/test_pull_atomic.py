"""Applying a pull commits together or not at all (DESIGN.md invariant 11), and its live events follow the commit.

Each test stops a pull after one of its steps (pull_calendar's `after_step` raises), then checks that every table
the pull touches is exactly as before and that nothing was published, and then that the next pull does the whole
job. The steps are jobs.pull's own tuples, so a step added there is tested here without a line more.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio.client import PubSub

from jobs.pull import FAILED_STEPS, HELD_BACK_STEPS, NO_CHANGE_STEPS, PULL_STEPS, pull_calendar
from jobs.push import push_mapping
from models import (
    Booking,
    BusyBlock,
    CalendarConnection,
    EventMapping,
    ExternalCalendar,
    Notification,
    OutboxEntry,
    Staff,
    SyncConflict,
    SyncLogEntry,
)
from providers.base import RemoteCalendar, Unavailable
from services import live
from services.sync_dispatch import dispatch_outbox
from services.sync_health import record_failure
from tests.fakes.memory import MemoryProvider
from tests.jobs.test_pull import moved_by_hand
from tests.support.live import hearing, next_event
from tests.support.sync import ConnectedStaff, book, given_connected_staff, personal_event

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)
LATER = NOW + timedelta(minutes=10)  # the pull under test
TEN_BERLIN = datetime(2030, 1, 8, 9, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# Every table a pull may change, and the bookings and staff rows (a move, a cancel, a schedule version).
TABLES = (BusyBlock, EventMapping, SyncConflict, Notification, SyncLogEntry, ExternalCalendar, CalendarConnection,
          Booking, OutboxEntry, Staff)


class Stop(Exception):
    """Raised by the test's `after_step` to stop a pull."""


def stop_after(step: str) -> Any:
    def after_step(name: str) -> None:
        if name == step:
            raise Stop(name)

    return after_step


async def snapshot() -> dict[str, list[dict[str, Any]]]:
    return {model.__name__: await model.all().order_by("id").values() for model in TABLES}


async def heard_events(heard: PubSub) -> list[live.LiveEvent]:
    events = []
    while (event := await next_event(heard, wait=0.3)) is not None:
        events.append(event)
    return events


@pytest.fixture
async def heard(redis_url: str) -> AsyncIterator[PubSub]:
    async with hearing(redis_url) as pubsub:
        yield pubsub


def memory() -> MemoryProvider:
    return MemoryProvider([RemoteCalendar("work", "Work", "", "Europe/Berlin", writable=True, primary=True)])


async def given_degraded(given: ConnectedStaff) -> None:
    """The calendar failed twice in a row since its last success, so the next success is a recovery."""
    await record_failure(given.connection.id, "server error (502)", NOW + timedelta(minutes=1))
    await record_failure(given.connection.id, "server error (502)", NOW + timedelta(minutes=2))


async def given_hand_edits(given: ConnectedStaff, provider: MemoryProvider) -> dict[str, int]:
    """Given four bookings written to the calendar and a personal event imported, then edited by hand in the
    calendar: one booking's event moved to a free time, one deleted, one moved onto a fifth booking's time, a new
    personal event over a third booking, and the old personal event deleted; the fifth booking's event is still
    waiting to be written, and the calendar has been failing since."""
    provider.write_by_hand("work", "gym.ics", personal_event("gym", TEN_BERLIN + 3 * DAY))
    bookings = {}
    for name, start in (("moved", TEN_BERLIN), ("deleted", TEN_BERLIN + DAY), ("overlapped", TEN_BERLIN + 2 * DAY),
                        ("clash", TEN_BERLIN + 5 * DAY)):
        (bookings[name],) = [booking.id for booking in await book(given, start, NOW, name=name)]
    for mapping_id in await dispatch_outbox(NOW):
        await push_mapping(mapping_id, provider, NOW)
    (bookings["waiting"],) = [booking.id for booking in await book(given, TEN_BERLIN + 4 * DAY, NOW, name="waiting")]
    await dispatch_outbox(NOW)  # its item is pending, due later
    await EventMapping.filter(booking_id=bookings["waiting"]).update(next_attempt_at=NOW + HOUR)
    await pull_calendar(given.calendar.id, provider, NOW)
    moved = await EventMapping.get(booking_id=bookings["moved"])
    moved_by_hand(provider, moved.external_event_id, TEN_BERLIN + 4 * HOUR)
    provider.delete_by_hand("work", (await EventMapping.get(booking_id=bookings["deleted"])).external_event_id)
    # (the move onto taken time is tried and refused: a savepoint inside the pull's transaction, undone alone)
    moved_by_hand(provider, (await EventMapping.get(booking_id=bookings["clash"])).external_event_id,
                  TEN_BERLIN + 4 * DAY)
    provider.write_by_hand("work", "dentist.ics", personal_event("dentist", TEN_BERLIN + 2 * DAY + HOUR / 2))
    provider.delete_by_hand("work", "gym.ics")
    await given_degraded(given)
    return bookings


async def assert_hand_edits_applied(given: ConnectedStaff, bookings: dict[str, int]) -> None:
    """The whole job of the pull of given_hand_edits' calendar, at LATER."""
    # busy blocks: the dentist in, the gym out
    assert await BusyBlock.all().values_list("external_event_id", "starts_at") == [
        ("dentist.ics", TEN_BERLIN + 2 * DAY + HOUR / 2)]
    # the event moved to a free time moved its booking; the deleted one, the one moved onto taken time and the
    # overlap each opened a conflict
    moved = await Booking.get(id=bookings["moved"])
    assert (moved.starts_at, moved.version) == (TEN_BERLIN + 4 * HOUR, 2)
    clash = await Booking.get(id=bookings["clash"])
    assert (clash.starts_at, clash.version) == (TEN_BERLIN + 5 * DAY, 1)
    assert await SyncConflict.all().order_by("id").values_list("booking_id", "kind", "status") == [
        (bookings["deleted"], "event_deleted", "open"), (bookings["clash"], "event_moved", "open"),
        (bookings["overlapped"], "busy_overlap", "open")]
    mappings = dict(await EventMapping.all().values_list("booking_id", "state"))
    assert mappings == {bookings["moved"]: "synced", bookings["deleted"]: "conflict",
                        bookings["overlapped"]: "synced", bookings["clash"]: "conflict",
                        bookings["waiting"]: "pending"}
    # the waiting item is due at once, now that the calendar works again
    assert (await EventMapping.get(booking_id=bookings["waiting"])).next_attempt_at == LATER
    # the staff member and the owner are told of each case and of the recovery
    kinds = await Notification.all().order_by("id").values_list("kind", flat=True)
    assert kinds == [kind for kind in ("event_moved", "event_deleted", "event_moved", "busy_overlap",
                                       "sync_recovered") for _ in range(2)]
    log = await SyncLogEntry.filter(direction="import").order_by("id").values_list("action", "detail")
    assert log[-5:] == [("event_moved", "reschedule_booking"), ("event_deleted", "open_conflict"),
                        ("event_moved", "open_conflict"), ("busy_overlap", "open_conflict"),
                        ("pull", "1 busy blocks added or changed, 1 removed")]
    calendar = await ExternalCalendar.get(id=given.calendar.id)
    assert (calendar.last_pulled_at, calendar.window_start is not None, calendar.empty_listings) == (LATER, True, 0)
    connection = await CalendarConnection.get(id=given.connection.id)
    assert (connection.health, connection.consecutive_failures, connection.last_successful_sync_at) == (
        "active", 0, LATER)


# What the pull of given_hand_edits announces: the busy time, the moved booking (and its time), a notification for
# each of the four cases, and the recovered health with its notification.
HAND_EDIT_EVENTS = ["AvailabilityChanged", "BookingsChanged", "AvailabilityChanged", *["NotificationsAdded"] * 4,
                    "SyncHealthChanged", "NotificationsAdded"]


def test_the_steps_of_a_pull_are_named_once_each() -> None:
    for steps in (PULL_STEPS, NO_CHANGE_STEPS, HELD_BACK_STEPS, FAILED_STEPS):
        assert len(set(steps)) == len(steps)


async def test_a_pull_with_hand_edits_goes_through_every_step_and_publishes_after_them(db: str, redis_url: str
                                                                                     ) -> None:
    given = await given_connected_staff()
    provider = memory()
    bookings = await given_hand_edits(given, provider)
    seen: list[str] = []
    async with hearing(redis_url) as heard:
        # when the pull runs to the end
        outcome = await pull_calendar(given.calendar.id, provider, LATER, after_step=seen.append)
        # then it went through exactly the steps of a pull, in order, and did the whole job
        assert (outcome.status, seen) == ("done", list(PULL_STEPS))
        await assert_hand_edits_applied(given, bookings)
        events = await heard_events(heard)
    # and its live events came once all of it had committed: the moved booking, the busy time, the notifications
    # and the health
    assert [type(event).__name__ for event in events] == HAND_EDIT_EVENTS
    assert live.BookingsChanged("rescheduled", given.staff.business_id, (given.staff.id,),
                                (bookings["moved"],)) in events
    assert live.SyncHealthChanged(given.connection.id, given.staff.id, given.staff.business_id, "active") in events


@pytest.mark.parametrize("step", PULL_STEPS)
async def test_a_pull_stopped_after_any_step_leaves_nothing_and_the_next_pull_does_it_all(
        db: str, redis_url: str, step: str) -> None:
    given = await given_connected_staff()
    provider = memory()
    bookings = await given_hand_edits(given, provider)
    before = await snapshot()
    async with hearing(redis_url) as heard:
        # when the pull stops after the step
        with pytest.raises(Stop):
            await pull_calendar(given.calendar.id, provider, LATER, after_step=stop_after(step))
        # then every table is exactly as before, and nothing was announced
        assert await snapshot() == before
        assert await heard_events(heard) == []
        # when the next pull runs (it finds the same changes: the cursor did not move)
        outcome = await pull_calendar(given.calendar.id, provider, LATER)
        # then it does the whole job, and announces it
        assert outcome.status == "done"
        await assert_hand_edits_applied(given, bookings)
        assert [type(event).__name__ for event in await heard_events(heard)] == HAND_EDIT_EVENTS


async def given_polled(given: ConnectedStaff, provider: MemoryProvider) -> None:
    """Given a calendar pulled once, with one personal event, and failing since."""
    provider.write_by_hand("work", "gym.ics", personal_event("gym", TEN_BERLIN))
    await pull_calendar(given.calendar.id, provider, NOW)
    await given_degraded(given)


@pytest.mark.parametrize("step", NO_CHANGE_STEPS)
async def test_a_poll_that_finds_nothing_new_is_one_transaction_too(db: str, heard: PubSub, step: str) -> None:
    given = await given_connected_staff()
    provider = memory()
    await given_polled(given, provider)
    await heard_events(heard)  # what the setup announced
    before = await snapshot()
    seen: list[str] = []

    def after_step(name: str) -> None:
        seen.append(name)
        stop_after(step)(name)

    # when a poll that finds nothing new stops after the step
    with pytest.raises(Stop):
        await pull_calendar(given.calendar.id, provider, LATER, after_step=after_step)
    # then nothing changed and nothing was announced
    assert await snapshot() == before
    assert await heard_events(heard) == []
    # when the next poll runs to the end, it went through exactly the steps of a poll, marked the calendar pulled
    # and the connection active again, and only then announced the recovery
    seen.clear()
    outcome = await pull_calendar(given.calendar.id, provider, LATER, after_step=seen.append)
    assert (outcome.status, seen) == ("done", list(NO_CHANGE_STEPS))
    calendar = await ExternalCalendar.get(id=given.calendar.id)
    connection = await CalendarConnection.get(id=given.connection.id)
    assert (calendar.last_pulled_at, connection.health, connection.last_successful_sync_at) == (LATER, "active", LATER)
    assert await BusyBlock.all().values_list("external_event_id", flat=True) == ["gym.ics"]
    assert [type(event).__name__ for event in await heard_events(heard)] == ["SyncHealthChanged",
                                                                             "NotificationsAdded"]


@pytest.mark.parametrize("step", HELD_BACK_STEPS)
async def test_a_suddenly_empty_listing_held_back_is_one_transaction_too(db: str, heard: PubSub, step: str) -> None:
    given = await given_connected_staff()
    provider = memory()
    for day in range(6):
        provider.write_by_hand("work", f"visit-{day}.ics", personal_event(f"visit-{day}", TEN_BERLIN + day * DAY))
    await pull_calendar(given.calendar.id, provider, NOW)
    for day in range(6):
        provider.delete_by_hand("work", f"visit-{day}.ics")
    provider.forget_history("work")  # so the next pull is a complete listing, which is now empty
    await heard_events(heard)  # what the setup announced
    before = await snapshot()
    # when the suspicious listing's pull stops after the step
    with pytest.raises(Stop):
        await pull_calendar(given.calendar.id, provider, LATER, after_step=stop_after(step))
    # then nothing changed and nothing was announced
    assert await snapshot() == before
    assert await heard_events(heard) == []
    # when the next pull runs to the end, it holds the listing back: counted, logged, the health degraded
    seen: list[str] = []
    outcome = await pull_calendar(given.calendar.id, provider, LATER, after_step=seen.append)
    assert outcome.plan is not None and outcome.plan.suspicious
    assert seen == list(HELD_BACK_STEPS)
    assert await BusyBlock.all().count() == 6
    calendar = await ExternalCalendar.get(id=given.calendar.id)
    assert (calendar.empty_listings, calendar.window_start, calendar.last_pulled_at) == (1, None, LATER)
    assert await SyncLogEntry.filter(outcome="retrying").count() == 1
    assert (await CalendarConnection.get(id=given.connection.id)).health == "degraded"
    assert [type(event).__name__ for event in await heard_events(heard)] == ["SyncHealthChanged"]


@pytest.mark.parametrize("step", FAILED_STEPS)
async def test_a_failed_pull_records_its_failure_in_one_transaction(db: str, heard: PubSub, step: str) -> None:
    given = await given_connected_staff()
    provider = memory()
    await pull_calendar(given.calendar.id, provider, NOW)
    await heard_events(heard)  # what the setup announced
    before = await snapshot()
    # when the provider fails, and recording that stops after the step
    provider.faults.append(Unavailable("server error (502)"))
    with pytest.raises(Stop):
        await pull_calendar(given.calendar.id, provider, LATER, after_step=stop_after(step))
    # then nothing changed and nothing was announced
    assert await snapshot() == before
    assert await heard_events(heard) == []
    # when it fails again and is recorded to the end: the health, the retry time and the log entry together
    provider.faults.append(Unavailable("server error (502)"))
    seen: list[str] = []
    outcome = await pull_calendar(given.calendar.id, provider, LATER, after_step=seen.append)
    assert (outcome.status, seen) == ("retry", list(FAILED_STEPS))
    calendar = await ExternalCalendar.get(id=given.calendar.id)
    connection = await CalendarConnection.get(id=given.connection.id)
    assert (calendar.next_pull_at, connection.health, connection.consecutive_failures) == (
        outcome.retry_at, "degraded", 1)
    assert await SyncLogEntry.filter(outcome="failed").values_list("error", flat=True) == ["server error (502)"]
    assert [type(event).__name__ for event in await heard_events(heard)] == ["SyncHealthChanged"]
