"""Calendly latency: how long an appointment booked at Calendly takes to become a Lockstep booking that takes its
slot, measured from the moment Calendly's webhook delivery leaves, through the whole service and the fake Calendly.

Run from the repository root:  .venv/bin/python -m bench.calendly_latency  [--postgres] [--samples 200]
                                    [--watch subscription|poll] [--poll-ms 2] [--pause-ms 100] [--warmup 5]
                                    [--floor-rounds 200] [--slowest 5] [--stamps-out FILE] [--sqlite-synchronous NORMAL]

Set-up: a fresh, migrated database (a SQLite file; with `--postgres` a database of its own on BENCH_POSTGRES_URL,
by default the server on 127.0.0.1:5432, dropped afterwards); the fake Calendly (tests/fakes/calendly.py) served
from a thread of this process; one uvicorn API whose public URL is its own loopback address, `python -m app
scheduler` and one `python -m app worker` (child processes), with Redis (BENCH_REDIS_URL, else 127.0.0.1:6379
database 12, else a redis-server of the run's own). A business is set up through GraphQL: a staff member working
08:00-20:00 every day (Europe/Berlin) and a 60-minute service on a 60-minute step; the staff member connects the
fake's account with a personal access token (`connectCalendly`, which creates the webhook subscription at the fake)
and the account's 60-minute event type is mapped to the service (`mapCalendlyEventType`). Sampling starts once the
scheduler has run the connection's first backstop listing, and after a check that every slot to be booked is free.

Each sample waits a random 0..`--pause-ms`, then books the event type at the fake for the next free hour (the fake
then POSTs the signed `invitee.created` delivery to `/webhooks/calendly`). Measured from the moment the fake began
that POST (`Attempt.sent_at` in its delivery log):
(a) the booking visible in `bookings` (filtered to the staff member and that hour), and
(b) the slot gone from `availableSlots`,
each asked over HTTP by a poller of its own (aiohttp, kept-alive connection) and stamped when the answer that shows
it has been read; and besides them (c) `availabilityChanged` for that hour at a WebSocket subscriber on a thread of
its own (bench/push_subscriber.py), and (d) the booking committed and announced (the worker's stamp).
When the pollers ask (`--watch`): by default (`subscription`) each asks as soon as the subscriber has heard
`availabilityChanged` for the hour, and again every `--poll-ms` until it sees the change (it sees it at once, since
the event is published after the commit), so the API and the two cores are not loaded by polling while the delivery
is on its way; (a) and (b) then include the event's way to the subscriber and one query, where polling would include
up to a poll interval and one query. With `poll` both ask every `--poll-ms` from the booking on, as the push benches
do; on a small machine that load slows the path it measures (docs/performance.md). One appointment's booking and
watching is bench/calendly_sampling.py. Where the time went: the stage stamps of every process
(services.stage_stamps) lined up per sample (bench/latency_stages.py), and the job queue's part: the API's enqueue
call, the worker's pickup, and how often a delivery found the one worker still in another job.

Then the floor, measured bare in the same run as the push benches define it (bench/latency_floor.py), `--floor-rounds`
times each: a webhook POST to the API (a delivery as the fake sends them, naming a channel no connection has:
looked up and answered 410) and one database write. A Calendly delivery carries the appointment, so the path has no
listing at the provider to add. The floor is the sum of their medians; a bare `bookings` and `availableSlots` query
are timed beside it for comparison, outside the floor.
Target: p99 of (a) and (b) at most 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import gc
import math
import os
import random
import shutil
import statistics
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from tortoise import Tortoise
from tortoise.migrations.api import migrate

from bench.calendly_sampling import Heard, Pollers, Seen, book_and_watch, floor_calls
from bench.common import SLOTS, bench_database, bench_redis, free_starts, percentile, summary, wait_until
from bench.latency_floor import DATABASE_WRITE, database_write, floor_total, measure_floor, ratio_lines
from bench.latency_stages import Sample, StagePath, breakdown, line_up, read_stamps
from bench.push_subscriber import Subscriber
from models.database import tortoise_config
from services.credentials import new_key
from services.stage_stamps import ENVIRONMENT_VARIABLE as STAMPS_VARIABLE
from tests.fakes.calendly import FakeCalendly
from tests.support.google_service import sync_processes
from tests.support.graphql import GraphQLClient, Shop, given_shop
from tests.support.live import new_channel, wait_for_health, ws_url
from tests.support.server import free_port, live_server_on

CONNECT = """mutation($input: ConnectCalendlyInput!) { connectCalendly(input: $input) { __typename
  ... on CalendlyConnected { webhookRefusal connection { id } eventTypes { uri } }
  ... on ConnectionCheckFailed { problem message } } }"""
MAP = """mutation($input: MapCalendlyEventTypeInput!) { mapCalendlyEventType(input: $input) { __typename } }"""
HOURS = [{"weekday": day, "ranges": [{"start": "08:00", "end": "20:00"}]}
         for day in ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")]

# In path order (sample.changed is the fake's POST beginning; "gone" is when (a) and (b) have both been seen).
CALENDLY_PATH = StagePath((
    ("delivery.received", "API: the route has the delivery's body"),
    ("delivery.verified", "API: channel looked up, signature checked"),
    ("delivery.kept", "API: the delivery kept in the inbox (one insert); the job's enqueue begins"),
    ("delivery.started", "worker: the job function runs (enqueue, jobs ahead of it, RQ's start; see below)"),
    ("delivery.read", "worker: the kept delivery and its calendar read"),
    ("appointment.locked", "worker: the staff member's lock taken (transaction begun)"),
    ("appointment.written", "worker: booking, mapping, outbox, appointment and log rows written"),
    ("appointment.committed", "worker: committed, bookingChanged and availabilityChanged published"),
    ("gone", "bench: the booking in `bookings` and the slot gone from `availableSlots`"),
    ("delivery.applied", "worker: the delivery marked applied"),
    ("job.end", "worker: RQ finished with the job"),
), committed="appointment.committed", trailing=("delivery.applied", "job.end"))


def calendly_env(calendly: FakeCalendly, public_url: str, redis_url: str, stamps: Path) -> dict[str, str]:
    """Settings shared by the API, the scheduler and the worker."""
    return {"LOCKSTEP_PUBLIC_URL": public_url, "LOCKSTEP_REDIS_URL": redis_url,
            "LOCKSTEP_LIVE_CHANNEL": new_channel(), "LOCKSTEP_SECRET_KEYS": new_key(),
            "LOCKSTEP_CALENDLY_API_URL": calendly.api_url, STAMPS_VARIABLE: str(stamps)}


async def connected_shop(api: GraphQLClient, calendly: FakeCalendly, days: int) -> Shop:
    """The business, its staff member's Calendly connected with a personal access token, the account's one event
    type mapped to the service."""
    shop = await given_shop(api, hours=HOURS, duration=60, step=60, horizon=days)
    data = await api(CONNECT, {"input": {"staffId": shop.staff_id, "personalAccessToken": calendly.personal_token()}},
                     shop.owner_token)
    answer = data["connectCalendly"]
    if answer["__typename"] != "CalendlyConnected" or answer["webhookRefusal"]:
        raise RuntimeError(f"connectCalendly answered {answer}")
    (offered,) = answer["eventTypes"]
    mapped = await api(MAP, {"input": {"connectionId": answer["connection"]["id"], "eventTypeUri": offered["uri"],
                                       "serviceId": shop.service_id}}, shop.owner_token)
    if mapped["mapCalendlyEventType"]["__typename"] != "CalendlyEventType":
        raise RuntimeError(f"mapCalendlyEventType answered {mapped}")
    return shop


def backstop_listed(calendly: FakeCalendly) -> bool:
    """Whether the service has listed the account's scheduled events (the connection's first backstop)."""
    return any(entry.method == "GET" and entry.path == "/scheduled_events" for entry in list(calendly.log))


async def all_free(http: httpx.AsyncClient, shop: Shop, starts: list[datetime]) -> None:
    answer = (await http.post("/graphql", json={"query": SLOTS, "variables": {
        "s": shop.service_id, "from": starts[0].isoformat(), "to": (starts[-1] + timedelta(hours=1)).isoformat()}}
    )).json()
    free = {datetime.fromisoformat(slot["start"]) for slot in answer["data"]["availableSlots"]["slots"]}
    if not set(starts) <= free:
        raise RuntimeError(f"{len(set(starts) - free)} of the hours to book are not free before the run")


async def run(args: argparse.Namespace, scratch: Path, redis_url: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    stamps_file = scratch / "stamps.log"
    calendly = FakeCalendly()
    event_type = calendly.add_event_type(calendly.user, "Boiler check", 60)
    starts = free_starts(args.warmup + args.samples)
    horizon = 2 + math.ceil(len(starts) / 12) + 2
    async with bench_database(scratch, "calendly", args.postgres, args.sqlite_synchronous) as database_url:
        await migrate(config=tortoise_config(database_url))
        await Tortoise.close_connections()
        with calendly.running_in_thread():
            env = calendly_env(calendly, base, redis_url, stamps_file)
            with live_server_on(port, database_url, scratch, 1, env), sync_processes(database_url, scratch, env):
                async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                    shop = await connected_shop(GraphQLClient(http), calendly, horizon)
                    await wait_until(lambda: backstop_listed(calendly), "the first backstop listing")
                    await all_free(http, shop, starts)
                heard = Heard() if args.watch == "subscription" else None
                subscriber = Subscriber(ws_url(base), shop.staff_id, heard)
                subscriber.start()
                await wait_for_health(base, subscribers=1)
                # This process serves the fake and the subscriber too: its start-up heap out of the collector's
                # way, so that a full collection here does not pass for the service's latency.
                gc.collect()
                gc.freeze()
                rng = random.Random(20261204)
                pollers = Pollers(base, shop, args.poll_ms / 1000)
                seen: list[Seen] = []
                try:
                    for n, start in enumerate(starts):
                        await asyncio.sleep(rng.uniform(0, args.pause_ms / 1000))
                        one = await book_and_watch(calendly, event_type, pollers, heard, start, n)
                        if n >= args.warmup:
                            seen.append(one)
                    measured = starts[args.warmup:]
                    await wait_until(lambda: set(measured) <= set(subscriber.heard), "every availabilityChanged", 10)
                    subscriber.stop()
                    await asyncio.sleep(1)  # the last job's trailing writes, before the floor is measured
                    last = calendly.webhooks.attempts[-1]
                    async with database_write(database_url, args.sqlite_synchronous) as write:
                        bare = await measure_floor(floor_calls(base, pollers, last, starts[-1]), write,
                                                   args.floor_rounds)
                finally:
                    await pollers.close()
    told = [subscriber.heard[start] - one.sent for start, one in zip(measured, seen, strict=True)]
    report(args, seen, told, subscriber.missed, bare, stamps_file)


def _first_after(times: list[float], moment: float) -> float | None:
    index = bisect.bisect_left(times, moment)
    return times[index] if index < len(times) else None


def _figures(name: str, values: list[float]) -> str:
    ms = [value * 1000 for value in values]
    return (f"  {name}: p50 {statistics.median(ms):.2f}, p95 {percentile(ms, 0.95):.2f}, p99 {percentile(ms, 0.99):.2f}"
            f", max {max(ms):.2f} ({len(ms)} samples)")


def queue_findings(samples: list[Sample], stamps: dict[str, list[float]]) -> list[str]:
    """The job queue's part of each sample, from the kept delivery to its job function running (ms): the API's
    enqueue call (a thread and RQ's enqueue; `delivery.enqueued` may come after the worker has started the job), the
    time the one worker spent in other jobs meanwhile (the push the previous booking's outbox row asked for, a
    backstop; running when the delivery came, or queued ahead of it), the rest until RQ started the delivery's own
    job (the dequeue), and RQ's start of the job until the function runs."""
    starts, ends = stamps.get("job.start", []), stamps.get("job.end", [])
    calls, others, dequeue, overhead = [], [], [], []
    behind: list[float] = []  # the samples' delays (both seen), by whether they waited for other jobs
    free: list[float] = []
    for sample in samples:
        kept, running = sample.stages.get("delivery.kept"), sample.stages.get("delivery.started")
        if kept is None or running is None:
            continue
        enqueued = _first_after(stamps.get("delivery.enqueued", []), kept)
        if enqueued is not None and enqueued < running + 1:
            calls.append(enqueued - kept)
        own = bisect.bisect_right(starts, running) - 1  # the delivery's own job began last before its function
        if own < 0 or starts[own] < kept - 1:
            continue
        busy = 0.0
        for index in range(bisect.bisect_right(starts, kept) - 1, own):  # the jobs before it that overlap the wait
            end = _first_after(ends, starts[index]) if index >= 0 else None
            if end is not None:
                busy += max(0.0, min(end, starts[own]) - max(starts[index], kept))
        (behind if busy > 0 else free).append(sample.delay)
        if busy > 0:
            others.append(busy)
        dequeue.append(starts[own] - kept - busy)
        overhead.append(running - starts[own])
    lines = ["the job queue, from the kept delivery to its job function (ms):"]
    for name, values in (("the API's enqueue call (kept -> enqueued)", calls),
                         ("kept -> the delivery's job started, less the time in other jobs", dequeue),
                         ("RQ's start of the job -> the job function runs", overhead)):
        if values:
            lines.append(_figures(name, values))
    lines.append(f"  deliveries that found the one worker in other jobs (running, or queued ahead): {len(others)} of "
                 f"{len(samples)}")
    if others:
        lines.append(_figures("the time they waited for those jobs", others))
    for name, delays in (("samples that waited for other jobs, both seen", behind),
                         ("samples that found the worker free, both seen", free)):
        if delays:
            lines.append(_figures(name, delays))
    return lines


def report(args: argparse.Namespace, seen: list[Seen], heard: list[float], missed: int,
           bare: dict[str, list[float]], stamps_file: Path) -> None:
    database = "PostgreSQL" if args.postgres else f"SQLite synchronous={args.sqlite_synchronous or 'FULL'}"
    asked = (f"asked once availabilityChanged is heard, then every {args.poll_ms:g} ms" if args.watch == "subscription"
             else f"polled every {args.poll_ms:g} ms")
    print(f"Calendly delivery POST -> ... (one API, scheduler, one worker; {database}; {asked}; "
          f"LOCKSTEP_SCHEDULER_INTERVAL_MS {os.environ.get('LOCKSTEP_SCHEDULER_INTERVAL_MS', '250')})")
    listed = [one.listed - one.sent for one in seen]
    gone = [one.gone - one.sent for one in seen]
    print(summary("(a) booking visible in bookings", listed))
    print(summary("(b) slot gone from availableSlots", gone))
    print(summary("(c) availabilityChanged at a subscriber", heard))
    if missed:
        print(f"the subscriber was told of missed events {missed} times")
    refused = [one.first_status for one in seen if one.first_status != 200]
    if refused:
        print(f"first attempts not answered 200: {len(refused)} ({sorted(set(refused))})")
    stamps, spans = read_stamps(stamps_file)
    samples = line_up([(one.sent, max(one.listed, one.gone)) for one in seen], stamps, spans, CALENDLY_PATH)
    committed = [sample.stages[CALENDLY_PATH.committed] - sample.changed for sample in samples
                 if CALENDLY_PATH.committed in sample.stages]
    if committed:
        print(summary("(d) booking committed and published (the worker's stamp)", committed))
    in_floor = ["webhook POST", DATABASE_WRITE]
    for name in in_floor:
        print(summary(f"floor: {name}", bare[name]))
    for name in (name for name in bare if name not in in_floor):
        print(summary(f"for comparison, not in the floor: {name}", bare[name]))
    total = floor_total(bare, in_floor)
    print(f"floor (sum of the medians): {total:.1f} ms; target: p99 <= 100 ms")
    for line in ratio_lines((("(a)", listed), ("(b)", gone), ("(d)", committed)), total):
        print(line)
    print(breakdown(samples, args.slowest, CALENDLY_PATH))
    for line in queue_findings(samples, stamps):
        print(line)
    if args.stamps_out:
        shutil.copyfile(stamps_file, args.stamps_out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--postgres", action="store_true",
                        help="a database of its own on BENCH_POSTGRES_URL (default 127.0.0.1:5432) instead of SQLite")
    parser.add_argument("--samples", type=int, default=200, help="appointments measured (default 200)")
    parser.add_argument("--warmup", type=int, default=5, help="appointments made first and not measured (default 5)")
    parser.add_argument("--watch", choices=("subscription", "poll"), default="subscription",
                        help="ask bookings and availableSlots once availabilityChanged is heard (default), or poll "
                             "them from the booking on")
    parser.add_argument("--poll-ms", type=float, default=2,
                        help="bookings and availableSlots are each asked again this often (default 2)")
    parser.add_argument("--pause-ms", type=float, default=100,
                        help="longest random pause before each appointment (default 100)")
    parser.add_argument("--floor-rounds", type=int, default=200, help="times each floor operation is measured")
    parser.add_argument("--slowest", type=int, default=5, help="slowest samples whose stages are printed")
    parser.add_argument("--sqlite-synchronous", choices=("NORMAL", "FULL"),
                        help="SQLite's synchronous pragma for every process (default: SQLite's own, FULL)")
    parser.add_argument("--stamps-out", type=Path, help="keep the processes' raw stage stamps in this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        with bench_redis(scratch, 12) as redis_url:
            asyncio.run(run(args, scratch, redis_url))


if __name__ == "__main__":
    main()
