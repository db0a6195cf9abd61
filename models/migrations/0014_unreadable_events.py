import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0013_sync_claim_indexes')]

    initial = False

    operations = [
        ops.AddField(
            model_name='ExternalCalendar',
            name='unreadable_event_ids',
            field=fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
    ]
