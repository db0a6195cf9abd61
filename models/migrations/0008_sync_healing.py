from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0007_push_channels')]

    initial = False

    operations = [
        ops.AddField(
            model_name='EventMapping',
            name='failed_by_outage',
            field=fields.BooleanField(default=False),
        ),
    ]
