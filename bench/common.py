"""What the benchmark scripts share: percentiles and their one-line summary, waiting for a condition, a Redis to run
against, a fresh database (a SQLite file, or a database of its own on a PostgreSQL server), and the free hour slots
the latency benches take one by one (a staff member working 08:00-20:00 every day in ZONE, a 60-minute service)."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

from domain.zones import load_zone, to_utc
from tests.support.databases import create_postgres_database, drop_postgres_database
from tests.support.redis_server import own_redis

POSTGRES_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
ZONE = "Europe/Berlin"
SLOTS = """query($s: ID!, $from: DateTime!, $to: DateTime!) {
  availableSlots(serviceId: $s, from: $from, to: $to, timeZone: "UTC") {
    ... on AvailableSlots { slots { start } } } }"""


def percentile(values: list[float], fraction: float) -> float:
    """The value at `fraction` (0..1) of the sorted values, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(name: str, delays: list[float]) -> str:
    """One line of p50/p95/p99/max of `delays` (seconds), in milliseconds."""
    ms = [delay * 1000 for delay in delays]
    return (f"{name}: {len(ms)} samples, p50 {statistics.median(ms):.1f} ms, p95 {percentile(ms, 0.95):.1f} ms, "
            f"p99 {percentile(ms, 0.99):.1f} ms, max {max(ms):.1f} ms")


def free_starts(count: int) -> list[datetime]:
    """Distinct hour starts inside 08:00-20:00 Berlin from the day after tomorrow on, one event per slot."""
    zone = load_zone(ZONE)
    first = datetime.now(UTC).astimezone(zone).date() + timedelta(days=2)
    return [to_utc(datetime.combine(first + timedelta(days=n // 12), datetime.min.time()).replace(hour=8 + n % 12),
                   zone) for n in range(count)]


async def wait_until(check: Callable[[], bool], what: str, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what}")
        await asyncio.sleep(0.05)


@contextmanager
def bench_redis(scratch: Path, database: int) -> Iterator[str]:
    """BENCH_REDIS_URL, else database `database` of the Redis on 127.0.0.1:6379 when it answers, else a
    redis-server of our own with its files in `scratch`."""
    url = os.environ.get("BENCH_REDIS_URL", f"redis://127.0.0.1:6379/{database}")
    try:
        answers = bool(Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except RedisError:
        answers = False
    if answers:
        yield url
        return
    with own_redis(scratch) as server:
        yield server.url


@asynccontextmanager
async def bench_database(scratch: Path, name: str, postgres: bool, sqlite_synchronous: str | None = None
                         ) -> AsyncIterator[str]:
    """The URL of an empty database, dropped afterwards: a new database on BENCH_POSTGRES_URL (a server URL, by
    default 127.0.0.1:5432) with `postgres`, else the SQLite file `name`.sqlite3 in `scratch` (its synchronous
    pragma set in the URL, so on every connection of every process, when one is given)."""
    if not postgres:
        url = f"sqlite://{scratch / f'{name}.sqlite3'}"
        yield url + (f"?synchronous={sqlite_synchronous}" if sqlite_synchronous else "")
        return
    server = os.environ.get("BENCH_POSTGRES_URL", POSTGRES_SERVER)
    url = await create_postgres_database(server)
    try:
        yield url
    finally:
        await drop_postgres_database(server, url)
