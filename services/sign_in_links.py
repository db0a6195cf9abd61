"""A signed-in user's ways to sign in: link a provider's identity (by a phone's token or the web flow's link code),
unlink one while another way stays, and add a password to an account that has none.

Linking is how an identity joins an account that signing in alone may not join (domain.sign_in): whoever links is
already signed in to the account. One identity per provider per account; an identity linked to another account
stays there. Each mutation goes through the attempt throttle, per client address and per account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.sign_in import VerifiedIdentity, may_unlink
from models import SignInIdentity, User
from services.auth import AccountSecurity, Viewer
from services.credentials import CredentialVault
from services.errors import InvalidInputError, NotAuthorizedError, NotFoundError, ServiceError
from services.passwords import check_new_password
from services.sign_in import SignInGateway, new_identity, record_profile, vouched
from services.sign_in_web import take_code
from services.throttle import Attempt


class IdentityTakenError(ServiceError):
    def __init__(self, label: str) -> None:
        super().__init__(f"This {label} account signs in to another Lockstep account. Sign in with it and unlink it "
                         "there first.")


class LastSignInMethodError(ServiceError):
    def __init__(self, label: str) -> None:
        super().__init__(f"{label} is the only way to sign in to this account. Set a password or link another "
                         "provider first.")


@dataclass(frozen=True)
class SignInMethods:
    user: User
    identities: tuple[SignInIdentity, ...]

    @property
    def has_password(self) -> bool:
        return self.user.has_password


async def sign_in_methods(user_id: int) -> SignInMethods:
    user = await User.get(id=user_id)
    identities = await SignInIdentity.filter(user_id=user_id).order_by("provider", "id")
    return SignInMethods(user, tuple(identities))


def _signed_in(viewer: Viewer) -> int:
    if viewer.user_id is None:
        raise NotAuthorizedError("Sign in first")
    return viewer.user_id


def _attempt(action: str, client: str, user_id: int) -> Attempt:
    return Attempt(action, client, account=f"user:{user_id}")


async def _attach(user_id: int, identity: VerifiedIdentity, label: str, now: datetime) -> None:
    async with in_transaction():
        user = await User.filter(id=user_id).select_for_update().get()
        found = await SignInIdentity.get_or_none(provider=identity.provider, subject=identity.subject)
        if found is not None and found.user_id != user_id:
            raise IdentityTakenError(label)
        if found is not None:
            await record_profile(found, identity, now)
            return
        if await SignInIdentity.exists(user_id=user_id, provider=identity.provider):
            raise InvalidInputError(["input", "provider"], f"Another {label} account is linked already; unlink it "
                                                           "first")
        await new_identity(user, identity, now)
        if identity.email_authoritative and identity.email == user.email and user.email_verified_at is None:
            # The provider owns this very address, and its holder just proved they hold the account too.
            user.email_verified_at = now
            await user.save(update_fields=["email_verified_at"])


async def _attached(user_id: int, identity: VerifiedIdentity, label: str, now: datetime) -> SignInMethods:
    try:
        await _attach(user_id, identity, label, now)
    except IntegrityError:
        raise IdentityTakenError(label) from None
    return await sign_in_methods(user_id)


async def link_with_token(viewer: Viewer, gateway: SignInGateway, token: str, security: AccountSecurity,
                          client: str, now: datetime) -> SignInMethods:
    """Link the identity a phone's token vouches for to the viewer's account."""
    user_id = _signed_in(viewer)
    async with security.throttle.attempt(_attempt("link_sign_in_provider", client, user_id)):
        identity = await vouched(gateway.verify_token(token), gateway.label)
        return await _attached(user_id, identity, gateway.label, now)


async def link_with_code(viewer: Viewer, provider: str, label: str, code: str, security: AccountSecurity,
                         client: str, vault: CredentialVault, now: datetime) -> SignInMethods:
    """Link the identity the web flow held under the viewer's own link code."""
    user_id = _signed_in(viewer)
    async with security.throttle.attempt(_attempt("link_sign_in_provider", client, user_id)):
        identity = await take_code(code, provider, user_id, vault, now)
        return await _attached(user_id, identity, label, now)


async def unlink(viewer: Viewer, provider: str, label: str, security: AccountSecurity, client: str
                 ) -> SignInMethods:
    """Remove the viewer's identity at `provider`, unless it is the account's last way to sign in."""
    user_id = _signed_in(viewer)
    async with security.throttle.attempt(_attempt("unlink_sign_in_provider", client, user_id)), in_transaction():
        user = await User.filter(id=user_id).select_for_update().get()
        found = await SignInIdentity.get_or_none(user_id=user_id, provider=provider)
        if found is None:
            raise NotFoundError(f"Linked {label} account", ["input", "provider"])
        if not may_unlink(user.has_password, await SignInIdentity.filter(user_id=user_id).count()):
            raise LastSignInMethodError(label)
        await found.delete()
    return await sign_in_methods(user_id)


async def set_password(viewer: Viewer, password: str, security: AccountSecurity, client: str) -> SignInMethods:
    """Give an account that signs in only with providers a password (as strong as sign-up asks)."""
    user_id = _signed_in(viewer)
    async with security.throttle.attempt(_attempt("set_password", client, user_id)):
        user = await User.get(id=user_id)
        if user.has_password:
            raise InvalidInputError(["input", "password"], "This account has a password already")
        password_hash = await check_new_password(security.passwords, password, user.email, user.name,
                                                 ["input", "password"])
        # Only one of two concurrent requests sets it: the other finds a password there.
        if await User.filter(id=user_id, password_hash="").update(password_hash=password_hash) != 1:
            raise InvalidInputError(["input", "password"], "This account has a password already")
    return await sign_in_methods(user_id)
