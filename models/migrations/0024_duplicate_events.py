"""Linking imported events to bookings and merging duplicates: events retired for the next push to delete,
whether an imported event repeats, and which block or booking a dropped duplicate stands for."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0023_connection_scope')]

    initial = False

    operations = [
        ops.CreateModel(
            name='RetiredEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('mapping', fields.ForeignKeyField('models.EventMapping', source_field='mapping_id', db_constraint=True, to_field='id', related_name='retired_events', on_delete=OnDelete.CASCADE)),
                ('external_calendar', fields.ForeignKeyField('models.ExternalCalendar', source_field='external_calendar_id', db_constraint=True, to_field='id', related_name='retired_events', on_delete=OnDelete.CASCADE)),
                ('external_event_id', fields.CharField(max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'retiredevent', 'app': 'models', 'unique_together': (('external_calendar', 'external_event_id'),), 'pk_attr': 'id', 'table_description': "An event in a calendar that the next push of `mapping` deletes: the booking's earlier event there once another"},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='BusyBlock',
            name='duplicate_of_block',
            field=fields.ForeignKeyField('models.BusyBlock', source_field='duplicate_of_block_id', null=True, db_constraint=True, to_field='id', related_name='dropped_duplicates', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='BusyBlock',
            name='duplicate_of_booking',
            field=fields.ForeignKeyField('models.Booking', source_field='duplicate_of_booking_id', null=True, db_constraint=True, to_field='id', related_name='dropped_duplicates', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='BusyBlock',
            name='recurring',
            field=fields.BooleanField(null=True),
        ),
        ops.AddIndex(
            model_name='EventMapping',
            index=Index(fields=['external_calendar_id', 'external_event_id']),
        ),
    ]
