"""The transactional outbox: changes that must reach calendars, written in the same transaction as the change."""

from tortoise import fields
from tortoise.models import Model


class OutboxEntry(Model):
    """One change to deliver. `topic` names what happened ("booking.created", "booking.rescheduled",
    "booking.cancelled"); `payload` carries the IDs and the version the change produced, never objects or secrets.
    The dispatcher decides which connections a change affects when it drains the row, so a calendar connected
    after the change still receives it."""

    id = fields.BigIntField(primary_key=True)
    topic = fields.CharField(max_length=64)
    aggregate_id = fields.IntField()
    payload: fields.JSONField[dict[str, object]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)
    available_at = fields.DatetimeField(auto_now_add=True)
    attempts = fields.IntField(default=0)
    processed_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(default="")

    class Meta:
        indexes = (("processed_at", "available_at"),)
