"""Customer sign-in with a provider's account: the identities linked to accounts, and the web sign-ins in flight."""

from tortoise import fields
from tortoise.models import Model

from models.accounts import User


class SignInIdentity(Model):
    """One provider account (Google, Facebook) that signs in to a Lockstep account, found by (`provider`,
    `subject`) and never by email. The profile is what the provider said at the last sign-in."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField("models.User", related_name="sign_in_identities")
    user_id: int
    provider = fields.CharField(max_length=16)
    subject = fields.CharField(max_length=255)
    email = fields.CharField(max_length=254, default="")
    first_name = fields.CharField(max_length=200, default="")
    last_name = fields.CharField(max_length=200, default="")
    photo_url = fields.CharField(max_length=2000, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_sign_in_at = fields.DatetimeField(null=True)

    class Meta:
        unique_together = (("provider", "subject"),)


class SignInState(Model):
    """One web sign-in (or link) in flight, kept server-side so that it completes in whichever browser the phone
    opens. `state_hash` is the SHA-256 of the state parameter; `secrets` seals the PKCE verifier and the OpenID nonce.
    Single use (`used_at`), void after `expires_at`. `user` is set when a signed-in user started it to link a
    provider to their account.

    Once the provider vouched for the identity, it waits sealed in `identity` until the one-time code whose SHA-256
    is `code_hash` is exchanged (before `code_expires_at`; `exchanged_at` marks it used, and the identity is erased).
    """

    id = fields.IntField(primary_key=True)
    state_hash = fields.CharField(max_length=64, unique=True)
    provider = fields.CharField(max_length=16)
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="sign_in_states", null=True)
    user_id: int | None
    secrets = fields.TextField()
    return_url = fields.CharField(max_length=2000)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    identity = fields.TextField(null=True)
    code_hash = fields.CharField(max_length=64, unique=True, null=True)
    code_expires_at = fields.DatetimeField(null=True)
    exchanged_at = fields.DatetimeField(null=True)
