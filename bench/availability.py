"""Availability speed: `availableSlots` over real HTTP, the pure engine, and the engine against the brute-force oracle.

Run from the repository root:  .venv/bin/python -m bench.availability  [--requests 200] [--database-url URL]
                                                                       [--clients 200] [--client-requests 20]

Set-up (seeded, so runs are comparable): one business, 50 staff in Europe/Berlin working 09:00-17:00 every day, a
30-minute service on a 15-minute step with a 365-day horizon, and 1,000 busy blocks per staff member (15 to 120
minutes) spread over the next year. Cases: (a) one staff member over 31 days, (b) any of the 50 staff over 14 days,
both asked again and again (warm: answered from the slot cache after the first), and (c) the demo business's 7-day
query (`python -m app seed`'s "Boiler check", any staff) sent by `--clients` concurrent clients at once, each asking
again as soon as it has its answer (bench/slot_clients.py, a process of its own). Prints p50/p95 (p99 for (c)) in
milliseconds. Targets on a 2-core machine: (a) p95 <= 10 ms, (b) p95 <= 50 ms, (c) p99 <= 500 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from tortoise import Tortoise
from tortoise.migrations.api import migrate

from app.seed import seed_demo
from bench.common import percentile
from domain.availability import available_slots
from domain.intervals import Span
from models import Business, BusyBlock, BusyBlockSource, Service, Staff, User, UserRole, WorkingHoursRange
from models.database import tortoise_config
from schema.ids import encode_id
from services.availability import load_availability, slot_rules
from tests.domain.oracle import slot_starts
from tests.support.server import live_server

STAFF = 50
BLOCKS_PER_STAFF = 1000
QUERY = """query($s: ID!, $from: DateTime!, $to: DateTime!, $staff: [ID!]) {
  availableSlots(serviceId: $s, from: $from, to: $to, timeZone: "Europe/Berlin", staffIds: $staff) {
    ... on AvailableSlots { slots { %s } } } }"""
# Every field of a slot, and what a screen that lists the times of one chosen technician selects.
SELECTIONS = {"full": "start end staffIds", "start only": "start"}


async def seed(now: datetime) -> tuple[int, list[int]]:
    rng = random.Random(20261122)
    owner = await User.create(email="bench@example.com", name="Bench", password_hash="-", role=UserRole.OWNER)
    business = await Business.create(name="Bench", time_zone="Europe/Berlin", owner=owner)
    service = await Service.create(business=business, name="Visit", duration_minutes=30, slot_step_minutes=15,
                                   booking_horizon_days=365)
    staff_ids = []
    for n in range(STAFF):
        member = await Staff.create(business=business, name=f"Tech {n}", email=f"t{n}@example.com",
                                    time_zone="Europe/Berlin")
        staff_ids.append(member.id)
        await WorkingHoursRange.bulk_create([WorkingHoursRange(staff=member, weekday=d, start_minute=540,
                                                               end_minute=1020) for d in range(7)])
        blocks = []
        for _ in range(BLOCKS_PER_STAFF):
            start = now + timedelta(minutes=rng.randrange(0, 365 * 24 * 60, 5))
            blocks.append(BusyBlock(staff=member, source=BusyBlockSource.EXTERNAL, title="Busy", starts_at=start,
                                    ends_at=start + timedelta(minutes=rng.randrange(15, 121, 5))))
        await BusyBlock.bulk_create(blocks, batch_size=500)
    await service.staff.add(*await Staff.filter(business=business))
    return service.id, staff_ids


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
    return f"p50 {p50:7.2f} ms   p95 {p95:7.2f} ms   (n={len(ordered)})"


async def timed(run: Callable[[], Awaitable[object]], count: int) -> list[float]:
    for _ in range(5):  # warm-up: imports, caches, connections
        await run()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await run()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


DEMO_QUERY = """query($s: ID!, $from: DateTime!, $to: DateTime!) {
  availableSlots(serviceId: $s, from: $from, to: $to, timeZone: "Europe/Berlin") {
    ... on AvailableSlots { slots { start end staffIds } } } }"""


async def demo_body(now: datetime, scratch: Path) -> Path:
    """The demo's 7-day query from tomorrow, written where the client process reads it."""
    await seed_demo()
    service = await Service.get(name="Boiler check")
    start = (now + timedelta(days=1)).replace(hour=0, minute=0)
    body = {"query": DEMO_QUERY, "variables": {"s": encode_id("Service", service.id), "from": start.isoformat(),
                                               "to": (start + timedelta(days=7)).isoformat()}}
    path = scratch / "demo-body.json"
    path.write_text(json.dumps(body))
    return path


