"""CalDAV sync speed against a real Radicale: the initial import rate, and the time from an event written on the
server to its slot disappearing from `availableSlots`.

Run from the repository root:  .venv/bin/python -m bench.caldav_sync  [--events 5000] [--samples 40] [--poll 5]
[--import-only]

(1) Import: a calendar of `--events` events (one in ten weekly and recurring ten times, the rest single events over the
next year), uploaded in one request, then imported by the pull job as it runs in a worker (listing, parsing,
recurrence expansion, busy semantics, the import plan and the database writes, SQLite). Three runs from an empty
state; prints events/s and the seconds each run took. Beside it the *floor*: the seconds Radicale takes to serve the
same window listing (the calendar-query REPORT the pull sends) to a bare aiohttp client that reads the answer and
parses nothing, the best of three. Target: the whole import within 1.5 times the floor.
(2) Latency: the whole service as it runs in production, in child processes sharing one SQLite file: the API
(uvicorn), the scheduler and one worker, with LOCKSTEP_HOT_POLL_SECONDS=`--poll`. For each sample an event is PUT on
Radicale over a free slot, and `availableSlots` is asked over HTTP every 50 ms until that slot is gone. Prints p50 and
p95. Target: p95 under the poll interval plus 1 second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from subprocess import DEVNULL

import aiohttp
import httpx
from tortoise import Tortoise
from tortoise.migrations.api import migrate

from bench.common import percentile
from domain.zones import load_zone, to_utc
from jobs import runtime
from jobs.pull import import_window
from jobs.tasks import run_pull
from models import BusyBlock, ExternalCalendar
from models.database import tortoise_config
from providers.caldav_xml import calendar_query
from schema.ids import encode_id
from services.credentials import CredentialVault, new_key
from tests.support.caldav_servers import CaldavServer, make_calendar, running_radicale, write_by_hand
from tests.support.server import ROOT, live_server
from tests.support.sync import ConnectedStaff, given_connected_staff, personal_event

ZONE = "Europe/Berlin"
KEY = new_key()
SLOTS = """query($s: ID!, $from: DateTime!, $to: DateTime!) {
  availableSlots(serviceId: $s, from: $from, to: $to, timeZone: "UTC") {
    ... on AvailableSlots { slots { start } } } }"""
SYNC_TOKEN = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:sync-token/></D:prop></D:propfind>'


def calendar_body(events: int, first: datetime) -> str:
    parts = ["BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Bench//EN\r\n"]
    for n in range(events):
        start = first + timedelta(hours=(n * 7) % (24 * 360))
        rule = "RRULE:FREQ=WEEKLY;COUNT=10\r\n" if n % 10 == 0 else ""
        parts.append(f"BEGIN:VEVENT\r\nUID:bench-{n}@phone.example\r\nDTSTAMP:20260101T000000Z\r\n"
                     f"DTSTART:{start:%Y%m%dT%H%M%SZ}\r\nDTEND:{start + timedelta(minutes=45):%Y%m%dT%H%M%SZ}\r\n"
                     f"{rule}SUMMARY:Errand {n}\r\nEND:VEVENT\r\n")
    parts.append("END:VCALENDAR\r\n")
    return "".join(parts)


async def upload(server: CaldavServer, calendar_url: str, body: str) -> None:
    """One PUT of a whole calendar (Radicale accepts it), then one sync-token read: Radicale builds its change
    history on that first read after a bulk upload, a cost of the upload rather than of the import."""
    async with aiohttp.ClientSession(headers=server.auth_headers()) as http:
        async with http.put(calendar_url, data=body.encode(), headers={"Content-Type": "text/calendar"}) as answer:
            answer.raise_for_status()
        async with http.request("PROPFIND", calendar_url, data=SYNC_TOKEN,
                                headers={"Depth": "0", "Content-Type": "application/xml"}) as answer:
            answer.raise_for_status()


def sealed(server: CaldavServer) -> str:
    return CredentialVault([KEY]).seal({"server_url": server.url, "username": server.username,
                                        "password": server.password, "home_url": server.home_url,
                                        "principal_url": server.principal_url, "own_addresses": []})


async def connected_staff(database_url: str, server: CaldavServer, calendar_url: str) -> ConnectedStaff:
    await migrate(config=tortoise_config(database_url))
    await Tortoise.close_connections()
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)
    return await given_connected_staff(calendar_url, zone=ZONE, credentials=sealed(server))


async def listing_floor(server: CaldavServer, calendar_url: str) -> float:
    """The seconds Radicale takes to serve the import window's listing to a bare client: best of three."""
    window = import_window(datetime.now(UTC))
    body = calendar_query(window.start, window.end)
    headers = {"Depth": "1", "Content-Type": "application/xml; charset=utf-8"}
    times = []
    async with aiohttp.ClientSession(headers=server.auth_headers()) as http:
        for _ in range(3):
            started = time.perf_counter()
            async with http.request("REPORT", calendar_url, data=body, headers=headers) as answer:
                assert answer.status == 207, answer.status
                await answer.read()
            times.append(time.perf_counter() - started)
    return min(times)


