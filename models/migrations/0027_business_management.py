"""Managing a business: its public slug and logo, staff photos and whether a staff member is active, and a
service's price, description, image and archiving."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0026_calendar_feeds')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Business',
            name='logo_url',
            field=fields.CharField(default='', max_length=2000),
        ),
        ops.AddField(
            model_name='Business',
            name='slug',
            field=fields.CharField(null=True, unique=True, max_length=63),
        ),
        ops.AddField(
            model_name='Service',
            name='archived_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Service',
            name='currency',
            field=fields.CharField(default='', max_length=3),
        ),
        ops.AddField(
            model_name='Service',
            name='description',
            field=fields.TextField(default='', unique=False),
        ),
        ops.AddField(
            model_name='Service',
            name='image_url',
            field=fields.CharField(default='', max_length=2000),
        ),
        ops.AddField(
            model_name='Service',
            name='price_minor',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Staff',
            name='active',
            field=fields.BooleanField(default=True),
        ),
        ops.AddField(
            model_name='Staff',
            name='photo_url',
            field=fields.CharField(default='', max_length=2000),
        ),
    ]
