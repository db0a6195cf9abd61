"""One busy block per calendar event occurrence (a unique key, after dropping duplicates two racing imports may have
left), the per-calendar sync lease, the count of suddenly empty listings, and the mapping's queue counter."""

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint

_DROP_DUPLICATES = (
    "DELETE FROM busyblock WHERE external_calendar_id IS NOT NULL AND id NOT IN ("
    " SELECT MIN(id) FROM busyblock WHERE external_calendar_id IS NOT NULL"
    " GROUP BY external_calendar_id, external_event_id, occurrence_key)"
)


async def _drop_duplicate_blocks(_apps: Any, schema_editor: Any) -> None:
    await schema_editor.client.execute_script(_DROP_DUPLICATES)


async def _nothing(_apps: Any, _schema_editor: Any) -> None:
    return None


class Migration(migrations.Migration):
    dependencies = [('models', '0003_sync_engine')]

    initial = False

    operations = [
        ops.RunPython(_drop_duplicate_blocks, _nothing),
        ops.AddConstraint(
            model_name='BusyBlock',
            constraint=UniqueConstraint(fields=('external_calendar', 'external_event_id', 'occurrence_key'), name=None),
        ),
        ops.AddField(
            model_name='EventMapping',
            name='queued',
            field=fields.IntField(default=0),
        ),
        ops.AddField(
            model_name='ExternalCalendar',
            name='empty_listings',
            field=fields.IntField(default=0),
        ),
        ops.AddField(
            model_name='ExternalCalendar',
            name='sync_lock_owner',
            field=fields.CharField(default='', max_length=64),
        ),
        ops.AddField(
            model_name='ExternalCalendar',
            name='sync_lock_until',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
