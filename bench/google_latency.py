"""Google push latency: how long an event added in Google Calendar takes to block its slot in Lockstep, through the
whole service and the fake Google's push channel.

Run from the repository root:  .venv/bin/python -m bench.google_latency  [--samples 200] [--poll-ms 5]
                                                     [--pause-ms 100] [--warmup 5] [--floor-rounds 200] [--slowest 5]
                                                     [--stamps-out FILE] [--sqlite-synchronous NORMAL]

Set-up: a fresh, migrated SQLite file; the fake Google (tests/fakes/google.py) served from a thread of this process;
one uvicorn API whose public URL is its own loopback address, `python -m app scheduler` and one `python -m app worker`
(child processes), with Redis (BENCH_REDIS_URL, else 127.0.0.1:6379 database 15, else a redis-server of the run's
own). A staff member (08:00-20:00 every day, Europe/Berlin, a 60-minute service) has the fake's account connected
with tokens sealed straight into the database; the real scheduler and worker open the push channel to
`/webhooks/google` and do the first import before sampling starts.

Each sample waits a random 0..`--pause-ms` (so changes land at random points of the scheduler's cycle), then
inserts an event at the fake over a free slot (the fake then POSTs the channel's notification to the webhook) and
takes perf_counter() right after the insert. Measured from there:
(a) the slot gone from `availableSlots`, asked over HTTP every `--poll-ms` until it is;
(b) `availabilityChanged` for that slot's span at a subscriber: one WebSocket (graphql-transport-ws spoken by hand
    over `websockets`) on a thread of its own, which stamps each message with perf_counter() as it comes off the
    socket, so the HTTP polling does not delay the stamp.
Prints p50/p95/p99 and max of both, and of (c) the busy block committed in the database (stamped by the worker
right after its commit), and where the time went: every process stamps the stages of the path
(services.stage_stamps) and the bench lines them up per sample (bench/latency_stages.py), printing each stage's
p50/p95/p99 and the stages of the `--slowest` samples.

Then the floor, measured bare in the same run against the same fake and database, `--floor-rounds` times each: a
webhook POST to the API (an unknown channel: answered, and checked, but nothing to pull), one incremental
`events.list` at the fake (the pull's last one, replayed on a kept-alive connection) and one database write (one
row inserted and committed in the SQLite file, as a plain client of its own). The floor is the sum of their medians.
Targets: p99 of (a) and (c) at most 100 ms and at most 5 times the floor.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import shutil
import sqlite3
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import httpx
from tortoise import Tortoise
from tortoise.migrations.api import migrate
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from bench.common import bench_redis, percentile
from bench.latency_stages import breakdown, line_up, read_stamps
from domain.zones import load_zone, to_utc
from models import CalendarConnection, Provider
from models.database import tortoise_config
from schema.ids import encode_id
from services.credentials import CredentialVault, new_key
from services.stage_stamps import ENVIRONMENT_VARIABLE as STAMPS_VARIABLE
from tests.fakes.google import FakeGoogle
from tests.support.google_service import google_env, sync_processes
from tests.support.live import new_channel, wait_for_health, ws_url
from tests.support.server import free_port, live_server_on
from tests.support.sync import given_connected_staff

ZONE = "Europe/Berlin"
USER = "tech@example.com"
KEY = new_key()
SCOPES = frozenset({"https://www.googleapis.com/auth/calendar.events",
                    "https://www.googleapis.com/auth/calendar.calendarlist.readonly"})
SLOTS = """query($s: ID!, $from: DateTime!, $to: DateTime!) {
  availableSlots(serviceId: $s, from: $from, to: $to, timeZone: "UTC") {
    ... on AvailableSlots { slots { start } } } }"""
AVAILABILITY = """subscription($staffId: ID) { availabilityChanged(staffId: $staffId) { __typename
  ... on AvailabilityChanged { spans { start end } } ... on MissedEvents { reason } } }"""


class Subscriber:
    """One graphql-transport-ws client on its own thread and loop; `heard[start]` is when the first
    availabilityChanged whose spans begin at `start` came off the socket (perf_counter)."""

    def __init__(self, url: str, staff_id: str) -> None:
        self.url, self.staff_id = url, staff_id
        self.heard: dict[datetime, float] = {}
        self.missed = 0
        self.ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._listen(),), daemon=True)

    async def _listen(self) -> None:
        self._stop = asyncio.Event()
        async with connect(self.url, subprotocols=[Subprotocol("graphql-transport-ws")], ping_interval=None) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            if json.loads(await ws.recv()).get("type") != "connection_ack":
                raise RuntimeError("connection refused")
            await ws.send(json.dumps({"id": "a", "type": "subscribe", "payload": {
                "query": AVAILABILITY, "variables": {"staffId": self.staff_id}}}))
            self.ready.set()
            reading = asyncio.ensure_future(self._read(ws))
            await self._stop.wait()
            reading.cancel()

    async def _read(self, ws: object) -> None:
        async for raw in ws:  # type: ignore[attr-defined]
            stamp = time.perf_counter()
            message = json.loads(raw)
            if message.get("type") == "ping":
                await ws.send('{"type":"pong"}')  # type: ignore[attr-defined]
                continue
            payload = message.get("payload", {}).get("data", {}).get("availabilityChanged", {})
            if payload.get("__typename") == "MissedEvents":
                self.missed += 1
            for span in payload.get("spans", []):
                self.heard.setdefault(datetime.fromisoformat(span["start"]), stamp)

    def start(self) -> None:
        self._thread.start()
        if not self.ready.wait(timeout=10):
            raise RuntimeError("the subscriber did not subscribe")

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)


def free_starts(count: int) -> list[datetime]:
    """Distinct hour starts inside 08:00-20:00 Berlin from the day after tomorrow on, one event per slot."""
    zone = load_zone(ZONE)
    first = datetime.now(UTC).astimezone(zone).date() + timedelta(days=2)
    return [to_utc(datetime.combine(first + timedelta(days=n // 12), datetime.min.time()).replace(hour=8 + n % 12),
                   zone) for n in range(count)]


def summary(name: str, delays: list[float]) -> str:
    ms = [delay * 1000 for delay in delays]
    return (f"{name}: {len(ms)} samples, p50 {statistics.median(ms):.1f} ms, p95 {percentile(ms, 0.95):.1f} ms, "
            f"p99 {percentile(ms, 0.99):.1f} ms, max {max(ms):.1f} ms")


async def connected_staff(database_url: str, google: FakeGoogle) -> tuple[str, str]:
    """The staff member and service (global IDs), with the fake's account connected as OAuth would leave it."""
    await migrate(config=tortoise_config(database_url))
    await Tortoise.close_connections()
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)
    access, refresh = google.oauth.issue_tokens(SCOPES)
    sealed = CredentialVault([KEY]).seal({"access_token": access, "refresh_token": refresh,
                                          "scope": " ".join(sorted(SCOPES))})
    given = await given_connected_staff(USER, zone=ZONE, credentials=sealed, provider=Provider.GOOGLE)
    await CalendarConnection.filter(id=given.connection.id).update(
        token_expires_at=datetime.now(UTC) + timedelta(hours=6), account_label=USER)
    await Tortoise.close_connections()
    return encode_id("StaffMember", given.staff.id), encode_id("Service", given.service.id)


