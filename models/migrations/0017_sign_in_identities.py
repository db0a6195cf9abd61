"""Customer sign-in with Google and Facebook: the identities linked to accounts, the web sign-ins in flight, and when an
account's email address was verified."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0016_mail_outbox')]

    initial = False

    operations = [
        ops.CreateModel(
            name='SignInIdentity',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='sign_in_identities', on_delete=OnDelete.CASCADE)),
                ('provider', fields.CharField(max_length=16)),
                ('subject', fields.CharField(max_length=255)),
                ('email', fields.CharField(default='', max_length=254)),
                ('first_name', fields.CharField(default='', max_length=200)),
                ('last_name', fields.CharField(default='', max_length=200)),
                ('photo_url', fields.CharField(null=True, max_length=2000)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_sign_in_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'signinidentity', 'app': 'models', 'unique_together': (('provider', 'subject'),), 'pk_attr': 'id', 'table_description': 'One provider account (Google, Facebook) that signs in to a Lockstep account, found by (`provider`,'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SignInState',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('state_hash', fields.CharField(unique=True, max_length=64)),
                ('provider', fields.CharField(max_length=16)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name='sign_in_states', on_delete=OnDelete.CASCADE)),
                ('secrets', fields.TextField(unique=False)),
                ('return_url', fields.CharField(max_length=2000)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('identity', fields.TextField(null=True, unique=False)),
                ('code_hash', fields.CharField(null=True, unique=True, max_length=64)),
                ('code_expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('exchanged_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'signinstate', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One web sign-in (or link) in flight, kept server-side so that it completes in whichever browser the phone'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='User',
            name='email_verified_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
