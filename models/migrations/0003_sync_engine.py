from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.sync import ConflictStatus, EventMappingState
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0002_booking_no_overlap')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=48)),
                ('message', fields.CharField(max_length=500)),
                ('data', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('read_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notification', 'app': 'models', 'indexes': [Index(fields=['user_id', 'id'])], 'pk_attr': 'id', 'table_description': 'A message for one person (a conflict opened, a connection needs re-authorisation, sync recovered). Stored'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SyncConflict',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('staff', fields.ForeignKeyField('models.Staff', source_field='staff_id', db_constraint=True, to_field='id', related_name='conflicts', on_delete=OnDelete.CASCADE)),
                ('booking', fields.ForeignKeyField('models.Booking', source_field='booking_id', db_constraint=True, to_field='id', related_name='conflicts', on_delete=OnDelete.CASCADE)),
                ('connection', fields.ForeignKeyField('models.CalendarConnection', source_field='connection_id', null=True, db_constraint=True, to_field='id', related_name='conflicts', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=32)),
                ('external_event_id', fields.CharField(default='', max_length=500)),
                ('status', fields.CharEnumField(default=ConflictStatus.OPEN, description='OPEN: open\nSETTLED: settled', enum_type=ConflictStatus, max_length=16)),
                ('resolution', fields.CharField(default='', max_length=32)),
                ('proposed_start', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('proposed_end', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('detail', fields.CharField(default='', max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('settled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('settled_by', fields.ForeignKeyField('models.User', source_field='settled_by_id', null=True, db_constraint=True, to_field='id', related_name='conflicts_settled', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'syncconflict', 'app': 'models', 'indexes': [Index(fields=['staff_id', 'status'])], 'pk_attr': 'id', 'table_description': "A disagreement between a booking and the staff member's calendar. `kind` and `resolution` take the values"},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='BookingSeries',
            name='starts_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='CalendarConnection',
            name='consecutive_failures',
            field=fields.IntField(default=0),
        ),
        ops.AddField(
            model_name='CalendarConnection',
            name='disconnected_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='CalendarConnection',
            name='last_attempt_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='CalendarConnection',
            name='server_type',
            field=fields.CharField(default='', max_length=16),
        ),
        ops.AlterField(
            model_name='EventMapping',
            name='state',
            field=fields.CharEnumField(default=EventMappingState.PENDING, description='SYNCED: synced\nPENDING: pending\nFAILED: failed\nCONFLICT: conflict\nUNLINKED: unlinked', enum_type=EventMappingState, max_length=16),
        ),
        ops.AddField(
            model_name='EventMapping',
            name='attempts',
            field=fields.IntField(default=0),
        ),
        ops.AddField(
            model_name='EventMapping',
            name='next_attempt_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='EventMapping',
            name='written',
            field=fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='ExternalCalendar',
            name='last_pulled_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='ExternalCalendar',
            name='next_pull_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='ExternalCalendar',
            name='primary',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='ExternalCalendar',
            name='window_end',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='ExternalCalendar',
            name='window_start',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='ExternalCalendar',
            name='writable',
            field=fields.BooleanField(default=True),
        ),
        ops.AddField(
            model_name='SyncLogEntry',
            name='detail',
            field=fields.CharField(default='', max_length=500),
        ),
        ops.AddField(
            model_name='SyncLogEntry',
            name='mapping',
            field=fields.ForeignKeyField('models.EventMapping', source_field='mapping_id', null=True, db_constraint=True, to_field='id', related_name='log', on_delete=OnDelete.CASCADE),
        ),
        ops.AddIndex(
            model_name='SyncLogEntry',
            index=Index(fields=['connection_id', 'id']),
        ),
    ]
