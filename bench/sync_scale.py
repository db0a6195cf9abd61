"""How the sync engine's cost grows with the number of connections.

Run from the repository root:  .venv/bin/python -m bench.sync_scale  [--postgres-sizes 1000,10000,30000]
        [--sqlite-sizes 10000] [--ticks 80] [--poll-seconds 3] [--latency-size 10000] [--latency-seconds 100]
        [--plans]

Each size gets a database of its own, created, migrated and dropped by the run (PostgreSQL: a new database on
BENCH_POSTGRES_URL, else postgres://postgres@127.0.0.1:5432/postgres; SQLite: a file in a temporary folder), seeded
in bulk by bench/scale_seed.py (per staff member one connection and calendar, 10 bookings with their mappings,
3 imported events; 1% of calendars due each second). Jobs go to a real Redis (BENCH_REDIS_URL, else 127.0.0.1:6379
database 14, else a redis-server of the run's own), emptied after each tick. The provider is the memory provider.

It prints, per size:
- the scheduler's tick (the real `Scheduler.tick`, push channels on), p50/p95 over `--ticks` ticks 250 ms of
  simulated time apart, by step (dispatch, pushes, pulls, refreshes, watches, enqueue), and SQL statements per tick.
  Between ticks, outside the measurement, the claimed pulls are put back as if pulled (due again DUE_SPREAD later)
  and claimed refreshes as if refreshed.
- no-change polls one worker sustains per second: the scheduled pull job's body (jobs.tasks.run_pulls: the batch's
  calendars read in one statement, then per calendar: take its lease, jobs.pull.pull_calendar, release) back to
  back on batches of PULL_BATCH due calendars for `--poll-seconds`, and SQL statements per poll. Only the provider
  client differs: the memory provider instead of one built from credentials.
- at `--latency-size` (PostgreSQL), one change per second per 100 connections (an event added at the provider) for
  the first 20 simulated seconds, with ticks every 250 ms of simulated time and one worker running the claimed pulls
  right after each tick: p50/p95 from change to busy block, and the part of it after the calendar came due (the
  real time of the tick and of the pulls ahead of it in that batch, plus up to one tick interval). Waiting for the
  poll (the hot interval, 60 s) is most of it: a calendar without push is read that often.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from redis import Redis
from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate

from bench.common import bench_redis, percentile
from bench.scale_seed import DUE_SPREAD, SEED_KEY, ZONE, calendar_id, seed
from jobs import runtime
from jobs.scheduler import Scheduler
from jobs.tasks import PULL_BATCH, ProviderOpener, run_pulls
from models import CalendarConnection, ExternalCalendar
from models.database import tortoise_config
from providers.base import CalendarProvider
from providers.registry import REGISTRY, pushing, refreshing
from services.oauth_tokens import CLAIM
from services.sync_dispatch import LEASE
from tests.fakes.memory import MemoryProvider
from tests.support.statements import counted_statements
from tests.support.sync import personal_event

TICK = timedelta(milliseconds=250)  # the scheduler's default interval
STEPS = ("dispatch", "pushes", "pulls", "refreshes", "watches", "enqueue")


def memory_opener(provider: MemoryProvider) -> ProviderOpener:
    """The client every connection's pull opens: the memory provider, in place of one built from credentials."""
    @asynccontextmanager
    async def opened(_connection: CalendarConnection) -> AsyncIterator[CalendarProvider]:
        yield provider
    return opened


async def pull_batch(calendar_ids: list[int], provider: MemoryProvider, now: datetime) -> list[str]:
    """The scheduled pull job's body (jobs.tasks.run_pulls) on claimed calendars, with the memory provider."""
    return await run_pulls(calendar_ids, open_provider=memory_opener(provider), clock=lambda: now)


async def _settle(now: datetime) -> None:
    """Put the tick's claims back as if their jobs ran: pulled calendars due again later, tokens refreshed."""
    await ExternalCalendar.filter(next_pull_at=now + LEASE).update(next_pull_at=now + DUE_SPREAD)
    await CalendarConnection.filter(refresh_claimed_until=now + CLAIM).update(
        refresh_claimed_until=None, token_expires_at=now + timedelta(hours=1))


@dataclass
class TickFigures:
    totals: list[float] = field(default_factory=list)  # seconds per tick
    steps: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statements: list[int] = field(default_factory=list)
    pulls: list[int] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)  # seconds of a bare `SELECT 1` just before each tick
    end: datetime = datetime.min


