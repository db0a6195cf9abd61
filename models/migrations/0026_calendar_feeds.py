"""Calendar feeds: private, revocable feed addresses of staff members, businesses and customers."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from models.calendar_feeds import FeedKind
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0025_staff_assignment')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CalendarFeed',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='STAFF: staff\nBUSINESS: business\nCUSTOMER: customer', enum_type=FeedKind, max_length=16)),
                ('subject_id', fields.IntField()),
                ('business', fields.ForeignKeyField('models.Business', source_field='business_id', null=True, db_constraint=True, to_field='id', related_name='calendar_feeds', on_delete=OnDelete.CASCADE)),
                ('created_by', fields.ForeignKeyField('models.User', source_field='created_by_id', db_constraint=True, to_field='id', related_name='calendar_feeds', on_delete=OnDelete.CASCADE)),
                ('token_digest', fields.CharField(unique=True, max_length=64)),
                ('sealed_token', fields.TextField(default='', unique=False)),
                ('active_key', fields.CharField(null=True, unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'calendarfeed', 'app': 'models', 'indexes': [Index(fields=['kind', 'subject_id'])], 'pk_attr': 'id', 'table_description': 'One feed address of a staff member, a business or a customer. Revoked ones are kept (they answer 404).'},
            bases=['Model'],
        ),
    ]
