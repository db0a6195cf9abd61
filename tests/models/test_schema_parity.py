"""The migrated schemas of SQLite and PostgreSQL have the same unique constraints and indexes (by table and columns).

Both are migrated from scratch in child processes (migrating re-initialises Tortoise, whose state is global) and read
back from the databases' own catalogues. Primary keys are left out (SQLite keys rows by rowid, without an index).
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from pathlib import Path

import asyncpg
import pytest

from tests.support.databases import create_postgres_database, drop_postgres_database

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import asyncio, sys
from tortoise import Tortoise
from tortoise.migrations.api import migrate
from models.database import tortoise_config

async def main(url):
    await migrate(config=tortoise_config(url))
    await Tortoise.close_connections()

asyncio.run(main(sys.argv[1]))
"""
# Differences by design: PostgreSQL enforces "no double booking" with an exclusion constraint over an expression
# (SQLite serialises the booking transaction instead, DESIGN.md invariant 2).
POSTGRES_ONLY = {("booking", "booking_no_overlap")}
Index = tuple[str, tuple[str, ...], bool]  # table, columns in order, unique


async def _migrate(url: str) -> None:
    child = await asyncio.create_subprocess_exec(sys.executable, "-c", SCRIPT, url, cwd=ROOT,
                                                 stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(child.communicate(), timeout=180)
    assert child.returncode == 0, err.decode()


def sqlite_indexes(path: Path) -> set[Index]:
    found: set[Index] = set()
    with sqlite3.connect(path) as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                                 " AND name NOT LIKE 'sqlite_%'")]
        for table in tables:
            for _, name, unique, origin, _ in db.execute(f'PRAGMA index_list("{table}")'):
                if origin == "pk":
                    continue
                columns = tuple(column for _, _, column in db.execute(f'PRAGMA index_info("{name}")'))
                found.add((table, columns, bool(unique)))
    return found


async def postgres_indexes(url: str) -> set[Index]:
    db = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        rows = await db.fetch("""
            SELECT t.relname AS table_name, i.relname AS index_name, x.indisunique AS is_unique,
                   array_agg(a.attname ORDER BY k.position) AS columns
            FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_class t ON t.oid = x.indrelid
            JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
            JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, position) ON true
            JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
            WHERE NOT x.indisprimary
            GROUP BY t.relname, i.relname, x.indisunique""")
    finally:
        await db.close()
    return {(row["table_name"], tuple(row["columns"]), row["is_unique"]) for row in rows
            if (row["table_name"], row["index_name"]) not in POSTGRES_ONLY}


@pytest.mark.db
async def test_both_databases_have_the_same_unique_constraints_and_indexes(
        tmp_path: Path, request: pytest.FixtureRequest) -> None:
    # given a fresh SQLite file and a fresh PostgreSQL database, each migrated from scratch
    sqlite_path = tmp_path / "parity.sqlite3"
    server = request.getfixturevalue("postgres_server")
    postgres_url = await create_postgres_database(server)
    try:
        await asyncio.gather(_migrate(f"sqlite://{sqlite_path}"), _migrate(postgres_url))
        # when their catalogues are read
        on_postgres = await postgres_indexes(postgres_url)
    finally:
        await drop_postgres_database(server, postgres_url)
    on_sqlite = sqlite_indexes(sqlite_path)
    # then they hold the same indexes, among them the mapping's unique (booking, calendar)
    assert on_sqlite - on_postgres == set()
    assert on_postgres - on_sqlite == set()
    assert ("eventmapping", ("booking_id", "external_calendar_id"), True) in on_sqlite
