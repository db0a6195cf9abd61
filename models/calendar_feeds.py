"""Calendar feeds: private, revocable addresses from which a calendar app reads bookings (docs/feeds.md).

Terms:
- *kind* and *subject*: a staff member's feed (their bookings), a business's (every staff member's bookings) or a
  customer's (their own bookings at every business); `subject_id` is that staff member's, business's or user's id.
- *token*: the random secret in the feed's address (`/feeds/{token}.ics`). Only its SHA-256 (`token_digest`) is
  kept to find the feed. A customer's feed also keeps the token sealed with the credential keys (`sealed_token`),
  because every booking mail links to it again; the others show it once, to whoever made the feed.
- *active*: not revoked. `active_key` ("staff:12:7": kind, subject, the user who made it) is set while the feed is
  active and cleared when it is revoked; being unique, it lets each person hold at most one active feed of each
  subject, whatever runs at once.
"""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from models.accounts import User
from models.businesses import Business


class FeedKind(StrEnum):
    STAFF = "staff"
    BUSINESS = "business"
    CUSTOMER = "customer"


class CalendarFeed(Model):
    """One feed address of a staff member, a business or a customer. Revoked ones are kept (they answer 404)."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(FeedKind, max_length=16)
    subject_id = fields.IntField()
    # The business of a staff member's or a business's feed (its rows go with the business); none for a customer's.
    business: fields.ForeignKeyNullableRelation[Business] = fields.ForeignKeyField(
        "models.Business", related_name="calendar_feeds", null=True)
    business_id: int | None
    created_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField("models.User", related_name="calendar_feeds")
    created_by_id: int
    token_digest = fields.CharField(max_length=64, unique=True)
    sealed_token = fields.TextField(default="")
    active_key = fields.CharField(max_length=64, null=True, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "calendarfeed"
        indexes = (("kind", "subject_id"),)
