"""Linking and merging end to end: real CalDAV servers (Radicale, which will not change an object's UID in place,
and Xandikos, which will) and the fake of Google's servers, through the real services and job bodies. After a merge
or a link the calendar holds exactly one event for the booking, Lockstep counts its time once (the booking gives
it back when cancelled), and the pull afterwards changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
import pytest

from domain.duplicates import DuplicateKind, ItemKind, ItemRef
from jobs import runtime
from jobs.pull import import_window
from jobs.tasks import run_pull, run_push
from models import BusyBlock, EventMapping, EventMappingState
from providers.caldav import CaldavCredentials, CaldavProvider
from services.availability import offered_slots
from services.bookings import CANCEL_THIS, cancel_booking
from services.credentials import CredentialVault, new_key
from services.duplicates import duplicate_candidates
from services.event_links import link_event_to_booking
from services.merging import merge_duplicates
from services.sync_dispatch import claim_due_pushes, dispatch_outbox
from tests.fakes.google import FakeGoogle
from tests.support.caldav_servers import CaldavServer, make_calendar, write_by_hand
from tests.support.duplicates import snapshot
from tests.support.google_discovery import log_problems
from tests.support.google_jobs import USER, given_google_connection
from tests.support.sync import ConnectedStaff, book, given_connected_staff, personal_event

KEY = new_key()
EVENT, BLOCK = ItemKind.BOOKING_EVENT, ItemKind.BUSY_BLOCK


def in_days(days: int, hour: int) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)


async def push_due() -> list[str]:
    """What the scheduler hands out now: the outbox's pushes, then every pending push that is due."""
    now = datetime.now(UTC)
    await dispatch_outbox(now)
    return [await run_push(mapping_id) for mapping_id in await claim_due_pushes(now + timedelta(seconds=1))]


async def free_at(given: ConnectedStaff, start: datetime) -> bool:
    slots = await offered_slots(given.service.id, start - timedelta(hours=1), start + timedelta(hours=2), None,
                                datetime.now(UTC))
    return start in [slot.start for slot in slots]


async def group_of(given: ConnectedStaff, start: datetime) -> tuple[DuplicateKind, list[ItemRef]]:
    report = await duplicate_candidates(given.owner, given.staff.id, start - timedelta(days=1),
                                        start + timedelta(days=1))
    (group,) = report.groups
    return group.kind, [item.ref for item in group.items]


@dataclass(frozen=True)
class Caldav:
    server: CaldavServer
    calendar_url: str
    given: ConnectedStaff

    async def uids(self) -> dict[str, str]:
        """Object URL -> UID, of what the server holds now."""
        credentials = CaldavCredentials(self.server.url, self.server.username, self.server.password)
        async with CaldavProvider(credentials, self.server.home_url) as client:
            listing = await client.fetch_changes(self.calendar_url, None, import_window(datetime.now(UTC)))
        found: dict[str, str] = {}
        for remote in listing.changed:
            parsed: Any = icalendar.Calendar.from_ical(remote.payload)
            found[remote.event_id] = str(next(iter(parsed.walk("VEVENT")))["UID"])
        return found


@pytest.fixture
async def caldav(db: str, caldav_server: CaldavServer) -> Caldav:
    calendar_url = await make_calendar(caldav_server, "Work")
    runtime.configure(runtime.JobConfig(database_url=db, redis_url="redis://unused", secret_keys=(KEY,)))
    sealed = CredentialVault([KEY]).seal({
        "server_url": caldav_server.url, "username": caldav_server.username, "password": caldav_server.password,
        "home_url": caldav_server.home_url, "principal_url": caldav_server.principal_url, "own_addresses": []})
    return Caldav(caldav_server, calendar_url, await given_connected_staff(calendar_url, credentials=sealed))


async def test_caldav_a_copy_merged_away_is_deleted_and_the_time_counts_once(caldav: Caldav) -> None:
    given, start = caldav.given, in_days(3, 9)
    (booking,) = await book(given, start, datetime.now(UTC))
    assert await push_due() == ["done"]
    copy = await write_by_hand(caldav.server, caldav.calendar_url, "copy",
                               personal_event("copy-uid", start, summary="Boiler check Cleo"))
    assert await run_pull(given.calendar.id) == "done"
    mapping = await EventMapping.get(booking_id=booking.id)
    block = await BusyBlock.get()
    assert await group_of(given, start) == (DuplicateKind.BLOCK_MIRRORS_BOOKING,
                                            [ItemRef(EVENT, mapping.id), ItemRef(BLOCK, block.id)])
    await merge_duplicates(given.owner, ItemRef(EVENT, mapping.id), [ItemRef(BLOCK, block.id)], datetime.now(UTC))
    assert copy in await caldav.uids()  # the request deletes nothing at the provider
    assert await push_due() == ["done"]
    assert await caldav.uids() == {mapping.external_event_id: f"booking-{booking.id}@lockstep"}
    before = await snapshot()
    assert await run_pull(given.calendar.id) == "done"
    assert await snapshot() == before
    await cancel_booking(given.owner, booking.id, CANCEL_THIS, datetime.now(UTC))
    assert await push_due() == ["done"]
    assert await free_at(given, start)  # no copy left behind to keep the time taken
    assert await caldav.uids() == {}