async def concurrent_clients(base: str, body: Path, clients: int, requests: int) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.slot_clients", f"{base}/graphql", str(body), "--clients", str(clients),
        "--requests", str(requests), stdout=asyncio.subprocess.PIPE)
    out, _ = await child.communicate()
    result = json.loads(out)
    latencies = result["latencies_ms"]
    print(f"\n(c) demo's 7-day query, {clients} concurrent clients x {requests} requests each (one process):")
    print(f"  p50 {percentile(latencies, 0.5):7.1f} ms   p95 {percentile(latencies, 0.95):7.1f} ms   "
          f"p99 {percentile(latencies, 0.99):7.1f} ms   max {max(latencies):7.1f} ms   "
          f"{len(latencies) / result['seconds']:.0f} answers/s   failures {len(result['failures'])}")


async def main(requests: int, database_url: str | None, clients: int, client_requests: int) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="lockstep-bench-"))
    url = database_url or f"sqlite://{scratch / 'bench.sqlite3'}"
    await migrate(config=tortoise_config(url))
    await Tortoise.close_connections()
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    print(f"seeding {STAFF} staff x {BLOCKS_PER_STAFF} busy blocks ...", flush=True)
    service_id, staff_ids = await seed(now)
    demo = await demo_body(now, scratch)
    start = (now + timedelta(days=1)).replace(hour=0, minute=0)
    cases = {
        "(a) 1 staff x 31 days": (Span(start, start + timedelta(days=31)), [staff_ids[0]]),
        "(b) any of 50 staff x 14 days": (Span(start, start + timedelta(days=14)), None),
    }
    service = await Service.get(id=service_id)
    rules = slot_rules(service)
    staff_rows = await Staff.filter(id__in=staff_ids).order_by("id")
    print("\npure engine (domain.availability.available_slots, data already loaded):")
    loaded = {}
    for name, (window, only) in cases.items():
        chosen = [s for s in staff_rows if only is None or s.id in only]
        loaded[name] = await load_availability(chosen, window)

        async def engine(window: Span = window, data: list = loaded[name]) -> object:  # type: ignore[type-arg]
            return available_slots(data, rules, window, now)

        print(f"  {name:44s} {percentiles(await timed(engine, requests))}")
    window_a, _ = cases["(a) 1 staff x 31 days"]
    oracle_runs = 3
    started = time.perf_counter()
    for _ in range(oracle_runs):
        slot_starts(loaded["(a) 1 staff x 31 days"][0], rules, window_a, now)
    oracle_ms = (time.perf_counter() - started) * 1000 / oracle_runs
    started = time.perf_counter()
    for _ in range(50):
        available_slots(loaded["(a) 1 staff x 31 days"], rules, window_a, now)
    engine_ms = (time.perf_counter() - started) * 1000 / 50
    print(f"  engine vs brute-force minute-by-minute oracle, case (a): {engine_ms:.2f} ms vs {oracle_ms:.0f} ms "
          f"= {oracle_ms / engine_ms:.0f}x faster")
    await Tortoise.close_connections()

    print("\navailableSlots over HTTP (uvicorn, one process, includes the database reads):")
    with live_server(url, scratch) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            for (name, (window, only)), (label, fields) in itertools.product(cases.items(), SELECTIONS.items()):
                variables = {"s": encode_id("Service", service_id), "from": window.start.isoformat(),
                             "to": window.end.isoformat(),
                             "staff": None if only is None else [encode_id("StaffMember", i) for i in only]}
                body = {"query": QUERY % fields, "variables": variables}

                async def call(body: dict = body) -> object:  # type: ignore[type-arg]
                    response = await http.post("/graphql", json=body)
                    slots = response.json()["data"]["availableSlots"]["slots"]
                    assert slots, "the bench expects slots"
                    return slots

                print(f"  {name + ', ' + label:44s} {percentiles(await timed(call, requests))}")
        if clients:
            await concurrent_clients(base, demo, clients, client_requests)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--clients", type=int, default=200, help="concurrent clients of case (c); 0 skips it")
    parser.add_argument("--client-requests", type=int, default=20, help="requests each client of (c) sends")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.requests, arguments.database_url, arguments.clients, arguments.client_requests))
