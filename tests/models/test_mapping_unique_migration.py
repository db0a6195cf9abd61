"""Migration 0012 gives SQLite back the unique (booking, calendar) index of event mappings, keeping the best row of
each duplicated pair (synced over pending over the rest, then the newest) and pointing its sync log there."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from tests.conftest import BACKEND

ROOT = Path(__file__).resolve().parents[2]
# Run in a child process: migrating re-initialises Tortoise, whose state is global to the test process.
SCRIPT = """
import asyncio, sys
from datetime import UTC, datetime, timedelta
from tortoise import Tortoise, connections
from tortoise.exceptions import IntegrityError
from tortoise.migrations.api import migrate
from models import EventMapping, EventMappingState, SyncLogEntry
from models.database import tortoise_config
from tests.support.sync import book, given_connected_staff

async def main(url):
    config = tortoise_config(url)
    await migrate(config=config, target="models.0011_connection_confirmation")
    await Tortoise.init(config=config)
    db = connections.get("default")
    # The models are ahead of 0011 by one column (0013): lent for the set-up, taken back before migrating on.
    await db.execute_script("ALTER TABLE externalcalendar ADD COLUMN watch_due_at TIMESTAMP")
    given = await given_connected_staff()
    now = datetime(2030, 1, 7, 6, tzinfo=UTC)
    (first,) = await book(given, datetime(2030, 1, 8, 9, tzinfo=UTC), now)
    (second,) = await book(given, datetime(2030, 1, 8, 12, tzinfo=UTC), now)
    rows = [(first.id, EventMappingState.PENDING, "p-new"), (first.id, EventMappingState.SYNCED, "s-old"),
            (first.id, EventMappingState.FAILED, "f-newest"), (second.id, EventMappingState.PENDING, "p-old"),
            (second.id, EventMappingState.PENDING, "p-newer"), (second.id, EventMappingState.CONFLICT, "c")]
    ids = {}
    for index, (booking_id, state, label) in enumerate(rows):
        mapping = await EventMapping.create(booking_id=booking_id, external_calendar_id=given.calendar.id,
                                            state=state, external_event_id=label)
        stamp = (now + timedelta(minutes=index)).isoformat(" ")
        await db.execute_query("UPDATE eventmapping SET updated_at = ? WHERE id = ?", [stamp, mapping.id])
        ids[label] = mapping.id
    await SyncLogEntry.create(connection_id=given.connection.id, mapping_id=ids["p-new"], direction="export",
                              action="push", outcome="ok")
    await db.execute_script("ALTER TABLE externalcalendar DROP COLUMN watch_due_at")
    await Tortoise.close_connections()
    await migrate(config=config, target="models.0012_event_mapping_unique")
    await Tortoise.init(config=config)
    kept = sorted((m.booking_id == first.id, m.external_event_id) for m in await EventMapping.all())
    logged = (await SyncLogEntry.first()).mapping_id
    log = [label for label, mapping_id in ids.items() if mapping_id == logged]
    try:
        await EventMapping.create(booking_id=first.id, external_calendar_id=given.calendar.id)
        refused = False
    except IntegrityError:
        refused = True
    print(kept, log, refused)
    await Tortoise.close_connections()

asyncio.run(main(sys.argv[1]))
"""


@pytest.mark.skipif(BACKEND != "sqlite", reason="PostgreSQL never lost the index (tests/models/test_schema_parity.py)")
async def test_duplicates_are_merged_into_the_best_row_and_new_ones_are_refused(tmp_path: Path) -> None:
    # given a SQLite database at 0011 holding duplicated mappings of two bookings in one calendar
    url = f"sqlite://{tmp_path / 'before.sqlite3'}"
    # when 0012 runs
    child = await asyncio.create_subprocess_exec(sys.executable, "-c", SCRIPT, url, cwd=ROOT,
                                                 stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(child.communicate(), timeout=120)
    # then each pair keeps its best row (synced; else the newest pending), the log follows it, and a new duplicate
    # is refused
    assert child.returncode == 0, err.decode()
    assert out.decode().strip() == "[(False, 'p-newer'), (True, 's-old')] ['s-old'] True"
