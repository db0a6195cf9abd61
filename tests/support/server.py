"""A real uvicorn server in a child process, on a free loopback port, sharing the test's database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_healthy(base: str, process: subprocess.Popen[bytes], seconds: float, log_path: Path) -> None:
    """Wait until `base`/health answers 200; fail with the server's log if it exits or takes over `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"server did not start: {log_path.read_text()}")
        time.sleep(0.1)


@contextmanager
def live_server(database_url: str, data_dir: Path, workers: int = 1, **extra_env: str) -> Iterator[str]:
    """Start `uvicorn app.asgi:app` (with `workers` processes); yield its base URL; stop it.
    Its output goes to a log file in `data_dir`."""
    with live_server_on(free_port(), database_url, data_dir, workers, extra_env) as base:
        yield base


@contextmanager
def live_server_on(port: int, database_url: str, data_dir: Path, workers: int, extra_env: dict[str, str]
                   ) -> Iterator[str]:
    """live_server on a given port, for a server that must know its own address before it starts (its public URL
    is one of its settings)."""
    env = {**os.environ, "LOCKSTEP_DATABASE_URL": database_url, "LOCKSTEP_DATA_DIR": str(data_dir), **extra_env}
    log = (data_dir / f"uvicorn-{port}.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.asgi:app", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning", "--workers", str(workers)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, process, 30, data_dir / f"uvicorn-{port}.log")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
