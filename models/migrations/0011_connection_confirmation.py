from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0010_refresh_reuse_address')]

    initial = False

    operations = [
        ops.AddField(
            model_name='OAuthState',
            name='granted_account',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='OAuthState',
            name='confirmation_hash',
            field=fields.CharField(null=True, unique=True, max_length=64),
        ),
        ops.AddField(
            model_name='OAuthState',
            name='confirm_by',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='OAuthState',
            name='confirmed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
