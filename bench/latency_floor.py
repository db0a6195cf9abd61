"""The floor of a latency bench: the operations its path cannot avoid, each measured bare in the same run, and the
lines that compare a run's figures with it.

Terms: a *floor call* is one HTTP request sent bare on a kept-alive connection (a webhook POST that names nothing of
ours, a listing replayed at a fake); the *database write* is one row inserted and committed by a plain client of the
bench's database (sqlite3 on the SQLite file, asyncpg on PostgreSQL). The floor is the sum of the medians of the
operations a bench names as its own; others may be measured beside them for comparison only.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
import asyncpg

from bench.common import percentile

DATABASE_WRITE = "database write"


@dataclass(frozen=True)
class FloorCall:
    """One request of the floor as it is sent bare; `expected` is the status that says it was served as meant."""

    method: str
    url: str
    headers: Mapping[str, str]
    expected: int
    params: Sequence[tuple[str, str]] | None = None
    body: bytes = b""


async def _sent(session: aiohttp.ClientSession, call: FloorCall) -> None:
    async with session.request(call.method, call.url, params=call.params, headers=dict(call.headers),
                               data=call.body) as answer:
        await answer.read()
        if answer.status != call.expected:
            raise RuntimeError(f"the floor's {call.method} answered {answer.status}, not {call.expected}")


@asynccontextmanager
async def database_write(database_url: str, synchronous: str | None = None
                         ) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """One row inserted and committed, as a plain client of the database at `database_url` (a table of its own,
    created first). On SQLite with the synchronous pragma the service's own connections commit with."""
    if database_url.startswith("sqlite://"):
        db = sqlite3.connect(urlsplit(database_url).path, isolation_level=None)
        db.execute("PRAGMA busy_timeout=10000")
        db.execute(f"PRAGMA synchronous={synchronous or 'FULL'}")
        db.execute("CREATE TABLE bench_floor (n INTEGER)")

        async def write_sqlite() -> None:
            db.execute("INSERT INTO bench_floor (n) VALUES (1)")

        try:
            yield write_sqlite
        finally:
            db.close()
        return
    connection = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    await connection.execute("CREATE TABLE bench_floor (n integer)")

    async def write_postgres() -> None:
        await connection.execute("INSERT INTO bench_floor (n) VALUES (1)")

    try:
        yield write_postgres
    finally:
        await connection.close()


async def measure_floor(calls: Sequence[tuple[str, FloorCall]], write: Callable[[], Awaitable[None]],
                        rounds: int) -> dict[str, list[float]]:
    """Each call, then the database write, `rounds` times after a random pause (seconds, by name in that order)."""
    timings: dict[str, list[float]] = {name: [] for name, _ in calls}
    timings[DATABASE_WRITE] = []
    rng = random.Random(7)
    async with aiohttp.ClientSession() as session:
        for _ in range(rounds):
            await asyncio.sleep(rng.uniform(0, 0.02))
            for name, call in calls:
                began = time.perf_counter()
                await _sent(session, call)
                timings[name].append(time.perf_counter() - began)
            began = time.perf_counter()
            await write()
            timings[DATABASE_WRITE].append(time.perf_counter() - began)
    return timings


def floor_total(bare: Mapping[str, list[float]], names: Sequence[str]) -> float:
    """The floor: the sum of the medians of the operations `names`, in milliseconds."""
    return sum(statistics.median(bare[name]) for name in names) * 1000


def ratio_lines(figures: Sequence[tuple[str, list[float]]], floor_ms: float) -> list[str]:
    """Each figure's p99 against the floor."""
    lines = []
    for name, delays in figures:
        if delays:
            p99 = percentile(delays, 0.99) * 1000
            lines.append(f"{name} p99 {p99:.1f} ms is {p99 / floor_ms:.1f} times the floor")
    return lines