async def wait_until(check: object, what: str, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what}")
        await asyncio.sleep(0.05)


async def sample(http: httpx.AsyncClient, google: FakeGoogle, service_id: str, start: datetime,
                 poll: float) -> tuple[float, float]:
    """Insert an event over the free slot at `start`; the time until the slot is gone, and the insert's moment."""
    variables = {"s": service_id, "from": start.isoformat(), "to": (start + timedelta(hours=1)).isoformat()}
    google.insert_by_hand(USER, {"summary": "Errand", "start": {"dateTime": start.isoformat()},
                                 "end": {"dateTime": (start + timedelta(hours=1)).isoformat()}})
    inserted = time.perf_counter()
    while True:
        answer = (await http.post("/graphql", json={"query": SLOTS, "variables": variables})).json()
        if not any(datetime.fromisoformat(slot["start"]) == start for slot in answer["data"]["availableSlots"]
                   ["slots"]):
            return time.perf_counter() - inserted, inserted
        await asyncio.sleep(poll)


def fake_stamps(google: FakeGoogle, stamps: dict[str, list[float]]) -> dict[str, list[float]]:
    """The stage stamps, with the fake's own: when it sent each change notification and answered each incremental
    listing."""
    stamps["notified"] = sorted(d.sent_at for d in google.channels.deliveries if d.state == "exists")
    stamps["listed"] = sorted(r.answered_at for r in google.log if r.path.endswith("/events") and r.method == "GET"
                              and any(name == "syncToken" for name, _ in r.query))
    return stamps


