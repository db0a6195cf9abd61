"""The connection preview at the service level, with a reader of our own (the injected dependency): which calendars
are read over which window, the titles each viewer may see, Lockstep's own events, the bounds (200 events, the time
limit) and the failures that are the service's to name."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from domain.intervals import Span
from models import (
    CalendarConnection,
    ConnectionHealth,
    ExternalCalendar,
    Staff,
    SyncDirection,
    User,
    UserRole,
)
from services.auth import Viewer
from services.connection_preview import (
    MAX_EVENTS,
    OWN_EVENT_TITLE,
    OwnBooking,
    PreviewFailed,
    PreviewSource,
    SeenEvent,
    preview_connection,
)
from services.errors import NotAuthorizedError, NotFoundError
from tests.support.sync import ConnectedStaff, book, given_connected_staff

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)
WEEK = Span(NOW, NOW + timedelta(days=7))


@dataclass
class Reader:
    """Answers with `events` (or waits `delay` seconds first, or raises `failure`), and keeps what it was asked."""

    events: list[SeenEvent] = field(default_factory=list)
    delay: float = 0.0
    failure: PreviewFailed | None = None
    asked: list[tuple[int, list[tuple[str, bool]], Span]] = field(default_factory=list)

    async def __call__(self, connection: CalendarConnection, staff: Staff, sources: Sequence[PreviewSource],
                       window: Span) -> list[SeenEvent]:
        self.asked.append((connection.id, [(source.calendar.name, source.imports) for source in sources], window))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.failure is not None:
            raise self.failure
        return self.events


def seen(calendar: ExternalCalendar, hour: int, title: str, *, blocks: bool = True, all_day: bool = False,
         own: OwnBooking | None = None) -> SeenEvent:
    return SeenEvent(calendar.id, Span(NOW + timedelta(hours=hour), NOW + timedelta(hours=hour + 1)), all_day, title,
                     blocks, own)


@pytest.fixture
async def given(db: str) -> ConnectedStaff:
    return await given_connected_staff(credentials="sealed")


async def staff_viewer(given: ConnectedStaff) -> Viewer:
    assert given.staff.user_id is not None
    return Viewer(given.staff.user_id, UserRole.STAFF)


async def test_the_calendars_importing_busy_time_are_read_over_the_next_seven_days(given: ConnectedStaff) -> None:
    await ExternalCalendar.create(connection=given.connection, provider_calendar_id="family", name="Family",
                                  import_busy=True)
    await ExternalCalendar.create(connection=given.connection, provider_calendar_id="holidays", name="Holidays",
                                  import_busy=False)
    reader = Reader()
    preview = await preview_connection(given.owner, given.connection.id, reader, NOW)
    assert reader.asked == [(given.connection.id, [("Work", True), ("Family", True)], WEEK)]
    assert ([row.name for row in preview.calendars], preview.window, preview.events, preview.truncated) == (
        ["Work", "Family"], WEEK, [], False)


async def test_without_an_importing_calendar_the_destination_is_read_and_blocks_nothing(
        given: ConnectedStaff) -> None:
    await ExternalCalendar.filter(id=given.calendar.id).update(import_busy=False)
    await ExternalCalendar.create(connection=given.connection, provider_calendar_id="family", name="Family",
                                  import_busy=False)
    reader = Reader()
    await preview_connection(given.owner, given.connection.id, reader, NOW)
    assert reader.asked == [(given.connection.id, [("Work", False)], WEEK)]


async def test_an_export_only_connection_imports_nothing(given: ConnectedStaff) -> None:
    await CalendarConnection.filter(id=given.connection.id).update(direction=SyncDirection.EXPORT_ONLY)
    reader = Reader()
    await preview_connection(given.owner, given.connection.id, reader, NOW)
    assert reader.asked == [(given.connection.id, [("Work", False)], WEEK)]


async def test_a_connection_without_calendars_to_read_asks_nobody(given: ConnectedStaff) -> None:
    await ExternalCalendar.filter(id=given.calendar.id).update(import_busy=False, is_destination=False)
    reader = Reader()
    preview = await preview_connection(given.owner, given.connection.id, reader, NOW)
    assert (reader.asked, preview.calendars, preview.events) == ([], [], [])


async def test_the_staff_member_sees_titles_and_the_owner_sees_busy(given: ConnectedStaff) -> None:
    reader = Reader([seen(given.calendar, 3, "Dentist"), seen(given.calendar, 1, "Gym", blocks=False),
                     seen(given.calendar, 5, "", all_day=True)])
    mine = await preview_connection(await staff_viewer(given), given.connection.id, reader, NOW)
    theirs = await preview_connection(given.owner, given.connection.id, reader, NOW)
    assert [(event.span.start.hour, event.title, event.blocks, event.all_day, event.lockstep)
            for event in mine.events] == [(7, "Gym", False, False, False), (9, "Dentist", True, False, False),
                                          (11, "Busy", True, True, False)]
    assert [event.title for event in theirs.events] == ["Busy", "Busy", "Busy"]


async def test_lockstep_events_carry_their_booking_for_everyone_and_never_block(given: ConnectedStaff) -> None:
    (booking,) = await book(given, NOW + timedelta(hours=4), NOW)
    ours = OwnBooking("booking", booking.id, booking.starts_at)
    gone = OwnBooking("booking", booking.id + 100, NOW + timedelta(hours=6))
    reader = Reader([seen(given.calendar, 4, "", blocks=True, own=ours), seen(given.calendar, 6, "", own=gone)])
    for viewer in (given.owner, await staff_viewer(given)):
        preview = await preview_connection(viewer, given.connection.id, reader, NOW)
        assert [(event.title, event.blocks, event.lockstep, event.booking_id) for event in preview.events] == [
            ("Boiler check – Cleo Customer", False, True, booking.id), (OWN_EVENT_TITLE, False, True, None)]


async def test_at_most_200_events_soonest_first(given: ConnectedStaff) -> None:
    reader = Reader([seen(given.calendar, hour % 160, f"event {hour}") for hour in range(MAX_EVENTS + 5)][::-1])
    preview = await preview_connection(await staff_viewer(given), given.connection.id, reader, NOW)
    starts = [event.span.start for event in preview.events]
    assert (len(preview.events), preview.truncated, starts == sorted(starts)) == (MAX_EVENTS, True, True)
    assert preview.events[0].title == "event 0"


async def test_exactly_200_events_are_not_truncated(given: ConnectedStaff) -> None:
    reader = Reader([seen(given.calendar, hour % 160, "x") for hour in range(MAX_EVENTS)])
    preview = await preview_connection(given.owner, given.connection.id, reader, NOW)
    assert (len(preview.events), preview.truncated) == (MAX_EVENTS, False)


async def test_a_reader_past_the_time_limit_is_unavailable(given: ConnectedStaff) -> None:
    with pytest.raises(PreviewFailed) as failed:
        await preview_connection(given.owner, given.connection.id, Reader(delay=5), NOW, time_limit=0.05)
    assert (failed.value.problem, failed.value.message, failed.value.retry_after_seconds) == (
        "unavailable", "The calendar did not answer within 1 seconds; try again later", None)


async def test_the_readers_failure_is_passed_on(given: ConnectedStaff) -> None:
    failure = PreviewFailed("rate_limited", "slow down", 30)
    with pytest.raises(PreviewFailed) as failed:
        await preview_connection(given.owner, given.connection.id, Reader(failure=failure), NOW)
    assert failed.value is failure


async def test_without_a_reader_no_provider_is_available(given: ConnectedStaff) -> None:
    with pytest.raises(PreviewFailed) as failed:
        await preview_connection(given.owner, given.connection.id, None, NOW)
    assert (failed.value.problem, failed.value.message) == (
        "provider_not_available", "Calendars cannot be read live on this server")


@pytest.mark.parametrize("health, credentials", [(ConnectionHealth.DISCONNECTED, ""),
                                                 (ConnectionHealth.ACTIVE, "")])
async def test_a_disconnected_connection_is_not_read(given: ConnectedStaff, health: ConnectionHealth,
                                                     credentials: str) -> None:
    await CalendarConnection.filter(id=given.connection.id).update(health=health, credentials=credentials)
    reader = Reader()
    with pytest.raises(PreviewFailed) as failed:
        await preview_connection(given.owner, given.connection.id, reader, NOW)
    assert (failed.value.problem, reader.asked) == ("disconnected", [])


async def test_another_business_owner_is_told_it_does_not_exist(given: ConnectedStaff) -> None:
    rival = await User.create(email="rival@example.com", name="Rita", password_hash="-", role=UserRole.OWNER)
    reader = Reader()
    with pytest.raises(NotFoundError) as missing:
        await preview_connection(Viewer(rival.id, UserRole.OWNER), given.connection.id, reader, NOW)
    assert (missing.value.message, missing.value.path, reader.asked) == (
        "Calendar connection not found", ["connectionId"], [])


async def test_an_anonymous_viewer_is_not_authorized(given: ConnectedStaff) -> None:
    with pytest.raises(NotAuthorizedError):
        await preview_connection(Viewer(None, None), given.connection.id, Reader(), NOW)
