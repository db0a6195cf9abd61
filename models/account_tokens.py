"""Single-use tokens mailed to an account's owner: to verify its address, to reset its password, or to confirm a new
address. Only the SHA-256 of a token is stored; a token is spent once (`used_at`) and is void after `expires_at`."""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from models.accounts import User


class AccountTokenPurpose(StrEnum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"
    CHANGE_EMAIL = "change_email"


class AccountToken(Model):
    """One mailed token of an account. A `change_email` token names the address it confirms (`new_email`)."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField("models.User", related_name="account_tokens")
    user_id: int
    purpose = fields.CharEnumField(AccountTokenPurpose, max_length=16)
    token_hash = fields.CharField(max_length=64, unique=True)
    new_email = fields.CharField(max_length=254, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
