from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0006_token_refresh')]

    initial = False

    operations = [
        ops.CreateModel(
            name='WatchChannel',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('external_calendar', fields.ForeignKeyField('models.ExternalCalendar', source_field='external_calendar_id', db_constraint=True, to_field='id', related_name='watch_channels', on_delete=OnDelete.CASCADE)),
                ('channel_id', fields.CharField(unique=True, max_length=64)),
                ('resource_id', fields.CharField(max_length=255)),
                ('token_hash', fields.CharField(max_length=64)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('stopped_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'watchchannel', 'app': 'models', 'indexes': [Index(fields=['external_calendar_id', 'expires_at'])], 'pk_attr': 'id', 'table_description': 'One push channel of one calendar (terms above).'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='ExternalCalendar',
            name='watch_claimed_until',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