async def floor(base: str, google: FakeGoogle, database: Path, rounds: int, synchronous: str | None
                ) -> dict[str, list[float]]:
    """The three operations of the path that cannot be avoided, each bare, `rounds` times (seconds)."""
    listing = next(r for r in reversed(google.log) if r.path.endswith("/events") and r.method == "GET"
                   and any(name == "syncToken" for name, _ in r.query))
    headers = {"X-Goog-Channel-ID": "floor-unknown-channel", "X-Goog-Channel-Token": "floor",
               "X-Goog-Resource-State": "exists", "X-Goog-Resource-ID": "floor", "X-Goog-Message-Number": "2"}
    timings: dict[str, list[float]] = {"webhook POST": [], "incremental events.list": [], "database write": []}
    rng = random.Random(7)
    db = sqlite3.connect(database, isolation_level=None)
    db.execute("PRAGMA busy_timeout=10000")
    db.execute(f"PRAGMA synchronous={synchronous or 'FULL'}")  # as the service's own connections commit
    db.execute("CREATE TABLE bench_floor (n INTEGER)")
    async with aiohttp.ClientSession() as session:
        for _ in range(rounds):
            await asyncio.sleep(rng.uniform(0, 0.02))
            began = time.perf_counter()
            async with session.post(f"{base}/webhooks/google", headers=headers, data=b"") as answer:
                await answer.read()
            timings["webhook POST"].append(time.perf_counter() - began)
            began = time.perf_counter()
            async with session.get(f"{google.url}{listing.path}", params=list(listing.query),
                                   headers={"Authorization": listing.headers["Authorization"]}) as answer:
                await answer.read()
            timings["incremental events.list"].append(time.perf_counter() - began)
            began = time.perf_counter()
            db.execute("INSERT INTO bench_floor (n) VALUES (1)")
            timings["database write"].append(time.perf_counter() - began)
    db.close()
    return timings


