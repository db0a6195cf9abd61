"""Whether an appointment provider's account is connected organization-wide."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0022_appointment_hosts')]

    initial = False

    operations = [
        ops.AddField(
            model_name='CalendarConnection',
            name='account_scope',
            field=fields.CharField(default='', max_length=16),
        ),
    ]
