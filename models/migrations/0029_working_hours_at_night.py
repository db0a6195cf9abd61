"""Working hours may run past midnight: the tables describe an end past 1440 minutes (a night range)."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0028_busy_block_tentative')]

    initial = False

    operations = [
        ops.AlterModelOptions(
            name='ScheduleOverride',
            options={'table': 'scheduleoverride', 'app': 'models', 'unique_together': (('staff', 'date'),), 'pk_attr': 'id', 'table_description': 'A dated exception to the weekly hours: `ranges` (list of [start_minute, end_minute]) replaces the ranges that'},
        ),
        ops.AlterModelOptions(
            name='WorkingHoursRange',
            options={'table': 'workinghoursrange', 'app': 'models', 'indexes': [Index(fields=['staff_id', 'weekday'])], 'pk_attr': 'id', 'table_description': "One weekly range of working time, in minutes since local midnight of the staff member's zone. An end past 1440"},
        ),
    ]