async def import_rate(server: CaldavServer, scratch: Path, events: int) -> list[float]:
    calendar_url = f"{server.home_url}bench-import/"
    await upload(server, calendar_url, calendar_body(events, datetime.now(UTC) + timedelta(days=1)))
    database_url = f"sqlite://{scratch / 'import.sqlite3'}"
    given = await connected_staff(database_url, server, calendar_url)
    runtime.configure(runtime.JobConfig(database_url=database_url, redis_url="redis://unused", secret_keys=(KEY,)))
    rates = []
    for _ in range(3):
        await BusyBlock.all().delete()
        await ExternalCalendar.filter(id=given.calendar.id).update(sync_cursor="", window_start=None)
        started = time.perf_counter()
        assert await run_pull(given.calendar.id) == "done"
        rates.append(events / (time.perf_counter() - started))
    blocks = await BusyBlock.all().count()
    print(f"initial import of {events} events ({blocks} busy blocks after expanding recurrences)")
    await Tortoise.close_connections()
    floor = await listing_floor(server, calendar_url)
    seconds = [events / rate for rate in rates]
    print(f"floor: Radicale serves the window listing to a bare client in {floor:.3f} s; the import took "
          + ", ".join(f"{run:.3f} s ({run / floor:.2f}x)" for run in seconds))
    return rates


def _free_starts(count: int) -> list[datetime]:
    """Distinct slot starts inside 08:00-20:00 Berlin working hours, from the day after tomorrow on."""
    zone = load_zone(ZONE)
    first = datetime.now(UTC).astimezone(zone).date() + timedelta(days=2)
    return [to_utc(datetime.combine(first + timedelta(days=n // 10), datetime.min.time()).replace(hour=8 + n % 10),
                   zone) for n in range(count)]


async def latency(server: CaldavServer, scratch: Path, samples: int, poll: int) -> list[float]:
    calendar_url = await make_calendar(server, "Bench latency")
    database_url = f"sqlite://{scratch / 'latency.sqlite3'}"
    given = await connected_staff(database_url, server, calendar_url)
    await Tortoise.close_connections()
    env = {"LOCKSTEP_SECRET_KEYS": KEY, "LOCKSTEP_HOT_POLL_SECONDS": str(poll),
           "LOCKSTEP_REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")}
    child_env = {**os.environ, "LOCKSTEP_DATABASE_URL": database_url, "LOCKSTEP_DATA_DIR": str(scratch), **env}
    children = [await asyncio.create_subprocess_exec(sys.executable, "-m", "app", verb, cwd=ROOT, env=child_env,
                                                     stdout=DEVNULL, stderr=DEVNULL)
                for verb in ("scheduler", "worker")]
    service_id = encode_id("Service", given.service.id)
    rng = random.Random(20261122)
    results = []
    try:
        with live_server(database_url, scratch, 1, **env) as base:
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                await asyncio.sleep(poll + 2)  # the first (complete) import happens before sampling starts
                for n, start in enumerate(_free_starts(samples)):
                    variables = {"s": service_id, "from": start.isoformat(),
                                 "to": (start + timedelta(hours=1)).isoformat()}
                    # A random pause first, so the write lands at a random point of the poll cycle.
                    await asyncio.sleep(rng.uniform(0, poll))
                    await write_by_hand(server, calendar_url, f"sample-{n}", personal_event(f"sample-{n}", start))
                    written = time.perf_counter()
                    while True:
                        answer = (await http.post("/graphql", json={"query": SLOTS, "variables": variables})).json()
                        starts = [datetime.fromisoformat(s["start"]) for s in answer["data"]["availableSlots"]["slots"]]
                        if start not in starts:
                            results.append(time.perf_counter() - written)
                            break
                        await asyncio.sleep(0.05)
    finally:
        for child in children:
            child.terminate()
            await asyncio.wait_for(child.wait(), timeout=10)
    return results


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--poll", type=int, default=5)
    parser.add_argument("--import-only", action="store_true", help="measure the import rate and its floor only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        (scratch / "radicale").mkdir()
        with running_radicale(scratch / "radicale") as server:
            await run(server, scratch, args)


async def run(server: CaldavServer, scratch: Path, args: argparse.Namespace) -> None:
    rates = await import_rate(server, scratch, args.events)
    print("import rate, events/s, three runs: " + ", ".join(f"{rate:,.0f}" for rate in rates))
    if args.import_only:
        return
    delays = await latency(server, scratch, args.samples, args.poll)
    print(f"event on Radicale -> slot gone from availableSlots, {len(delays)} samples, poll {args.poll} s: "
          f"p50 {statistics.median(delays):.2f} s, p95 {percentile(delays, 0.95):.2f} s, max {max(delays):.2f} s")


if __name__ == "__main__":
    asyncio.run(main())
