"""Whether an imported busy block stands for a tentative event."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0027_business_management')]

    initial = False

    operations = [
        ops.AddField(
            model_name='BusyBlock',
            name='tentative',
            field=fields.BooleanField(default=False),
        ),
    ]
