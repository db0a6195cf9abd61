"""A staff member with three calendars in one in-memory CalDAV account, for tests of linking and merging: Work (the
destination), Home (writable, imports busy time) and Shared (read-only, imports busy time). Events are put there by
hand and read by the real pull; bookings go out through the real push. `snapshot` is everything a refused link or
merge must leave as it was."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from jobs.pull import pull_calendar
from jobs.push import push_mapping
from models import (
    BusyBlock,
    EventMapping,
    ExternalCalendar,
    RetiredEvent,
    SyncConflict,
    SyncLogEntry,
)
from providers.base import RemoteCalendar
from services.sync_dispatch import claim_due_pushes, dispatch_outbox
from tests.fakes.memory import MemoryProvider
from tests.support.sync import ConnectedStaff, book, given_connected_staff, personal_event

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)
TEN = datetime(2030, 1, 8, 9, tzinfo=UTC)  # 10:00 in Berlin
LATER = NOW + timedelta(minutes=1)


@dataclass
class Calendars:
    given: ConnectedStaff
    provider: MemoryProvider
    work: ExternalCalendar
    home: ExternalCalendar
    shared: ExternalCalendar


async def given_calendars() -> Calendars:
    given = await given_connected_staff()
    provider = MemoryProvider([RemoteCalendar(name, name.title(), "", "Europe/Berlin", writable=name != "shared",
                                              primary=name == "work") for name in ("work", "home", "shared")])
    home = await ExternalCalendar.create(connection=given.connection, provider_calendar_id="home", name="Home",
                                         time_zone="Europe/Berlin", import_busy=True)
    shared = await ExternalCalendar.create(connection=given.connection, provider_calendar_id="shared",
                                           name="Shared", time_zone="Europe/Berlin", import_busy=True,
                                           writable=False)
    return Calendars(given, provider, given.calendar, home, shared)


async def pull_all(calendars: Calendars, now: datetime = LATER) -> list[str]:
    return [(await pull_calendar(calendar.id, calendars.provider, now)).status
            for calendar in (calendars.work, calendars.home, calendars.shared)]


async def push_due(calendars: Calendars, now: datetime = LATER) -> list[str]:
    """What the scheduler would hand out now: owed pushes (from the outbox, then every pending mapping due)."""
    await dispatch_outbox(now)
    return [(await push_mapping(mapping_id, calendars.provider, now)).status
            for mapping_id in await claim_due_pushes(now)]


async def booked_and_written(calendars: Calendars, start: datetime = TEN, name: str = "Cleo Customer") -> int:
    """A booking whose event the push wrote to Work; returns the booking's ID."""
    (booking,) = await book(calendars.given, start, NOW, name=name)
    assert await push_due(calendars, NOW) == ["done"]
    return booking.id


def by_hand(calendars: Calendars, calendar: str, uid: str, start: datetime, summary: str, *, minutes: int = 60,
            extra: str = "") -> str:
    """The staff member adds an event in their calendar app; returns its event id."""
    calendars.provider.write_by_hand(calendar, f"{uid}.ics", personal_event(uid, start, minutes, summary=summary,
                                                                           extra=extra))
    return f"{uid}.ics"


def events_in(calendars: Calendars, calendar: str) -> dict[str, str]:
    """Event id -> its UID line, of what the calendar holds."""
    found = {}
    for event_id, stored in calendars.provider.calendars[calendar].events.items():
        found[event_id] = next(line for line in stored.payload.splitlines() if line.startswith("UID:"))
    return found


async def block_of(event_id: str) -> BusyBlock:
    return await BusyBlock.get(external_event_id=event_id)


async def snapshot() -> tuple[Any, ...]:
    """Every row a link or merge may change (of the sync log, what is not a pull's report: a pull that lists
    Lockstep's own write back reports it, and changes nothing)."""
    return (await BusyBlock.all().order_by("id").values(),
            await EventMapping.all().order_by("id").values(),
            await RetiredEvent.all().order_by("id").values_list("mapping_id", "external_event_id"),
            await SyncConflict.all().order_by("id").values_list("status", "resolution"),
            await SyncLogEntry.exclude(action="pull").count())