async def measure_ticks(redis: Redis, start: datetime, ticks: int) -> TickFigures:
    scheduler = Scheduler(redis, "bench", push_channels=True)
    await scheduler.tick(start)  # sweeps unconfirmed grants, as a scheduler does once a minute
    await _settle(start)
    figures = TickFigures()
    now = start
    for _ in range(ticks):
        now += TICK
        began = time.perf_counter()
        await connections.get("default").execute_query("SELECT 1")
        figures.floor.append(time.perf_counter() - began)
        with counted_statements() as sent:
            began = time.perf_counter()
            result = await scheduler.tick(now)
            figures.totals.append(time.perf_counter() - began)
        figures.statements.append(len(sent))
        figures.pulls.append(result.pulls)
        for step in STEPS:
            # The tick's own timings (code from before it had them gives none).
            figures.steps[step].append(getattr(result, "steps", {}).get(step, 0.0))
        await _settle(now)
        redis.flushdb()
    figures.end = now
    return figures


async def measure_polls(provider: MemoryProvider, seconds: float) -> tuple[float, float, float]:
    """Polls per second, statements per poll, and the median poll in ms."""
    ids = [int(str(row)) for row in await ExternalCalendar.all().order_by("next_pull_at").limit(3008).values_list(
        "id", flat=True)]
    batches = [ids[start:start + PULL_BATCH] for start in range(0, len(ids) - PULL_BATCH + 1, PULL_BATCH)]
    durations: list[float] = []  # seconds per poll, a batch's time shared by its polls
    sent_total = 0
    began = time.perf_counter()
    index = 0
    while time.perf_counter() - began < seconds:
        with counted_statements() as sent:
            started = time.perf_counter()
            outcomes = await pull_batch(batches[index % len(batches)], provider, datetime.now(UTC))
            durations.append((time.perf_counter() - started) / PULL_BATCH)
        assert outcomes == ["done"] * PULL_BATCH, outcomes
        sent_total += len(sent)
        index += 1
    elapsed = time.perf_counter() - began
    polls = index * PULL_BATCH
    return polls / elapsed, sent_total / polls, statistics.median(durations) * 1000


async def measure_latency(redis: Redis, provider: MemoryProvider, size: int, start: datetime,
                          seconds: float) -> tuple[list[float], list[float]]:
    """Latencies (s) from change to busy block, and their part after the calendar was due (module docstring)."""
    scheduler = Scheduler(redis, "bench-latency", push_channels=True)
    changes_until = start + timedelta(seconds=20)
    per_tick = size / 100 * TICK.total_seconds()
    pending: dict[int, list[datetime]] = defaultdict(list)
    total: list[float] = []
    engine: list[float] = []
    owed = 0.0
    number = 0
    now = start
    while now < start + timedelta(seconds=seconds):
        now += TICK
        if now <= changes_until:
            owed += per_tick
            while owed >= 1:
                owed -= 1
                number += 1
                staff = 1 + (number * 7919) % size
                provider.write_by_hand(calendar_id(staff), f"change-{number}.ics",
                                       personal_event(f"change-{number}", (now + timedelta(days=20)).replace(
                                           minute=0, second=0, microsecond=0), summary="Change"))
                pending[staff].append(now)
        began = time.perf_counter()
        await scheduler.tick(now)
        claimed = await ExternalCalendar.filter(next_pull_at=now + LEASE).order_by("id").values_list(
            "id", flat=True)
        ids = [int(str(calendar)) for calendar in claimed]
        for first in range(0, len(ids), PULL_BATCH):
            batch = ids[first:first + PULL_BATCH]
            await pull_batch(batch, provider, now)
            waited = time.perf_counter() - began
            for calendar in batch:
                for changed_at in pending.pop(calendar, []):
                    total.append((now - changed_at).total_seconds() + waited)
                    engine.append(TICK.total_seconds() + waited)
        redis.flushdb()
        if now > changes_until and not pending:
            break
    return total, engine


