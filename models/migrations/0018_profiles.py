"""A user's phone and photo, and when a customer deleted their account."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0017_sign_in_identities')]

    initial = False

    operations = [
        ops.AddField(
            model_name='User',
            name='phone',
            field=fields.CharField(default='', max_length=40),
        ),
        ops.AddField(
            model_name='User',
            name='photo_url',
            field=fields.CharField(default='', max_length=2000),
        ),
        ops.AddField(
            model_name='User',
            name='deleted_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
