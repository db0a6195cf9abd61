"""Push channels: a provider's promise to notify Lockstep's webhook when a calendar changes (Google events.watch).

Terms:
- *channel id*: the identifier Lockstep chose for the channel; Google echoes it in every notification.
- *resource id*: Google's identifier of the watched resource; stopping a channel names both ids.
- *channel token*: a random secret given to Google with the channel and echoed in every notification, which proves
  the sender. Only its SHA-256 is kept: enough to check a notification, useless to forge one.
A channel is *live* from creation until it expires or is stopped; a new one is opened before the old one expires.
"""

from tortoise import fields
from tortoise.models import Model

from models.calendars import ExternalCalendar


class WatchChannel(Model):
    """One push channel of one calendar (terms above)."""

    id = fields.IntField(primary_key=True)
    external_calendar: fields.ForeignKeyRelation[ExternalCalendar] = fields.ForeignKeyField(
        "models.ExternalCalendar", related_name="watch_channels"
    )
    external_calendar_id: int
    channel_id = fields.CharField(max_length=64, unique=True)
    resource_id = fields.CharField(max_length=255)
    token_hash = fields.CharField(max_length=64)
    expires_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)
    stopped_at = fields.DatetimeField(null=True)

    class Meta:
        indexes = (("external_calendar_id", "expires_at"),)
