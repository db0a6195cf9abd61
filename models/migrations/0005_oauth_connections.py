from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.calendars import Provider
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0004_sync_leases')]

    initial = False

    operations = [
        ops.CreateModel(
            name='OAuthState',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('state_hash', fields.CharField(unique=True, max_length=64)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='oauth_states', on_delete=OnDelete.CASCADE)),
                ('staff', fields.ForeignKeyField('models.Staff', source_field='staff_id', db_constraint=True, to_field='id', related_name='oauth_states', on_delete=OnDelete.CASCADE)),
                ('provider', fields.CharEnumField(description='GOOGLE: google\nMICROSOFT: microsoft\nCALDAV: caldav\nCALENDLY: calendly', enum_type=Provider, max_length=16)),
                ('code_verifier', fields.TextField(unique=False)),
                ('return_url', fields.CharField(max_length=2000)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'oauthstate', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One "connect your calendar" authorisation in flight, kept server-side so that a phone whose browser is not the'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='CalendarConnection',
            name='refresh_failures',
            field=fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='CalendarConnection',
            name='token_expires_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
