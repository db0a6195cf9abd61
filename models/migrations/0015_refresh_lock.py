"""The per-connection token refresh lock: its holder and until when it holds it."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0014_unreadable_events')]

    initial = False

    operations = [
        ops.AddField(
            model_name='CalendarConnection',
            name='refresh_lock_owner',
            field=fields.CharField(default='', max_length=64),
        ),
        ops.AddField(
            model_name='CalendarConnection',
            name='refresh_lock_until',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
