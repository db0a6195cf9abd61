"""People who sign in, and the refresh tokens that keep them signed in."""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class UserRole(StrEnum):
    OWNER = "owner"
    STAFF = "staff"
    CUSTOMER = "customer"


class User(Model):
    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    name = fields.CharField(max_length=200)
    password_hash = fields.CharField(max_length=255)
    role = fields.CharEnumField(UserRole, max_length=16)
    created_at = fields.DatetimeField(auto_now_add=True)
    # When the owner of `email` was known to hold it (a confirmed address, or a provider authoritative for it);
    # None until then. An account with an unverified address is never merged with a provider's identity.
    email_verified_at = fields.DatetimeField(null=True)
    phone = fields.CharField(max_length=40, default="")
    photo_url = fields.CharField(max_length=2000, default="")
    # Set when a customer deleted their account: its personal data is erased and it signs in no more (services.profile).
    deleted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "user_account"

    @property
    def has_password(self) -> bool:
        """An account made by signing in with a provider has no password (an empty hash) until one is set."""
        return bool(self.password_hash)


class RefreshToken(Model):
    """One refresh token of a rotation family.

    Only a hash of the token is stored. Using a token replaces it with a new one of the same family; presenting a token
    that was already replaced means it leaked, so the whole family is revoked, unless it comes again within the reuse
    grace from the client address that replaced it (`replaced_from`, a SHA-256 of that address).
    """

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField("models.User", related_name="refresh_tokens")
    token_hash = fields.CharField(max_length=64, unique=True)
    family = fields.CharField(max_length=32, db_index=True)
    expires_at = fields.DatetimeField()
    replaced_at = fields.DatetimeField(null=True)
    replaced_from = fields.CharField(max_length=64, null=True)
    revoked_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
