from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0009_minimum_slot_step')]

    initial = False

    operations = [
        ops.AddField(
            model_name='RefreshToken',
            name='replaced_from',
            field=fields.CharField(null=True, max_length=64),
        ),
    ]