async def test_caldav_an_event_made_by_hand_becomes_the_booking_s_one_event(caldav: Caldav) -> None:
    given, start = caldav.given, in_days(4, 9)
    (booking,) = await book(given, start, datetime.now(UTC))
    assert await push_due() == ["done"]
    await write_by_hand(caldav.server, caldav.calendar_url, "mine",
                        personal_event("mine-uid", start, summary="Cleo's boiler"))
    assert await run_pull(given.calendar.id) == "done"
    mapping = await link_event_to_booking(given.owner, (await BusyBlock.get()).id, booking.id, datetime.now(UTC))
    assert await BusyBlock.all().count() == 0
    assert await push_due() == ["done"]
    # one object, Lockstep's: on Radicale it replaced the one made by hand, on Xandikos it took its UID in place
    (url, uid), = (await caldav.uids()).items()
    assert uid == f"booking-{booking.id}@lockstep"
    assert (await EventMapping.get(id=mapping.id)).external_event_id == url
    before = await snapshot()
    assert await run_pull(given.calendar.id) == "done"
    assert await snapshot() == before
    assert (await EventMapping.get(id=mapping.id)).state == EventMappingState.SYNCED
    assert await BusyBlock.all().count() == 0


@pytest.fixture
async def google(database_url: str, db: str) -> AsyncIterator[tuple[FakeGoogle, ConnectedStaff]]:
    async with FakeGoogle(user_email=USER) as fake:
        connection = await given_google_connection(fake, database_url, timedelta(hours=1))
        yield fake, connection.given
        # every request our client sent, and every answer, is one Google's discovery document describes
        assert log_problems(fake.log) == []


def timed(start: datetime, summary: str) -> dict[str, object]:
    return {"summary": summary, "start": {"dateTime": start.isoformat()},
            "end": {"dateTime": (start + timedelta(hours=1)).isoformat()}}


async def test_google_a_booking_copied_by_hand_is_merged_into_one_event(
        google: tuple[FakeGoogle, ConnectedStaff]) -> None:
    fake, given = google
    start = in_days(2, 10)
    (booking,) = await book(given, start, datetime.now(UTC))
    assert await push_due() == ["done"]
    copy = fake.insert_by_hand(USER, timed(start, "Boiler check – Cleo Customer"))
    assert await run_pull(given.calendar.id) == "done"
    mapping = await EventMapping.get(booking_id=booking.id)
    block = await BusyBlock.get(external_event_id=copy["id"])
    assert await group_of(given, start) == (DuplicateKind.BOOKING_WRITTEN_TWICE,
                                            [ItemRef(EVENT, mapping.id), ItemRef(BLOCK, block.id)])
    await merge_duplicates(given.owner, ItemRef(EVENT, mapping.id), [ItemRef(BLOCK, block.id)], datetime.now(UTC))
    assert await push_due() == ["done"]
    (event,) = fake.live_events(USER)
    assert (event["id"], event["extendedProperties"]["private"]["lockstepMarker"]) == (
        mapping.external_event_id, f"booking-{booking.id}@lockstep")
    before = await snapshot()
    assert await run_pull(given.calendar.id) == "done"
    assert await snapshot() == before
    await cancel_booking(given.owner, booking.id, CANCEL_THIS, datetime.now(UTC))
    assert await push_due() == ["done"]
    assert fake.live_events(USER) == []
    assert await free_at(given, start)


async def test_google_an_event_made_by_hand_is_linked_and_keeps_its_id(
        google: tuple[FakeGoogle, ConnectedStaff]) -> None:
    fake, given = google
    start = in_days(2, 12)
    (booking,) = await book(given, start, datetime.now(UTC))
    await dispatch_outbox(datetime.now(UTC))  # the booking's event is owed, not yet written
    mine = fake.insert_by_hand(USER, timed(start, "Cleo's boiler"))
    assert await run_pull(given.calendar.id) == "done"
    block = await BusyBlock.get(external_event_id=mine["id"])
    await link_event_to_booking(given.owner, block.id, booking.id, datetime.now(UTC))
    assert await push_due() == ["done"]
    (event,) = fake.live_events(USER)
    assert (event["id"], event["summary"], event["extendedProperties"]["private"]["lockstepMarker"]) == (
        mine["id"], "Boiler check – Cleo Customer", f"booking-{booking.id}@lockstep")
    before = await snapshot()
    assert await run_pull(given.calendar.id) == "done"
    assert await snapshot() == before
    assert await BusyBlock.all().count() == 0
    assert not await free_at(given, start)
