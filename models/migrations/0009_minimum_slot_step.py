"""Every service's slot step is at least 5 minutes (the default minimum a service may be given).

A finer grid multiplied the cost of each slot query. Services stored with a smaller step are moved to 5 minutes: a
start a customer could pick before is then on the grid only if it falls on a 5-minute step of its working range.
Bookings already made keep their times. The step is not put back on the way down (the old value is not kept).
"""

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

_RAISE = "UPDATE service SET slot_step_minutes = 5 WHERE slot_step_minutes < 5"


async def _raise_small_steps(_apps: Any, schema_editor: Any) -> None:
    await schema_editor.client.execute_script(_RAISE)


async def _nothing(_apps: Any, _schema_editor: Any) -> None:
    return None


class Migration(migrations.Migration):
    dependencies = [("models", "0008_sync_healing")]

    initial = False

    operations = [
        ops.RunPython(_raise_small_steps, _nothing),
    ]
