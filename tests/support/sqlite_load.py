"""One process of the SQLite load test, run as `python -m tests.support.sqlite_load ROLE DATABASE_URL REDIS_URL ROUNDS`.

Roles: `setup` migrates the file and creates a staff member with a connected calendar; `book` makes bookings,
`tick` runs scheduler ticks (which claim their pushes), `pull` edits the calendar by hand and pulls it. Every
failure is logged with its traceback to stderr and counted; the exit status is 1 when any round failed.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import UTC, datetime, timedelta

from redis import Redis
from tortoise import Tortoise
from tortoise.migrations.api import migrate

from jobs.pull import pull_calendar
from jobs.scheduler import Scheduler
from models import CalendarConnection, ExternalCalendar, Service, Staff, User
from models.database import connected, tortoise_config
from providers.base import RemoteCalendar
from services.auth import Viewer
from tests.fakes.memory import MemoryProvider
from tests.support.sync import ConnectedStaff, book, given_connected_staff, personal_event

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)
FIRST_BOOKING = datetime(2030, 1, 8, 9, tzinfo=UTC)
log = logging.getLogger("sqlite_load")


async def _given() -> ConnectedStaff:
    owner = await User.get(email="owner@example.com")
    staff = await Staff.get(email="sam@example.com")
    connection = await CalendarConnection.get(staff_id=staff.id)
    return ConnectedStaff(Viewer(owner.id, owner.role), staff, await Service.get(name="Boiler check"), connection,
                          await ExternalCalendar.get(connection_id=connection.id))


async def _round(role: str, given: ConnectedStaff, redis_url: str, provider: MemoryProvider, number: int) -> None:
    if role == "book":
        await book(given, FIRST_BOOKING + timedelta(days=number), NOW)
    elif role == "tick":
        await Scheduler(Redis.from_url(redis_url), "load-test").tick(NOW + timedelta(seconds=number))
    elif role == "pull":
        start = FIRST_BOOKING + timedelta(days=number, hours=5)
        provider.write_by_hand("work", f"errand-{number}.ics", personal_event(f"errand-{number}", start))
        await pull_calendar(given.calendar.id, provider, NOW + timedelta(seconds=number))


async def run(role: str, database_url: str, redis_url: str, rounds: int) -> int:
    if role == "setup":
        await migrate(config=tortoise_config(database_url))
        await Tortoise.close_connections()
        async with connected(database_url):
            await given_connected_staff()
        return 0
    failures = 0
    provider = MemoryProvider([RemoteCalendar("work", "Work", "", "Europe/Berlin", writable=True, primary=True)])
    async with connected(database_url):
        given = await _given()
        for number in range(rounds):
            try:
                await _round(role, given, redis_url, provider, number)
            except Exception:
                failures += 1
                log.exception("%s round %d failed", role, number)
    return 1 if failures else 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    sys.exit(asyncio.run(run(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))))
