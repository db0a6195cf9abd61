"""Who gets a booking that names no staff member: each service's assignment policy, its staff's priorities, and
indexes over a staff member's bookings of one service (their load in a week, their last assignment)."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from domain.assignment import AssignmentPolicy
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0024_duplicate_events')]

    initial = False

    operations = [
        ops.CreateModel(
            name='StaffPriority',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('service', fields.ForeignKeyField('models.Service', source_field='service_id', db_constraint=True, to_field='id', related_name='staff_priorities', on_delete=OnDelete.CASCADE)),
                ('staff', fields.ForeignKeyField('models.Staff', source_field='staff_id', db_constraint=True, to_field='id', related_name='priorities', on_delete=OnDelete.CASCADE)),
                ('priority', fields.SmallIntField(default=0)),
            ],
            options={'table': 'staffpriority', 'app': 'models', 'unique_together': (('service', 'staff'),), 'pk_attr': 'id', 'table_description': 'How strongly a service prefers one of the staff performing it, for its PRIORITY assignment policy: higher is'},
            bases=['Model'],
        ),
        ops.AddIndex(
            model_name='Booking',
            index=Index(fields=['service_id', 'staff_id', 'status', 'starts_at']),
        ),
        ops.AddIndex(
            model_name='Booking',
            index=Index(fields=['service_id', 'staff_id', 'status', 'id']),
        ),
        ops.AddField(
            model_name='Service',
            name='assignment_policy',
            field=fields.CharEnumField(default=AssignmentPolicy.FIRST_AVAILABLE, description='FIRST_AVAILABLE: first_available\nROUND_ROBIN: round_robin\nBALANCED: balanced\nPRIORITY: priority', enum_type=AssignmentPolicy, max_length=16),
        ),
    ]
