"""Migration 0012 gives SQLite back the unique (booking, calendar) index of event mappings, keeping the best row of
each duplicated pair (one holding the written event's id; then conflict or unlinked, synced, pending, failed; then the
newest) and pointing its sync log there."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from tests.conftest import BACKEND

ROOT = Path(__file__).resolve().parents[2]
# Run in a child process: migrating re-initialises Tortoise, whose state is global to the test process.
SCRIPT = """
import asyncio, os, sqlite3, sys, traceback
from datetime import UTC, datetime, timedelta
from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate
from models import EventMapping, EventMappingState, SyncLogEntry
from models.database import tortoise_config
from tests.support.sync import book, given_connected_staff

async def migrated(config, target=None):
    # migrate() leaves its connection open, and an open connection's (non-daemon) thread keeps the process alive
    # after main() returns: close it each time.
    try:
        await migrate(config=config, target=target)
    finally:
        await Tortoise.close_connections()

async def lent_columns(url, head_url):
    # The models are ahead of 0011 (later migrations add columns and tables); the set-up creates its rows through
    # them, so each column and table the head of the chain has and 0011 lacks is lent for the set-up and taken back
    # before migrating on (a table as (name, None, its CREATE statement, None)).
    await migrated(tortoise_config(head_url))
    path, head = url.removeprefix("sqlite://"), head_url.removeprefix("sqlite://")
    with sqlite3.connect(path) as old, sqlite3.connect(head) as new:
        tables = [row[0] for row in old.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        lent = []
        for table in tables:
            have = {row[1] for row in old.execute(f'PRAGMA table_info("{table}")')}
            for _, name, kind, _, default, _ in new.execute(f'PRAGMA table_info("{table}")'):
                if name not in have:
                    lent.append((table, name, kind, default))
        for table, create in new.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'"):
            if table not in tables and not table.startswith("sqlite_"):
                lent.append((table, None, create, None))
    return lent

async def given_duplicates(config, lent):
    await Tortoise.init(config=config)
    try:
        db = connections.get("default")
        for table, name, kind, default in lent:
            fallback = f" DEFAULT {default}" if default is not None else ""
            await db.execute_script(kind if name is None else
                                    f'ALTER TABLE "{table}" ADD COLUMN "{name}" {kind}{fallback}')
        given = await given_connected_staff()
        now = datetime(2030, 1, 7, 6, tzinfo=UTC)
        bookings = [(await book(given, datetime(2030, 1, 8, hour, tzinfo=UTC), now))[0].id for hour in (9, 12, 15)]
        rows = [(0, EventMappingState.FAILED, "f-wrote", "f-wrote"), (0, EventMappingState.PENDING, "", "p-unwritten"),
                (1, EventMappingState.CONFLICT, "c-old", "c-old"), (1, EventMappingState.SYNCED, "s-newer", "s-newer"),
                (1, EventMappingState.PENDING, "", "p-newest"), (2, EventMappingState.SYNCED, "s-old", "s-old"),
                (2, EventMappingState.SYNCED, "s-new", "s-new")]
        ids = {}
        for index, (booking, state, event_id, label) in enumerate(rows):
            mapping = await EventMapping.create(booking_id=bookings[booking], external_calendar_id=given.calendar.id,
                                                state=state, external_event_id=event_id)
            stamp = (now + timedelta(minutes=index)).isoformat(" ")
            await db.execute_query("UPDATE eventmapping SET updated_at = ? WHERE id = ?", [stamp, mapping.id])
            ids[label] = mapping.id
        await SyncLogEntry.create(connection_id=given.connection.id, mapping_id=ids["p-unwritten"],
                                  direction="export", action="push", outcome="ok")
        for table, name, _, _ in lent:
            await db.execute_script(f'DROP TABLE "{table}"' if name is None else
                                    f'ALTER TABLE "{table}" DROP COLUMN "{name}"')
        return ids
    finally:
        await Tortoise.close_connections()

async def main(url, head_url):
    config = tortoise_config(url)
    await migrated(config, "models.0011_connection_confirmation")
    ids = await given_duplicates(config, await lent_columns(url, head_url))
    await migrated(config, "models.0012_event_mapping_unique")
    labels = {mapping_id: label for label, mapping_id in ids.items()}
    with sqlite3.connect(url.removeprefix("sqlite://")) as db:
        kept = sorted(labels[row[0]] for row in db.execute("SELECT id FROM eventmapping"))
        (logged,) = db.execute("SELECT mapping_id FROM synclogentry").fetchone()
        try:
            db.execute("INSERT INTO eventmapping (booking_id, external_calendar_id, state, external_event_id)"
                       " SELECT booking_id, external_calendar_id, state, 'again' FROM eventmapping WHERE id = ?",
                       [ids["f-wrote"]])
            refused = False
        except sqlite3.IntegrityError:
            refused = True
    print(kept, labels[logged], refused)

try:
    asyncio.run(main(sys.argv[1], sys.argv[2]))
except BaseException:
    # A connection left open by a failed migrate keeps its (non-daemon) thread, and the process, alive: exit at
    # once so the failure is reported instead of a timeout.
    traceback.print_exc()
    sys.stderr.flush()
    os._exit(1)
"""


@pytest.mark.skipif(BACKEND != "sqlite", reason="PostgreSQL never lost the index (tests/models/test_schema_parity.py)")
async def test_duplicates_are_merged_into_the_best_row_and_new_ones_are_refused(tmp_path: Path) -> None:
    # given a SQLite database at 0011 holding duplicated mappings of three bookings in one calendar
    url, head = f"sqlite://{tmp_path / 'before.sqlite3'}", f"sqlite://{tmp_path / 'head.sqlite3'}"
    # when 0012 runs
    child = await asyncio.create_subprocess_exec(sys.executable, "-c", SCRIPT, url, head, cwd=ROOT,
                                                 stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(child.communicate(), timeout=120)
    # then each booking keeps its best row: the failed row holding the written event over a pending one that never
    # wrote, the conflict over a newer synced row, the newer of two synced rows; the log follows the kept row, and a
    # new duplicate is refused
    assert child.returncode == 0, err.decode()
    assert out.decode().strip() == "['c-old', 'f-wrote', 's-new'] f-wrote True"
