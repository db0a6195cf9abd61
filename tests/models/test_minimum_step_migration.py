"""Migration 0009 moves services stored with a slot step below 5 minutes up to 5, on each backend."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from tests.conftest import BACKEND
from tests.support.databases import create_postgres_database, drop_postgres_database

ROOT = Path(__file__).resolve().parents[2]
# Run in a child process: migrating re-initialises Tortoise, whose state is global to the test process.
SCRIPT = """
import asyncio, sys
from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate
from models.database import tortoise_config

async def main(url):
    config = tortoise_config(url)
    await migrate(config=config, target="models.0007_push_channels")
    db = connections.get("default")
    await db.execute_script(
        "INSERT INTO user_account (email, name, password_hash, role, created_at) "
        "VALUES ('o@example.com', 'O', '-', 'owner', CURRENT_TIMESTAMP)")
    await db.execute_script("INSERT INTO business (name, time_zone, owner_id, created_at) "
                            "VALUES ('B', 'UTC', 1, CURRENT_TIMESTAMP)")
    for name, step in (("one", 1), ("four", 4), ("five", 5), ("thirty", 30)):
        await db.execute_script(
            "INSERT INTO service (business_id, name, duration_minutes, buffer_before_minutes, buffer_after_minutes,"
            " slot_step_minutes, minimum_notice_minutes, booking_horizon_days, colour, created_at) "
            f"VALUES (1, '{name}', 30, 0, 0, {step}, 0, 60, '#000000', CURRENT_TIMESTAMP)")
    await migrate(config=config, target="models.0009_minimum_slot_step")
    rows = await connections.get("default").execute_query_dict("SELECT name, slot_step_minutes FROM service")
    print(sorted((row["name"], row["slot_step_minutes"]) for row in rows))
    await Tortoise.close_connections()

asyncio.run(main(sys.argv[1]))
"""


async def test_small_steps_become_five_minutes_and_others_stay(database_url: str, tmp_path: Path,
                                                               request: pytest.FixtureRequest) -> None:
    # given a fresh database migrated to 0007 with services on steps of 1, 4, 5 and 30 minutes
    if BACKEND == "postgres":
        server = request.getfixturevalue("postgres_server")
        url = await create_postgres_database(server)
    else:
        url = f"sqlite://{tmp_path / 'before.sqlite3'}"
    try:
        # when 0009 runs
        child = await asyncio.create_subprocess_exec(sys.executable, "-c", SCRIPT, url, cwd=ROOT,
                                                     stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(child.communicate(), timeout=120)
    finally:
        if BACKEND == "postgres":
            await drop_postgres_database(server, url)
    # then the steps below 5 are 5, and the others are as they were
    assert child.returncode == 0, err.decode()
    assert out.decode().strip() == "[('five', 5), ('four', 5), ('one', 5), ('thirty', 30)]"
