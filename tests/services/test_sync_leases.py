"""The per-calendar sync lease: one holder at a time, renewed by heartbeat while its holder lives, lapsing soon after
the holder dies, released only by its holder."""

from __future__ import annotations

import asyncio
import sys
import time
from asyncio.subprocess import PIPE
from datetime import UTC, datetime, timedelta

from models import ExternalCalendar
from services.sync_leases import LEASE_TTL, calendar_lease, release_calendar_lease, take_calendar_lease
from tests.support.server import ROOT
from tests.support.sync import given_connected_staff

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)
TTL = timedelta(minutes=2)


async def test_a_held_lease_cannot_be_taken_until_it_lapses(db: str) -> None:
    given = await given_connected_staff()
    assert await take_calendar_lease(given.calendar.id, "first", NOW, TTL)
    # when another job tries while it is held
    assert not await take_calendar_lease(given.calendar.id, "second", NOW + TTL - timedelta(seconds=1), TTL)
    # then the first still holds it; once its time has run out, another job may take it
    calendar = await ExternalCalendar.get(id=given.calendar.id)
    assert (calendar.sync_lock_owner, calendar.sync_lock_until) == ("first", NOW + TTL)
    assert await take_calendar_lease(given.calendar.id, "second", NOW + TTL + timedelta(seconds=1), TTL)


async def test_only_the_holder_releases_the_lease(db: str) -> None:
    given = await given_connected_staff()
    await take_calendar_lease(given.calendar.id, "first", NOW, TTL)
    await take_calendar_lease(given.calendar.id, "second", NOW + 2 * TTL, TTL)  # the first lapsed
    # when the first job, finishing late, releases
    await release_calendar_lease(given.calendar.id, "first")
    # then the second job's lease stands
    assert (await ExternalCalendar.get(id=given.calendar.id)).sync_lock_owner == "second"
    await release_calendar_lease(given.calendar.id, "second")
    calendar = await ExternalCalendar.get(id=given.calendar.id)
    assert (calendar.sync_lock_owner, calendar.sync_lock_until) == ("", None)


async def test_the_block_form_yields_whether_it_holds_and_gives_the_lease_back(db: str) -> None:
    given = await given_connected_staff()
    async with calendar_lease(given.calendar.id, TTL) as outer:
        async with calendar_lease(given.calendar.id, TTL) as inner:
            assert (outer, inner) == (True, False)
        assert (await ExternalCalendar.get(id=given.calendar.id)).sync_lock_until is not None
    assert (await ExternalCalendar.get(id=given.calendar.id)).sync_lock_until is None


async def test_a_holder_that_stops_renewing_loses_the_calendar_within_30_seconds(db: str) -> None:
    # given a lease taken at NOW by a worker that then died (nobody renews it)
    given = await given_connected_staff()
    assert LEASE_TTL.total_seconds() <= 30
    assert await take_calendar_lease(given.calendar.id, "dead worker", NOW, LEASE_TTL)
    # when another worker asks just before and just after the lease's time
    before = await take_calendar_lease(given.calendar.id, "live worker", NOW + LEASE_TTL - timedelta(seconds=1),
                                       LEASE_TTL)
    after = await take_calendar_lease(given.calendar.id, "live worker", NOW + LEASE_TTL + timedelta(seconds=1),
                                      LEASE_TTL)
    # then it gets the calendar 30 seconds after the dead worker took it, not after the longest a job may run
    assert (before, after) == (False, True)
    assert (await ExternalCalendar.get(id=given.calendar.id)).sync_lock_owner == "live worker"


async def test_a_living_holder_keeps_its_lease_by_heartbeat_however_long_the_work_takes(db: str) -> None:
    # given a lease of 0.6 s renewed every 0.15 s, held for 1.5 s (far past its first expiry)
    given = await given_connected_staff()
    ttl, heartbeat = timedelta(seconds=0.6), timedelta(seconds=0.15)
    attempts = []
    async with calendar_lease(given.calendar.id, ttl, heartbeat=heartbeat) as held:
        for _ in range(10):
            await asyncio.sleep(0.15)
            attempts.append(await take_calendar_lease(given.calendar.id, "another job", datetime.now(UTC), ttl))
        renewed_until = (await ExternalCalendar.get(id=given.calendar.id)).sync_lock_until
    # then nobody else could take it meanwhile, it was renewed to within a ttl of now, and it is given back after
    assert held and attempts == [False] * 10
    assert renewed_until is not None and renewed_until > datetime.now(UTC)
    calendar = await ExternalCalendar.get(id=given.calendar.id)
    assert (calendar.sync_lock_owner, calendar.sync_lock_until) == ("", None)


HOLD_AND_WAIT = """
import asyncio, sys
from datetime import timedelta
from models.database import connected
from services.sync_leases import calendar_lease

async def main(url, calendar_id):
    async with connected(url):
        async with calendar_lease(calendar_id, timedelta(seconds=2), heartbeat=timedelta(seconds=0.5)) as held:
            print("held" if held else "not held", flush=True)
            await asyncio.sleep(3600)

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


async def test_a_worker_killed_while_holding_a_lease_frees_the_calendar_once_the_lease_lapses(db: str) -> None:
    # given a worker process holding the calendar's lease (2 s, renewed every 0.5 s) for a long pull
    given = await given_connected_staff()
    worker = await asyncio.create_subprocess_exec(sys.executable, "-c", HOLD_AND_WAIT, db, str(given.calendar.id),
                                                  cwd=ROOT, stdout=PIPE)
    try:
        assert worker.stdout is not None
        assert (await asyncio.wait_for(worker.stdout.readline(), timeout=60)) == b"held\n"
        await asyncio.sleep(2.5)  # past its first expiry: the heartbeat kept it
        assert not await take_calendar_lease(given.calendar.id, "live worker", datetime.now(UTC), LEASE_TTL)
    finally:
        # when the worker is killed mid-pull (no clean-up runs)
        worker.kill()
        await worker.wait()
    killed_at = time.monotonic()
    # then another worker takes the calendar once the dead one's lease runs out, within its 2 s (and a little)
    while not await take_calendar_lease(given.calendar.id, "live worker", datetime.now(UTC), LEASE_TTL):
        assert time.monotonic() - killed_at < 3.0
        await asyncio.sleep(0.1)
    assert (await ExternalCalendar.get(id=given.calendar.id)).sync_lock_owner == "live worker"
