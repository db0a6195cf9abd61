"""Pending OAuth authorisations of calendar connections."""

from tortoise import fields
from tortoise.models import Model

from models.accounts import User
from models.businesses import Staff
from models.calendars import Provider


class OAuthState(Model):
    """One "connect your calendar" authorisation in flight, kept server-side so that a phone whose browser is not the
    app still completes it. `state_hash` is the SHA-256 of the state parameter (the parameter itself is never stored);
    `code_verifier` is the PKCE verifier, sealed by the credential vault. Single use (`used_at`), and void after
    `expires_at`.

    Once the provider has granted access, the account it gave (tokens included) waits here sealed in
    `granted_account` until the user who started confirms it with the one-time code whose SHA-256 is
    `confirmation_hash`, before `confirm_by`; `confirmed_at` marks it used, and the sealed account is then erased."""

    id = fields.IntField(primary_key=True)
    state_hash = fields.CharField(max_length=64, unique=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField("models.User", related_name="oauth_states")
    user_id: int
    staff: fields.ForeignKeyRelation[Staff] = fields.ForeignKeyField("models.Staff", related_name="oauth_states")
    staff_id: int
    provider = fields.CharEnumField(Provider, max_length=16)
    code_verifier = fields.TextField()
    return_url = fields.CharField(max_length=2000)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    granted_account = fields.TextField(null=True)
    confirmation_hash = fields.CharField(max_length=64, unique=True, null=True)
    confirm_by = fields.DatetimeField(null=True)
    confirmed_at = fields.DatetimeField(null=True)
