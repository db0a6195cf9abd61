"""Hosts of an organization's appointments linked by hand to staff members."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0021_appointments')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AppointmentHost',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('connection', fields.ForeignKeyField('models.CalendarConnection', source_field='connection_id', db_constraint=True, to_field='id', related_name='appointment_hosts', on_delete=OnDelete.CASCADE)),
                ('host_uri', fields.CharField(max_length=500)),
                ('staff', fields.ForeignKeyField('models.Staff', source_field='staff_id', db_constraint=True, to_field='id', related_name='appointment_hosts', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'appointmenthost', 'app': 'models', 'unique_together': (('connection', 'host_uri'),), 'pk_attr': 'id', 'table_description': "An organization's Calendly user linked by hand to the staff member whose appointments they host (for an"},
            bases=['Model'],
        ),
    ]
