"""A business's address and phone, for customers' invitations and mail."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0019_account_tokens')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Business',
            name='address',
            field=fields.CharField(default='', max_length=500),
        ),
        ops.AddField(
            model_name='Business',
            name='phone',
            field=fields.CharField(default='', max_length=40),
        ),
    ]