async def print_plans(now: datetime) -> None:
    from models.claims import explain
    from services.oauth_tokens import refresh_claim
    from services.sync_dispatch import pull_claims, push_claim
    from services.watch_channels import watch_claim

    never, due = pull_claims(now)
    claims = (("pushes", push_claim(now)), ("pulls never given a time", never), ("pulls due", due),
              ("refreshes", refresh_claim(now, refreshing(REGISTRY))), ("watches", watch_claim(now, pushing())))
    for name, claim in claims:
        print(f"    plan of the {name} claim:")
        for line in (await explain(claim)).splitlines():
            print(f"      {line}")


async def run_size(url: str, size: int, postgres: bool, redis: Redis, args: argparse.Namespace) -> None:
    await migrate(config=tortoise_config(url))
    await Tortoise.close_connections()
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    runtime.configure(runtime.JobConfig(database_url=url, redis_url="redis://unused", secret_keys=(SEED_KEY,)))
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        began = time.perf_counter()
        provider = await seed(size, now, postgres)
        seeded = time.perf_counter() - began
        redis.flushdb()
        ticks = await measure_ticks(redis, now, args.ticks)
        totals = [value * 1000 for value in ticks.totals]
        by_step = ", ".join(f"{step} {percentile([v * 1000 for v in ticks.steps[step]], 0.5):.1f}/"
                            f"{percentile([v * 1000 for v in ticks.steps[step]], 0.95):.1f}" for step in STEPS)
        name = "PostgreSQL" if postgres else "SQLite"
        print(f"{name} {size:,} connections (seeded in {seeded:.0f} s; "
              f"{statistics.mean(ticks.pulls):.0f} pulls claimed per tick):")
        floor = [value * 1000 for value in ticks.floor]
        print(f"  tick p50 {percentile(totals, 0.5):.1f} ms, p95 {percentile(totals, 0.95):.1f} ms, "
              f"{statistics.mean(ticks.statements):.1f} statements (a bare SELECT 1 meanwhile: "
              f"p50 {percentile(floor, 0.5):.2f} ms, p95 {percentile(floor, 0.95):.2f} ms)")
        print(f"  by step p50/p95 ms: {by_step}")
        rate, statements, median = await measure_polls(provider, args.poll_seconds)
        print(f"  no-change polls by one worker: {rate:.0f}/s ({median:.2f} ms median, {statements:.1f} statements)")
        if args.plans:
            await print_plans(ticks.end)
        if postgres and size == args.latency_size and args.latency_seconds > 0:
            total, engine = await measure_latency(redis, provider, size, ticks.end, args.latency_seconds)
            print(f"  change to busy block ({len(total)} changes, {size // 100}/s): p50 {percentile(total, 0.5):.1f} s,"
                  f" p95 {percentile(total, 0.95):.1f} s; after due p50 {percentile(engine, 0.5) * 1000:.0f} ms,"
                  f" p95 {percentile(engine, 0.95) * 1000:.0f} ms")
    finally:
        await Tortoise.close_connections()


async def _postgres_database(server: str, create: bool, name: str) -> None:
    connection = await asyncpg.connect(server.replace("postgres://", "postgresql://", 1))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"' if create
                                 else f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def main(args: argparse.Namespace) -> None:
    server = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    with tempfile.TemporaryDirectory(prefix="lockstep-scale-") as scratch, bench_redis(Path(scratch), 14) as url:
        redis = Redis.from_url(url)
        print(f"zone {ZONE}; tick every {TICK.total_seconds() * 1000:.0f} ms of simulated time; Redis {url}")
        for size in args.postgres_sizes:
            name = f"lockstep_bench_{uuid.uuid4().hex[:10]}"
            await _postgres_database(server, True, name)
            try:
                await run_size(f"{server.rsplit('/', 1)[0]}/{name}", size, True, redis, args)
            finally:
                await _postgres_database(server, False, name)
        for size in args.sqlite_sizes:
            path = Path(scratch) / f"scale-{size}.sqlite3"
            await run_size(f"sqlite://{path}", size, False, redis, args)
            path.unlink()


def _sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-sizes", type=_sizes, default=[1000, 10000, 30000])
    parser.add_argument("--sqlite-sizes", type=_sizes, default=[10000])
    parser.add_argument("--ticks", type=int, default=80)
    parser.add_argument("--poll-seconds", type=float, default=3.0)
    parser.add_argument("--latency-size", type=int, default=10000)
    parser.add_argument("--latency-seconds", type=float, default=100.0)
    parser.add_argument("--plans", action="store_true", help="print the claims' query plans at each size")
    asyncio.run(main(parser.parse_args()))
