"""No double booking, enforced by PostgreSQL itself.

Two confirmed bookings of one staff member may not have overlapping buffered spans. The exclusion constraint needs
btree_gist for the equality on staff_id. SQLite has no such constraint: there the booking service runs the check and
the insert in one serialised write transaction instead.
"""

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

_CREATE = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    "ALTER TABLE booking ADD CONSTRAINT booking_no_overlap EXCLUDE USING gist ("
    " staff_id WITH =, tstzrange(buffered_start, buffered_end, '[)') WITH &&"
    ") WHERE (status = 'confirmed')",
]
_DROP = ["ALTER TABLE booking DROP CONSTRAINT IF EXISTS booking_no_overlap"]


def _on_postgres(statements: list[str]) -> Any:
    async def run(_apps: Any, schema_editor: Any) -> None:
        if schema_editor.client.capabilities.dialect != "postgres":
            return
        for statement in statements:
            await schema_editor.client.execute_script(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]

    initial = False

    operations = [
        ops.RunPython(_on_postgres(_CREATE), _on_postgres(_DROP)),
    ]
