"""`python -m app serve` as a real process on a fresh data folder, with no Redis configured: the files it writes are
its user's alone, and the bundled Redis ends with it, whether it is stopped (SIGTERM) or killed (SIGKILL)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.graphql import SIGN_UP
from tests.support.server import free_port, wait_until_healthy

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads processes from /proc")


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    base: str
    data_dir: Path


def children_of(pid: int) -> dict[int, str]:
    """The live child processes of `pid`, by pid, with their program names."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            name = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found[int(entry.name)] = name
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def gone_within(pids: list[int], seconds: float) -> list[int]:
    """The pids still alive after waiting up to `seconds` for them to end."""
    deadline = time.monotonic() + seconds
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


def modes(data_dir: Path) -> dict[str, int]:
    return {path.name: stat.S_IMODE(path.stat().st_mode) for path in [data_dir, *data_dir.iterdir()]}


@pytest.fixture
def served(tmp_path: Path, repo_root: Path) -> Iterator[Served]:
    data_dir = tmp_path / "fresh-data"
    port = free_port()
    env = {**os.environ, "LOCKSTEP_DATA_DIR": str(data_dir), "LOCKSTEP_PORT": str(port), "LOCKSTEP_WORKERS": "1"}
    for name in ("LOCKSTEP_REDIS_URL", "LOCKSTEP_DATABASE_URL", "LOCKSTEP_JWT_SECRET"):
        env.pop(name, None)
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "app", "serve"], cwd=repo_root, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, process, 90, tmp_path / "serve.log")
        yield Served(process, base, data_dir)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def bundled_redis_of(served: Served) -> int:
    (pid,) = [pid for pid, name in children_of(served.process.pid).items() if name == "redis-server"]
    return pid


def test_a_fresh_data_folder_and_its_files_are_the_owners_alone(served: Served) -> None:
    # given the service running on a fresh data folder, and a write through the API (so SQLite's WAL is in use)
    answer = httpx.post(f"{served.base}/graphql", json={"query": SIGN_UP, "variables": {"input": {
        "email": "pat@example.com", "password": "correct horse battery", "name": "Pat", "role": "OWNER"}}},
        timeout=30)
    assert answer.json()["data"]["signUp"]["__typename"] == "AuthPayload"
    # then the folder is 0700 and every file in it 0600, while it runs
    running = modes(served.data_dir)
    assert {"lockstep.sqlite3", "lockstep.sqlite3-wal", "lockstep.sqlite3-shm", "jwt-secret"} <= set(running)
    # (folders, the data folder and the mail catcher's, 0700)
    assert running == {name: 0o700 if name in ("fresh-data", "mail") else 0o600 for name in running}
    # and after it stopped, with Redis's data saved
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(timeout=60) == 128 + signal.SIGTERM
    stopped = modes(served.data_dir)
    assert "redis.rdb" in stopped
    assert stopped == {name: 0o700 if name in ("fresh-data", "mail") else 0o600 for name in stopped}


def test_stopping_the_service_stops_its_bundled_redis(served: Served) -> None:
    # given the service and its bundled Redis (a child of it), scheduler and worker
    redis = bundled_redis_of(served)
    children = list(children_of(served.process.pid))
    assert len(children) == 3
    # when the service is stopped
    served.process.send_signal(signal.SIGTERM)
    served.process.wait(timeout=60)
    # then Redis and every other child have ended
    assert gone_within([redis, *children], 15) == []


def test_killing_the_service_still_ends_its_bundled_redis(served: Served) -> None:
    # given the service and its children
    redis = bundled_redis_of(served)
    children = list(children_of(served.process.pid))
    # when the service is killed, with no chance to clean up
    served.process.kill()
    served.process.wait(timeout=30)
    # then the kernel ends its bundled Redis and the sync processes all the same
    assert gone_within([redis, *children], 15) == []


def test_files_an_earlier_run_left_open_are_closed_at_start(tmp_path: Path, repo_root: Path) -> None:
    # given a data folder and database that are world-readable
    data_dir = tmp_path / "old-data"
    data_dir.mkdir(mode=0o755)
    os.chmod(data_dir, 0o755)
    env = {**os.environ, "LOCKSTEP_DATA_DIR": str(data_dir)}
    env.pop("LOCKSTEP_DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "app", "migrate"], cwd=repo_root, env=env, check=True, capture_output=True,
                   timeout=120)
    for path in data_dir.iterdir():
        os.chmod(path, 0o644)
    os.chmod(data_dir, 0o755)
    # when a command starts on it again
    subprocess.run([sys.executable, "-m", "app", "migrate"], cwd=repo_root, env=env, check=True, capture_output=True,
                   timeout=120)
    # then the folder and its files are the owner's alone
    found = modes(data_dir)
    assert "lockstep.sqlite3" in found
    assert found == {name: 0o700 if name == "old-data" else 0o600 for name in found}
