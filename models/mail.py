"""Mail owed to people: the mail outbox, and each user's choice of which kinds of mail they want.

Terms:
- *mail row*: one message to one recipient, written in the transaction of the change it tells of. `kind` is a
  domain.mail.MailKind value; `data` holds what the message says, as it was when the change committed (IDs, names,
  times in ISO 8601), never a secret.
- *recipient*: a user (`user`, whose preferences apply and whose address is read when the mail is sent) or, for a
  customer without an account, an address alone (`address`).
- *due*: `next_attempt_at` has passed. A reminder is written with its send time; every other mail is due at once. The
  scheduler's claim moves `next_attempt_at` a lease ahead, and a failed try moves it by the retry schedule.
"""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from models.accounts import User


class MailState(StrEnum):
    PENDING = "pending"  # to be sent when due (also while a try is leased to a job)
    SENT = "sent"
    FAILED = "failed"  # the server refused the recipient or the message, or it stayed unreachable past a day
    DROPPED = "dropped"  # no longer owed: its reminder's booking moved or was cancelled, or the kind was turned off


class MailOutbox(Model):
    id = fields.IntField(primary_key=True)
    kind = fields.CharField(max_length=32)
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="mail", null=True)
    user_id: int | None
    address = fields.CharField(max_length=254, default="")
    # The booking a reminder (or another booking mail) is about: a move or a cancel finds its reminder by it.
    booking_id = fields.IntField(null=True)
    data: fields.JSONField[dict[str, object]] = fields.JSONField(default=dict)
    state = fields.CharEnumField(MailState, max_length=16, default=MailState.PENDING)
    next_attempt_at = fields.DatetimeField()
    attempts = fields.IntField(default=0)
    last_error = fields.CharField(max_length=500, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "mailoutbox"
        # The scheduler's claim is a range over this index (state first, then when due); reminders by booking.
        indexes = (("state", "next_attempt_at"), ("booking_id", "kind"))


class MailPreference(Model):
    """A user's choice for one kind of mail. No row: the kind is on."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField("models.User", related_name="mail_preferences")
    user_id: int
    kind = fields.CharField(max_length=32)
    enabled = fields.BooleanField(default=True)

    class Meta:
        table = "mailpreference"
        unique_together = (("user", "kind"),)
