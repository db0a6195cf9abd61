"""The mail outbox (mail owed to people, claimed by the scheduler by state and due time), each user's mail
preferences, and a reminder lead time per service (24 hours unless set)."""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.mail import MailState
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0015_refresh_lock')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MailOutbox',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(max_length=32)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name='mail', on_delete=OnDelete.CASCADE)),
                ('address', fields.CharField(default='', max_length=254)),
                ('booking_id', fields.IntField(null=True)),
                ('data', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('state', fields.CharEnumField(default=MailState.PENDING, description='PENDING: pending\nSENT: sent\nFAILED: failed\nDROPPED: dropped', enum_type=MailState, max_length=16)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
                ('last_error', fields.CharField(default='', max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'mailoutbox', 'app': 'models', 'indexes': [Index(fields=['state', 'next_attempt_at']), Index(fields=['booking_id', 'kind'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MailPreference',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='mail_preferences', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=32)),
                ('enabled', fields.BooleanField(default=True)),
            ],
            options={'table': 'mailpreference', 'app': 'models', 'unique_together': (('user', 'kind'),), 'pk_attr': 'id', 'table_description': "A user's choice for one kind of mail. No row: the kind is on."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Service',
            name='reminder_hours',
            field=fields.IntField(default=24),
        ),
    ]
