"""The commands, run as real processes, announce themselves at start in JSON lines and write nothing else."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


def command_env(data_dir: Path, redis_url: str | None = None) -> dict[str, str]:
    env = {**os.environ, "LOCKSTEP_DATA_DIR": str(data_dir)}
    env.pop("LOCKSTEP_DATABASE_URL", None)
    env.pop("LOCKSTEP_REDIS_URL", None)
    if redis_url is not None:
        env["LOCKSTEP_REDIS_URL"] = redis_url
    return env


def json_lines(stderr: str) -> list[dict[str, Any]]:
    """Every line parsed; a line that is not JSON fails the test."""
    return [json.loads(line) for line in stderr.splitlines() if line.strip()]


def run(verb: list[str], env: dict[str, str], repo_root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *verb], cwd=repo_root, env=env, capture_output=True,
                          text=True, timeout=120, check=True)


@pytest.fixture
def migrated(tmp_path: Path, repo_root: Path) -> tuple[Path, list[dict[str, Any]]]:
    data_dir = tmp_path / "data"
    done = run(["migrate"], command_env(data_dir), repo_root)
    return data_dir, json_lines(done.stderr)


def test_migrate_says_what_it_does(migrated: tuple[Path, list[dict[str, Any]]]) -> None:
    _, lines = migrated
    assert [(line["level"], line["logger"], line["message"], line["command"], line["database"])
            for line in lines if line["logger"] == "lockstep"] == [
        ("info", "lockstep", "migrating the database", "migrate", "sqlite"),
        ("info", "lockstep", "database migrated", "migrate", "sqlite")]


def test_a_worker_says_it_started(migrated: tuple[Path, list[dict[str, Any]]], redis_url: str,
                                  repo_root: Path) -> None:
    data_dir, _ = migrated
    done = run(["worker", "--burst"], command_env(data_dir, redis_url), repo_root)
    (started,) = [line for line in json_lines(done.stderr) if line["message"] == "worker started"]
    assert (started["level"], started["command"], started["burst"], started["database"]) == (
        "info", "worker", True, "sqlite")


def test_the_scheduler_says_it_started(migrated: tuple[Path, list[dict[str, Any]]], redis_url: str,
                                       repo_root: Path) -> None:
    data_dir, _ = migrated
    scheduler = subprocess.Popen([sys.executable, "-m", "app", "scheduler"], cwd=repo_root,
                                 env=command_env(data_dir, redis_url), stderr=subprocess.PIPE, text=True)
    try:
        assert scheduler.stderr is not None
        first = json.loads(scheduler.stderr.readline())
    finally:
        scheduler.send_signal(signal.SIGTERM)
        rest = scheduler.communicate(timeout=30)[1]
    assert (first["message"], first["command"], first["pid"], first["interval_ms"]) == (
        "scheduler started", "scheduler", scheduler.pid, 250)
    json_lines(rest)
