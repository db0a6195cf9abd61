"""Sync trouble never blocks booking (invariant 3): with the CalDAV server down, and separately with Redis down,
bookings still succeed, and once the trouble is over every change arrives, through the real scheduler, queue and
worker process."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from subprocess import PIPE, STDOUT
from urllib.parse import urlsplit

import icalendar
from redis import Redis

from domain.conflicts import ConflictPolicy
from jobs import runtime
from jobs.pull import import_window
from jobs.scheduler import Scheduler
from jobs.tasks import run_push
from models import BookingStatus, CalendarConnection, ConnectionHealth, EventMapping, EventMappingState
from providers.caldav import CaldavCredentials, CaldavProvider
from services.credentials import CredentialVault, new_key
from services.sync_dispatch import claim_due_pushes, dispatch_outbox
from tests.support.caldav_servers import CaldavServer, make_calendar
from tests.support.forwarder import Forwarder
from tests.support.server import ROOT
from tests.support.sync import ConnectedStaff, book, given_connected_staff

KEY = new_key()
NOWHERE = "redis://127.0.0.1:1/0"


def tomorrow_at(hour: int) -> datetime:
    return (datetime.now(UTC) + timedelta(days=2)).replace(hour=hour, minute=0, second=0, microsecond=0)


async def connect(database_url: str, server_url: str, home_url: str, server: CaldavServer) -> ConnectedStaff:
    calendar_url = home_url + (await make_calendar(server, "Work")).removeprefix(server.home_url)
    runtime.configure(runtime.JobConfig(database_url=database_url, redis_url="redis://unused", secret_keys=(KEY,)))
    sealed = CredentialVault([KEY]).seal({"server_url": server_url, "username": server.username,
                                          "password": server.password, "home_url": home_url,
                                          "principal_url": home_url, "own_addresses": []})
    return await given_connected_staff(calendar_url, credentials=sealed, policy=ConflictPolicy.ASK)


async def uids_on(server: CaldavServer, calendar_url: str) -> list[str]:
    credentials = CaldavCredentials(server.url, server.username, server.password)
    async with CaldavProvider(credentials, server.home_url) as client:
        listing = await client.fetch_changes(calendar_url, None, import_window(datetime.now(UTC)))
    return sorted(str(next(iter(icalendar.Calendar.from_ical(remote.payload).walk("VEVENT")))["UID"])
                  for remote in listing.changed)


async def test_bookings_succeed_while_the_calendar_server_is_down_and_arrive_when_it_is_back(
        db: str, radicale_server: CaldavServer) -> None:
    # given a connection whose server is reached through a forwarder that is switched off
    target = urlsplit(radicale_server.url)
    forwarder = Forwarder(target.hostname or "127.0.0.1", target.port or 80)
    through = f"http://127.0.0.1:{forwarder.port}/"
    given = await connect(db, through, through + radicale_server.home_url.removeprefix(radicale_server.url),
                          radicale_server)
    real_calendar = radicale_server.url + given.calendar.provider_calendar_id.removeprefix(through)
    now = datetime.now(UTC)
    # when two bookings are made and pushed while the server cannot be reached
    first = await book(given, tomorrow_at(9), now)
    second = await book(given, tomorrow_at(12), now, name="Dora")
    outcomes = [await run_push(mapping_id) for mapping_id in await dispatch_outbox(datetime.now(UTC))]
    # then both bookings stand, the pushes wait for a retry, and the health says so
    assert [b[0].status for b in (first, second)] == [BookingStatus.CONFIRMED, BookingStatus.CONFIRMED]
    assert outcomes == ["retry", "retry"]
    assert await EventMapping.filter(state=EventMappingState.PENDING).count() == 2
    connection = await CalendarConnection.get(id=given.connection.id)
    assert connection.health == ConnectionHealth.DEGRADED
    assert connection.last_error.endswith("could not connect")
    # when the server is back and the retries fall due
    await forwarder.start()
    try:
        later = datetime.now(UTC) + timedelta(minutes=20)
        retried = [await run_push(mapping_id) for mapping_id in await claim_due_pushes(later)]
    finally:
        await forwarder.stop()
    # then every change has arrived, once
    assert retried == ["done", "done"]
    assert await uids_on(radicale_server, real_calendar) == [f"booking-{first[0].id}@lockstep",
                                                              f"booking-{second[0].id}@lockstep"]
    assert (await CalendarConnection.get(id=given.connection.id)).health == ConnectionHealth.ACTIVE


async def test_bookings_succeed_while_redis_is_down_and_a_worker_delivers_them_when_it_is_back(
        db: str, redis_url: str, radicale_server: CaldavServer, tmp_path: Path) -> None:
    given = await connect(db, radicale_server.url, radicale_server.home_url, radicale_server)
    now = datetime.now(UTC)
    # when a booking is made while Redis cannot be reached
    (booking,) = await book(given, tomorrow_at(10), now)
    assert (await Scheduler(Redis.from_url(NOWHERE, socket_connect_timeout=0.2), "a").tick()).queue_down
    # and Redis is back: the scheduler enqueues, and a real worker process drains the queue
    assert (await Scheduler(Redis.from_url(redis_url), "a").tick()).pushes == 1
    env = {**os.environ, "LOCKSTEP_DATABASE_URL": db, "LOCKSTEP_REDIS_URL": redis_url,
           "LOCKSTEP_SECRET_KEYS": KEY, "LOCKSTEP_DATA_DIR": str(tmp_path)}
    worker = await asyncio.create_subprocess_exec(sys.executable, "-m", "app", "worker", "--burst", cwd=ROOT, env=env,
                                                  stdout=PIPE, stderr=STDOUT)
    output = (await asyncio.wait_for(worker.communicate(), timeout=120))[0].decode()
    # then the event is in the calendar and the mapping is synced
    assert worker.returncode == 0, output
    mapping = await EventMapping.get(booking_id=booking.id)
    assert mapping.state == EventMappingState.SYNCED
    assert await uids_on(radicale_server, given.calendar.provider_calendar_id) == [f"booking-{booking.id}@lockstep"]
    assert KEY not in output
