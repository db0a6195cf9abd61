"""Live-update latency: how long a change takes to reach subscribed clients, with many clients subscribed.

Run from the repository root:  .venv/bin/python -m bench.live_latency  [--subscribers 200] [--events 200]
                                                                       [--interval-ms 50] [--database-url URL]

Set-up: a fresh SQLite file (migrated), one uvicorn API process with Redis (BENCH_REDIS_URL, else 127.0.0.1:6379
database 14, else a redis-server of the run's own), a business built through the API (owner, one staff member
working 09:00-17:00 every day, a 15-minute service). A subscriber process opens `--subscribers` WebSockets
(graphql-transport-ws, spoken by hand over the `websockets` package so the client side stays cheap), each signed in
as the owner and subscribed to `availabilityChanged(staffId)` and `bookingChanged(businessId)` of that staff member
and business. Every client stamps each message with time.time() as it comes off its socket; all processes run on
one machine, so they share the clock.

(a) A worker-like process (its own ORM connection to the same database, `services.live.configure(redis, channel)`)
alternately inserts and deletes a busy block in a transaction, takes time.time() right after the commit, then calls
`publish_availability_changed` for the block's span, as jobs/pull.py does after applying blocks. Measured: commit ->
`availabilityChanged` at each client.
(b) The bench process sends `createBooking` (owner, walk-in) over HTTP. Measured: the mutation's HTTP response
arriving -> `bookingChanged` at each client. (The booking also publishes availabilityChanged, which every client
receives too; that load is part of the figure, but those messages are not measured.)

Events are paced, never flooded: (a) one every `--interval-ms`; (b) one request at a time, each sent no sooner than
`--interval-ms` after the previous one. `--warmup` events of each kind run first and are not counted. At 50 ms and
200 clients (a) asks one API process for 4,000 deliveries a second; at 30 ms it asks for more than one process
delivers on this machine, and the figures then measure the queue (docs/performance.md).

Prints p50/p95/p99 over every delivery (events x subscribers), how many deliveries were measured, and per event the
delay of the last client to hear it. Targets on a 2-core machine: p99 under 100 ms for both; the createBooking
round trip p95 at most 30 ms, whatever the number of subscribers (the booker never waits for the fan-out).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
from tortoise import Tortoise
from tortoise.migrations.api import migrate
from tortoise.transactions import in_transaction

from bench.common import bench_redis, percentile
from bench.live_clients import Readings, run_subscribers
from domain.intervals import Span
from domain.zones import load_zone, to_utc
from models import BusyBlock, BusyBlockSource
from models.database import tortoise_config
from schema.ids import decode_id
from services import live
from tests.support.graphql import CREATE_BOOKING, GraphQLClient, given_shop
from tests.support.live import live_api, wait_for_health, ws_url

ZONE = "Europe/Berlin"
SLOTS_PER_DAY = 32  # 09:00-17:00 in 15-minute bookings
# -- the worker-like publishing process (a) ----------------------------------------------------------------------

async def _change_blocks(database_url: str, redis_url: str, channel: str, staff_pk: int, spans: list[Span],
                         interval: float) -> list[float]:
    """Per span, in order: insert a block there (even samples) or delete it again (odd samples), commit, stamp,
    publish. Returns the commit times."""
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)
    publisher = live.configure(redis_url, channel)
    committed = []
    started = time.monotonic()
    try:
        for index, span in enumerate(spans):
            await asyncio.sleep(max(0.0, started + index * interval - time.monotonic()))
            async with in_transaction():
                if index % 2 == 0:
                    await BusyBlock.create(staff_id=staff_pk, source=BusyBlockSource.EXTERNAL, title="Bench",
                                           external_event_id=f"bench-{index}", starts_at=span.start,
                                           ends_at=span.end)
                else:
                    await BusyBlock.filter(staff_id=staff_pk, starts_at=span.start, ends_at=span.end).delete()
            committed.append(time.time())
            await live.publish_availability_changed(staff_pk, [span])
    finally:
        if publisher is not None:
            await publisher.close()
        await Tortoise.close_connections()
    return committed


def run_block_changes(database_url: str, redis_url: str, channel: str, staff_pk: int, spans: list[Span],
                      interval: float, results: Connection) -> None:
    results.send(asyncio.run(_change_blocks(database_url, redis_url, channel, staff_pk, spans, interval)))


# -- the bench process -------------------------------------------------------------------------------------------

def summary(name: str, delays: list[float], expected: int) -> str:
    if not delays:
        return f"{name}: nothing measured (expected {expected} deliveries)"
    ms = [delay * 1000 for delay in delays]
    return (f"{name}: p50 {statistics.median(ms):6.1f} ms   p95 {percentile(ms, 0.95):6.1f} ms   "
            f"p99 {percentile(ms, 0.99):6.1f} ms   max {max(ms):6.1f} ms   min {min(ms):5.1f} ms   "
            f"({len(ms)} of {expected} deliveries measured)")


def block_spans(count: int) -> list[Span]:
    """Pairs of samples on one span (insert, then delete), far from the days that (b) books, so a booking's own
    availabilityChanged never matches a block sample."""
    first = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0) + timedelta(days=300)
    spans = []
    for index in range(count):
        start = first + timedelta(minutes=30 * (index // 2))
        spans.append(Span(start, start + timedelta(minutes=20)))
    return spans


def booking_starts(count: int) -> Iterator[datetime]:
    zone = load_zone(ZONE)
    first = datetime.now(UTC).astimezone(zone).date() + timedelta(days=2)
    for index in range(count):
        day = first + timedelta(days=index // SLOTS_PER_DAY)
        local = datetime.combine(day, datetime.min.time()).replace(hour=9) + timedelta(
            minutes=15 * (index % SLOTS_PER_DAY))
        yield to_utc(local, zone)


def availability_delays(readings: Readings, spans: list[Span], committed: list[float], measured: int
                        ) -> dict[int, list[float]]:
    """Per sample, the delay at each client. A client's arrivals are matched to samples by span: a span's first
    arrival is its insert, the second its delete."""
    sample_of: dict[datetime, list[int]] = defaultdict(list)
    for index, span in enumerate(spans):
        sample_of[span.start].append(index)
    first_counted = len(spans) - measured
    delays: dict[int, list[float]] = defaultdict(list)
    for client in readings.availability:
        seen: dict[datetime, int] = defaultdict(int)
        for start, stamp in client:
            samples = sample_of.get(start)
            if samples is None or seen[start] >= len(samples):
                continue  # a booking's span from (b), or a repeat
            index = samples[seen[start]]
            seen[start] += 1
            if index >= first_counted:
                delays[index].append(stamp - committed[index])
    return delays


def booking_delays(readings: Readings, since: dict[str, float]) -> dict[str, list[float]]:
    """Per booking, the delay at each client."""
    delays: dict[str, list[float]] = defaultdict(list)
    for client in readings.bookings:
        for booking_id, stamp in client:
            if booking_id in since:
                delays[booking_id].append(stamp - since[booking_id])
    return delays


def report(name: str, per_event: dict[Any, list[float]], expected: int) -> None:
    """Every delivery, then per event the last client to hear it (what a fan-out costs in all)."""
    print(summary(name, [delay for delays in per_event.values() for delay in delays], expected))
    print(summary("    the last client of each event", [max(delays) for delays in per_event.values()],
                  len(per_event)).replace("deliveries", "events"))


async def run(args: argparse.Namespace, scratch: Path, redis_url: str) -> None:
    database_url = args.database_url or f"sqlite://{scratch / 'live.sqlite3'}"
    await migrate(config=tortoise_config(database_url))
    await Tortoise.close_connections()
    # A channel of the run's own: a shared Redis may carry other deployments' or test runs' events.
    channel = f"lockstep-bench:{uuid.uuid4().hex}"
    spawn = multiprocessing.get_context("spawn")  # fresh interpreters: no ORM or event-loop state inherited
    with live_api(database_url, scratch, redis_url, channel) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            api = GraphQLClient(http)
            shop = await given_shop(api, duration=15, step=15, horizon=365)
            decoded = decode_id(shop.staff_id)
            assert decoded is not None and decoded.pk is not None
            staff_pk = decoded.pk

            control, far_end = spawn.Pipe()
            subscribers = spawn.Process(target=run_subscribers, args=(
                ws_url(base), shop.owner_token, shop.staff_id, shop.business_id, args.subscribers, far_end))
            subscribers.start()
            try:
                if not await asyncio.to_thread(control.poll, 120):
                    raise RuntimeError("the subscribers did not connect")
                control.recv()
                # Each client holds two subscriptions; the server counts one per subscription.
                await wait_for_health(base, subscribers=2 * args.subscribers, within=60)
                print(f"{args.subscribers} clients subscribed; events every {args.interval_ms} ms, "
                      f"{args.warmup} warm-up events of each kind not counted")
                interval = args.interval_ms / 1000

                # (a) busy-block changes committed and published by another process
                spans = block_spans(args.warmup + args.events) if "a" in args.case else []
                committed: list[float] = []
                if spans:
                    results, results_end = spawn.Pipe()
                    worker = spawn.Process(target=run_block_changes, args=(
                        database_url, redis_url, channel, staff_pk, spans, interval, results_end))
                    worker.start()
                    committed = await asyncio.to_thread(results.recv)
                    await asyncio.to_thread(worker.join)
                    await asyncio.sleep(1)  # the last deliveries

                # (b) createBooking over HTTP, answered -> bookingChanged at every client
                answered: dict[str, float] = {}
                sent: dict[str, float] = {}
                started = time.monotonic()
                bookings = args.warmup + args.events if "b" in args.case else 0
                for index, start in enumerate(booking_starts(bookings)):
                    await asyncio.sleep(max(0.0, started + index * interval - time.monotonic()))
                    asked = time.time()
                    data = await api(CREATE_BOOKING, {"input": {
                        "serviceId": shop.service_id, "staffId": shop.staff_id, "startsAt": start.isoformat(),
                        "walkIn": True}}, shop.owner_token)
                    stamp = time.time()
                    payload = data["createBooking"]
                    if payload["__typename"] != "BookingPayload":
                        raise RuntimeError(f"booking refused: {payload}")
                    if index >= args.warmup:
                        answered[payload["booking"]["id"]] = stamp
                        sent[payload["booking"]["id"]] = asked
                await asyncio.sleep(1)

                control.send("stop")
                readings: Readings = await asyncio.to_thread(control.recv)
            finally:
                await asyncio.to_thread(subscribers.join, 30)
                if subscribers.is_alive():
                    subscribers.terminate()

    expected = args.events * args.subscribers
    if spans:
        report("(a) block committed in a worker -> availabilityChanged",
               availability_delays(readings, spans, committed, args.events), expected)
    if answered:
        report("(b) createBooking response -> bookingChanged", booking_delays(readings, answered), expected)
        # The server publishes once the response has gone; a client may still hear of a booking a little before
        # the response has crossed this process's socket (negative figures above). These two show what the
        # mutation itself took.
        report("    createBooking request sent -> bookingChanged", booking_delays(readings, sent), expected)
        print(summary("    createBooking round trip", [answered[key] - sent[key] for key in answered],
                      len(answered)).replace("deliveries", "requests"))
    if readings.missed:
        print(f"MissedEvents received: {readings.missed}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--subscribers", type=int, default=200, help="concurrent WebSocket clients (default 200)")
    parser.add_argument("--events", type=int, default=200, help="measured events of each kind (default 200)")
    parser.add_argument("--interval-ms", type=float, default=50, help="time between events (default 50)")
    parser.add_argument("--warmup", type=int, default=6, help="events of each kind run first, not counted")
    parser.add_argument("--case", choices=["a", "b", "ab"], default="ab", help="which cases to run (default both)")
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        with bench_redis(scratch, 14) as redis_url:
            asyncio.run(run(args, scratch, redis_url))


if __name__ == "__main__":
    main()
