"""What the benchmark scripts share: percentiles, and a Redis to run against."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

from tests.support.redis_server import own_redis


def percentile(values: list[float], fraction: float) -> float:
    """The value at `fraction` (0..1) of the sorted values, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


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
