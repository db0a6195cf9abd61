"""Several processes on one SQLite file: their write transactions wait for each other instead of failing."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from tortoise import connections
from tortoise.context import TortoiseContext
from tortoise.exceptions import TransactionManagementError
from tortoise.transactions import in_transaction

from models.database import tortoise_config
from tests.conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's write lock")
ROUNDS = 25


def _load(role: str, database_url: str, redis_url: str, repo_root: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:  # a file, not a pipe: a full pipe would stall the process
        return subprocess.Popen([sys.executable, "-m", "tests.support.sqlite_load", role, database_url, redis_url,
                                 str(ROUNDS)], cwd=repo_root, env=os.environ.copy(), stdout=output,
                                stderr=subprocess.STDOUT)


def test_bookings_scheduler_ticks_and_pulls_at_once_meet_no_lock_error(tmp_path: Path, redis_url: str,
                                                                       repo_root: Path) -> None:
    # given one SQLite file with a staff member whose calendar is connected
    database_url = f"sqlite://{tmp_path / 'shared.sqlite3'}"
    setup = _load("setup", database_url, redis_url, repo_root, tmp_path / "setup.log")
    assert setup.wait(timeout=120) == 0, (tmp_path / "setup.log").read_text()
    # when one process books, one runs scheduler ticks and one pulls the calendar, all at the same time
    roles = ("book", "tick", "pull")
    processes = {role: _load(role, database_url, redis_url, repo_root, tmp_path / f"{role}.log") for role in roles}
    statuses = {role: process.wait(timeout=300) for role, process in processes.items()}
    # then every round of every process succeeded and none logged a lock error
    log = "".join((tmp_path / f"{role}.log").read_text() for role in roles)
    assert "database is locked" not in log
    assert statuses == {"book": 0, "tick": 0, "pull": 0}, log


async def test_a_transaction_that_cannot_get_the_lock_in_time_gives_the_connection_back(tmp_path: Path) -> None:
    # given a database whose write lock another process holds for longer than the busy timeout (100 ms)
    path = tmp_path / "held.sqlite3"
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(f"sqlite://{path}", sqlite_busy_timeout_ms=100))
        await connections.get("default").execute_script("CREATE TABLE visit (id INTEGER PRIMARY KEY)")
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        # when a transaction is attempted, then it is refused once the timeout has passed
        with pytest.raises(TransactionManagementError, match="database is locked"):
            async with in_transaction() as connection:
                await connection.execute_insert("INSERT INTO visit (id) VALUES (1)", [])
        # when the other process lets go, then the next transaction begins and commits (nothing stayed locked)
        holder.execute("ROLLBACK")
        holder.close()

        async def visit() -> None:
            async with in_transaction() as connection:
                await connection.execute_insert("INSERT INTO visit (id) VALUES (2)", [])

        await asyncio.wait_for(visit(), timeout=10)
        assert await connections.get("default").execute_query_dict("SELECT id FROM visit") == [{"id": 2}]


async def test_a_write_gets_in_at_one_of_the_first_short_gaps_between_another_connection_s_transactions(
        tmp_path: Path) -> None:
    # given a database whose write lock another connection keeps taking: held 20 ms, free 5 ms, over and over (as a
    # scheduler tick's run of transactions does)
    path = tmp_path / "busy.sqlite3"
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(f"sqlite://{path}"))
        await connections.get("default").execute_script("CREATE TABLE visit (id INTEGER PRIMARY KEY)")
        holds, stop, holding = [0], threading.Event(), threading.Event()

        def keep_taking_the_lock() -> None:
            other = sqlite3.connect(path, isolation_level=None, timeout=10)
            while not stop.is_set():
                other.execute("BEGIN IMMEDIATE")
                holding.set()
                time.sleep(0.02)
                other.execute("COMMIT")
                holds[0] += 1
                time.sleep(0.005)
            other.close()

        holder = threading.Thread(target=keep_taking_the_lock)
        holder.start()
        try:
            assert await asyncio.to_thread(holding.wait, 5)
            # when one write is made meanwhile
            await connections.get("default").execute_insert("INSERT INTO visit (id) VALUES (1)", [])
            holds_before_it = holds[0]
        finally:
            stop.set()
            await asyncio.to_thread(holder.join)
        # then it went in at one of the first gaps (SQLite's own busy handler, sleeping 1, 2, 5, 10, 15, 20, 25, ...
        # ms between tries, slept through gap after gap)
        assert holds_before_it <= 3
        assert await connections.get("default").execute_query_dict("SELECT id FROM visit") == [{"id": 1}]
