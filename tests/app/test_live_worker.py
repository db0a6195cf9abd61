"""The whole path of a live update from a calendar: a personal event written on a real CalDAV server, pulled by a
real worker process, reaches subscribed clients of two API processes as availabilityChanged."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from subprocess import PIPE, STDOUT

from redis import Redis

from jobs.scheduler import Scheduler
from schema.ids import encode_id
from services.credentials import CredentialVault, new_key
from tests.support.caldav_servers import CaldavServer, make_calendar, write_by_hand
from tests.support.live import AVAILABILITY_CHANGED, live_api, new_channel, socket, wait_for_health
from tests.support.server import ROOT
from tests.support.sync import given_connected_staff, personal_event

KEY = new_key()


async def test_busy_time_a_worker_imports_reaches_clients_of_every_api_process(
        db: str, redis_url: str, radicale_server: CaldavServer, tmp_path: Path) -> None:
    # given a staff member whose Radicale calendar is connected, and a dentist appointment written there by hand
    calendar_url = await make_calendar(radicale_server, "Work")
    sealed = CredentialVault([KEY]).seal({
        "server_url": radicale_server.url, "username": radicale_server.username,
        "password": radicale_server.password, "home_url": radicale_server.home_url,
        "principal_url": radicale_server.principal_url, "own_addresses": []})
    given = await given_connected_staff(calendar_url, credentials=sealed)
    start = (datetime.now(UTC) + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    await write_by_hand(radicale_server, calendar_url, "dentist.ics", personal_event("dentist", start))
    channel = new_channel()
    staff_id = encode_id("StaffMember", given.staff.id)
    # and a visitor following the staff member's availability on each of two API processes
    with (live_api(db, tmp_path, redis_url, channel) as first, live_api(db, tmp_path, redis_url, channel) as second):
        async with socket(first) as one, socket(second) as other:
            feeds = [one.subscribe(AVAILABILITY_CHANGED, {"staffId": staff_id}),
                     other.subscribe(AVAILABILITY_CHANGED, {"staffId": staff_id})]
            await wait_for_health(first, subscribers=1)
            await wait_for_health(second, subscribers=1)
            # when the scheduler hands out the pull and a real worker process runs it
            assert (await Scheduler(Redis.from_url(redis_url), "live-test").tick()).pulls == 1
            env = {**os.environ, "LOCKSTEP_DATABASE_URL": db, "LOCKSTEP_REDIS_URL": redis_url,
                   "LOCKSTEP_LIVE_CHANNEL": channel, "LOCKSTEP_SECRET_KEYS": KEY, "LOCKSTEP_DATA_DIR": str(tmp_path)}
            worker = await asyncio.create_subprocess_exec(sys.executable, "-m", "app", "worker", "--burst",
                                                          cwd=ROOT, env=env, stdout=PIPE, stderr=STDOUT)
            output = (await asyncio.wait_for(worker.communicate(), timeout=120))[0].decode()
            assert worker.returncode == 0, output
            # then both clients hear exactly where the staff member's time was taken
            expected = {"availabilityChanged": {"__typename": "AvailabilityChanged", "staffId": staff_id, "spans": [
                {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}]}}
            assert [await feed.next(within=15) for feed in feeds] == [expected, expected]
