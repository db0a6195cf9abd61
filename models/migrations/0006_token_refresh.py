from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_oauth_connections')]

    initial = False

    operations = [
        ops.AddField(
            model_name='CalendarConnection',
            name='refresh_claimed_until',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
