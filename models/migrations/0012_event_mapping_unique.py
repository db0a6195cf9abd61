"""One event mapping per (booking, calendar) on SQLite too.

Migration 0003 altered a column of the mapping table, which SQLite does by rebuilding the table, and the rebuilt
table lost its unique (booking, calendar) index: SQLite then accepted a duplicate mapping that PostgreSQL refuses,
while `get_or_create` relies on the uniqueness. Duplicates are removed first, keeping the best row of each pair:
- one holding an external event id first: it names the event Lockstep wrote in the calendar, and a kept row without
  one would write a second copy there;
- then a conflict or unlinked row (it holds the user's decision), then synced, pending, failed;
- then the newest.
Sync log entries of a removed row point to the kept one. PostgreSQL kept its index, so nothing changes there. The index is not dropped on the way down: the model
declares it.
"""

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

_BEST_FIRST = ("PARTITION BY booking_id, external_calendar_id ORDER BY"
               " CASE WHEN COALESCE(external_event_id, '') <> '' THEN 0 ELSE 1 END,"
               " CASE state WHEN 'conflict' THEN 0 WHEN 'unlinked' THEN 0 WHEN 'synced' THEN 1"
               " WHEN 'pending' THEN 2 ELSE 3 END, updated_at DESC, id DESC")
_RANK = f"ROW_NUMBER() OVER ({_BEST_FIRST})"
_KEPT = f"FIRST_VALUE(id) OVER ({_BEST_FIRST})"
_STATEMENTS = [
    "CREATE TEMP TABLE doomed_mapping AS SELECT id, kept FROM ("
    f" SELECT id, {_RANK} AS rank, {_KEPT} AS kept FROM eventmapping) WHERE rank > 1",
    "UPDATE synclogentry SET mapping_id = (SELECT kept FROM doomed_mapping WHERE doomed_mapping.id = mapping_id)"
    " WHERE mapping_id IN (SELECT id FROM doomed_mapping)",
    "DELETE FROM eventmapping WHERE id IN (SELECT id FROM doomed_mapping)",
    "DROP TABLE doomed_mapping",
    # The name Tortoise gives the model's unique_together index (PostgreSQL's is the same).
    'CREATE UNIQUE INDEX IF NOT EXISTS "uid_eventmappin_booking_9e6061" ON "eventmapping"'
    ' ("booking_id", "external_calendar_id")',
]


async def _restore_on_sqlite(_apps: Any, schema_editor: Any) -> None:
    if schema_editor.client.capabilities.dialect != "sqlite":
        return
    for statement in _STATEMENTS:
        await schema_editor.client.execute_script(statement)


async def _nothing(_apps: Any, _schema_editor: Any) -> None:
    return None


class Migration(migrations.Migration):
    dependencies = [("models", "0011_connection_confirmation")]

    initial = False

    operations = [
        ops.RunPython(_restore_on_sqlite, _nothing),
    ]