async def run(args: argparse.Namespace, scratch: Path, redis_url: str) -> None:
    database_url = f"sqlite://{scratch / 'google.sqlite3'}"
    if args.sqlite_synchronous:  # a pragma given in the URL is set on every connection of every process
        database_url += f"?synchronous={args.sqlite_synchronous}"
    stamps_file = scratch / "stamps.log"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    google = FakeGoogle(user_email=USER, redirect_uris=(f"{base}/oauth/google/callback",))
    with google.running_in_thread():
        staff_id, service_id = await connected_staff(database_url, google)
        env = {**google_env(google, base, redis_url, new_channel(), KEY), STAMPS_VARIABLE: str(stamps_file)}
        with live_server_on(port, database_url, scratch, 1, env), sync_processes(database_url, scratch, env):
            await wait_until(lambda: google.channels.watching(USER), "the push channel")
            subscriber = Subscriber(ws_url(base), staff_id)
            subscriber.start()
            await wait_for_health(base, subscribers=1)
            # This process serves the fake and the subscriber too: its start-up heap out of the collector's way, so
            # that a full collection here does not pass for the service's latency.
            gc.collect()
            gc.freeze()
            rng = random.Random(20261201)
            slot_gone: list[float] = []
            inserted_at: dict[datetime, float] = {}
            changes: list[tuple[float, float]] = []
            starts = free_starts(args.warmup + args.samples)
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                for n, start in enumerate(starts):
                    await asyncio.sleep(rng.uniform(0, args.pause_ms / 1000))
                    delay, inserted = await sample(http, google, service_id, start, args.poll_ms / 1000)
                    if n >= args.warmup:
                        slot_gone.append(delay)
                        inserted_at[start] = inserted
                        changes.append((inserted, inserted + delay))
            await wait_until(lambda: set(inserted_at) <= set(subscriber.heard), "every availabilityChanged", 10)
            subscriber.stop()
            await asyncio.sleep(1)  # the last pull's trailing writes, before the floor is measured
            bare = await floor(base, google, scratch / "google.sqlite3", args.floor_rounds,
                               args.sqlite_synchronous)
    heard = [subscriber.heard[start] - inserted for start, inserted in inserted_at.items()]
    print(f"event inserted at the fake Google -> ... (one API, scheduler, one worker; SQLite "
          f"synchronous={args.sqlite_synchronous or 'FULL'}; "
          f"LOCKSTEP_SCHEDULER_INTERVAL_MS {os.environ.get('LOCKSTEP_SCHEDULER_INTERVAL_MS', '250')})")
    print(summary("(a) slot gone from availableSlots", slot_gone))
    print(summary("(b) availabilityChanged at a subscriber", heard))
    if subscriber.missed:
        print(f"the subscriber was told of missed events {subscriber.missed} times")
    stamps, spans = read_stamps(stamps_file)
    samples = line_up(changes, fake_stamps(google, stamps), spans)
    committed = [sample.stages["blocks.committed"] - sample.changed for sample in samples
                 if "blocks.committed" in sample.stages]
    if committed:
        print(summary("(c) busy block committed in the database (the worker's stamp)", committed))
    for name, delays in bare.items():
        print(summary(f"floor: {name}", delays))
    total = sum(statistics.median(delays) for delays in bare.values()) * 1000
    print(f"floor (sum of the medians): {total:.1f} ms; targets: p99 <= 100 ms and <= 5 times the floor "
          f"({5 * total:.1f} ms)")
    for name, delays in (("(a)", slot_gone), ("(c)", committed)):
        if delays:
            p99 = percentile(delays, 0.99) * 1000
            print(f"{name} p99 {p99:.1f} ms is {p99 / total:.1f} times the floor")
    print(breakdown(samples, args.slowest))
    if args.stamps_out:
        shutil.copyfile(stamps_file, args.stamps_out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=200, help="changes measured (default 200)")
    parser.add_argument("--warmup", type=int, default=5, help="changes made first and not measured (default 5)")
    parser.add_argument("--poll-ms", type=float, default=5, help="availableSlots is asked this often (default 5)")
    parser.add_argument("--pause-ms", type=float, default=100,
                        help="longest random pause before each change (default 100)")
    parser.add_argument("--floor-rounds", type=int, default=200, help="times each floor operation is measured")
    parser.add_argument("--slowest", type=int, default=5, help="slowest samples whose stages are printed")
    parser.add_argument("--sqlite-synchronous", choices=("NORMAL", "FULL"),
                        help="SQLite's synchronous pragma for every process (default: SQLite's own, FULL)")
    parser.add_argument("--stamps-out", type=Path, help="keep the processes' raw stage stamps in this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        with bench_redis(scratch, 15) as redis_url:
            asyncio.run(run(args, scratch, redis_url))


if __name__ == "__main__":
    main()
