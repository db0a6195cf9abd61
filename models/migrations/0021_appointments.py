"""Appointments made at an appointment provider: event types and their services, each appointment and its holder,
the deliveries waiting to be applied; and where a booking was made, and why it was cancelled."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0020_business_contact')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Booking',
            name='source',
            field=fields.CharField(default='lockstep', max_length=16),
        ),
        ops.AddField(
            model_name='Booking',
            name='cancel_reason',
            field=fields.CharField(default='', max_length=500),
        ),
        ops.CreateModel(
            name='AppointmentType',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('connection', fields.ForeignKeyField('models.CalendarConnection', source_field='connection_id', db_constraint=True, to_field='id', related_name='appointment_types', on_delete=OnDelete.CASCADE)),
                ('type_uri', fields.CharField(max_length=500)),
                ('name', fields.CharField(max_length=200)),
                ('duration_minutes', fields.IntField(default=0)),
                ('active', fields.BooleanField(default=True)),
                ('service', fields.ForeignKeyField('models.Service', source_field='service_id', null=True, db_constraint=True, to_field='id', related_name='appointment_types', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'appointmenttype', 'app': 'models', 'unique_together': (('connection', 'type_uri'),), 'pk_attr': 'id', 'table_description': 'One event type of the account, and the service its appointments are booked as (none: they are busy blocks).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ImportedAppointment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('external_calendar', fields.ForeignKeyField('models.ExternalCalendar', source_field='external_calendar_id', db_constraint=True, to_field='id', related_name='appointments', on_delete=OnDelete.CASCADE)),
                ('event_uri', fields.CharField(max_length=500)),
                ('invitee_uri', fields.CharField(default='', max_length=500)),
                ('event_type_uri', fields.CharField(default='', max_length=500)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('active', fields.BooleanField(default=True)),
                ('successor', fields.CharField(default='', max_length=500)),
                ('remote_updated_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('booking', fields.ForeignKeyField('models.Booking', source_field='booking_id', null=True, db_constraint=True, to_field='id', related_name='appointments', on_delete=OnDelete.SET_NULL)),
                ('busy_block', fields.ForeignKeyField('models.BusyBlock', source_field='busy_block_id', null=True, db_constraint=True, to_field='id', related_name='appointments', on_delete=OnDelete.SET_NULL)),
                ('reschedule_url', fields.CharField(default='', max_length=1000)),
                ('cancel_url', fields.CharField(default='', max_length=1000)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'importedappointment', 'app': 'models', 'unique_together': (('external_calendar', 'event_uri'),), 'pk_attr': 'id', 'table_description': 'What Lockstep knows of one appointment (domain.appointments.KnownAppointment) and its holder. A row without a'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AppointmentDelivery',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('external_calendar', fields.ForeignKeyField('models.ExternalCalendar', source_field='external_calendar_id', db_constraint=True, to_field='id', related_name='appointment_deliveries', on_delete=OnDelete.CASCADE)),
                ('key', fields.CharField(max_length=64)),
                ('body', fields.TextField()),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('applied_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
            ],
            options={'table': 'appointmentdelivery', 'app': 'models', 'indexes': [Index(fields=['applied_at', 'received_at'])], 'unique_together': (('external_calendar', 'key'),), 'pk_attr': 'id', 'table_description': 'One verified webhook delivery, kept from the moment it is answered until it is applied (so a delivery that'},
            bases=['Model'],
        ),
    ]
