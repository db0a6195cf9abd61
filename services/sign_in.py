"""Signing in with a provider's account: a phone's token, or the web flow's one-time code, becomes the usual token
pair of the account the identity belongs to (domain.sign_in says which account that is, and when none may be).

Terms:
- *gateway*: talks to one sign-in provider (consent URL, code exchange, token check); services may not call
  providers, so the app hands one per configured provider (by provider name) to the resolvers.
- *sign-in code*: what the web flow's callback gives the return URL instead of tokens: random, single use, valid
  CODE_LIFETIME, stored only as its hash (services.sign_in_web).
Every attempt goes through the attempt throttle, like password sign-in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Mapping
from datetime import datetime
from typing import Protocol, TypeVar

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.sign_in import (
    ExistingAccount,
    IdentityRejected,
    ProviderUnreachable,
    SignInOutcome,
    VerifiedIdentity,
    sign_in_outcome,
)
from models import SignInIdentity, User, UserRole
from services.auth import AccountSecurity, TokenPair, issue_tokens, normalise_email
from services.errors import AuthenticationError, InvalidInputError, ServiceError
from services.throttle import Attempt

T = TypeVar("T")


class SignInGateway(Protocol):
    provider: str  # the provider's name, as identities store it
    label: str  # its name for people ("Google")

    async def authorization_url(self, state: str, code_verifier: str, nonce: str) -> str:
        """The provider's consent page for this state (PKCE S256 from `code_verifier`; OpenID's `nonce`)."""
        ...

    async def finish(self, code: str, code_verifier: str, nonce: str) -> VerifiedIdentity:
        """Trade the web flow's code for the identity; IdentityRejected or ProviderUnreachable when it fails."""
        ...

    async def verify_token(self, token: str) -> VerifiedIdentity:
        """The identity a phone's token (Google ID token, Facebook access token) vouches for."""
        ...


class SignInUnavailableError(ServiceError):
    """The provider is not configured on this server, or could not be asked just now."""


class EmailRequiredError(ServiceError):
    def __init__(self, label: str, declined: bool) -> None:
        why = "you chose not to share your email address" if declined else "it shared no email address"
        super().__init__(f"{label} signed you in, but {why}. A new account needs one: sign in with {label} again "
                         "and allow your email address, or sign up with an email and a password.")


class LinkRequiredError(ServiceError):
    """An account already holds the identity's email and may not be joined automatically; `password_first`: it is a
    password account whose address is not verified yet."""

    def __init__(self, label: str, password_first: bool) -> None:
        if password_first:
            message = (f"An account with this email address already exists and its address is not verified. Sign "
                       f"in with your password, then link {label} from your account.")
        else:
            message = (f"An account with this email address already exists. Sign in to it the way you did before, "
                       f"then link {label} from your account.")
        super().__init__(message)
        self.password_first = password_first


def gateway_for(gateways: Mapping[str, SignInGateway], provider: str, label: str) -> SignInGateway:
    """The configured gateway of `provider`; SignInUnavailableError when this server has none."""
    found = gateways.get(provider)
    if found is None:
        raise SignInUnavailableError(f"Signing in with {label} is not set up on this server")
    return found


async def vouched(check: Awaitable[T], label: str) -> T:
    """The provider's answer; a rejection is an AuthenticationError (counted by the throttle), an outage says so."""
    try:
        return await check
    except IdentityRejected as exc:
        raise AuthenticationError(f"{label} did not confirm this sign-in: {exc}") from None
    except ProviderUnreachable:
        raise SignInUnavailableError(f"{label} could not be reached; try again in a moment") from None


def _email(identity: VerifiedIdentity) -> str:
    try:
        return normalise_email(identity.email, ["input", "token"]) if identity.email else ""
    except InvalidInputError:
        return ""


def _display_name(identity: VerifiedIdentity, email: str) -> str:
    return f"{identity.first_name} {identity.last_name}".strip()[:200] or email.partition("@")[0]


def _photo(identity: VerifiedIdentity) -> str | None:
    return identity.photo_url[:2000] if identity.photo_url else None


async def record_profile(row: SignInIdentity, identity: VerifiedIdentity, now: datetime) -> None:
    """Keep what the provider said at this sign-in."""
    row.email, row.first_name, row.last_name = _email(identity), identity.first_name[:200], identity.last_name[:200]
    row.photo_url, row.last_sign_in_at = _photo(identity), now
    await row.save(update_fields=["email", "first_name", "last_name", "photo_url", "last_sign_in_at"])


async def new_identity(user: User, identity: VerifiedIdentity, now: datetime) -> SignInIdentity:
    return await SignInIdentity.create(
        user=user, provider=identity.provider, subject=identity.subject, email=_email(identity),
        first_name=identity.first_name[:200], last_name=identity.last_name[:200],
        photo_url=_photo(identity), last_sign_in_at=now)


async def _decided(identity: VerifiedIdentity, label: str, now: datetime) -> User:
    async with in_transaction():
        known = await SignInIdentity.get_or_none(provider=identity.provider, subject=identity.subject
                                                 ).select_related("user")
        email = _email(identity)
        holder = await User.get_or_none(email=email) if known is None and email else None
        account = None if holder is None else ExistingAccount(holder.email_verified_at is not None,
                                                              holder.has_password)
        outcome = sign_in_outcome(known is not None, dataclasses.replace(identity, email=email), account)
        if outcome is SignInOutcome.SIGN_IN:
            assert known is not None
            await record_profile(known, identity, now)
            return known.user
        if outcome is SignInOutcome.EMAIL_REQUIRED:
            raise EmailRequiredError(label, identity.email_declined)
        if outcome in (SignInOutcome.SIGN_IN_WITH_PASSWORD_FIRST, SignInOutcome.LINK_REQUIRED):
            raise LinkRequiredError(label, outcome is SignInOutcome.SIGN_IN_WITH_PASSWORD_FIRST)
        if outcome is SignInOutcome.LINK_AUTOMATICALLY:
            assert holder is not None
            await new_identity(holder, identity, now)
            return holder
        user = await User.create(email=email, name=_display_name(identity, email), password_hash="",
                                 role=UserRole.CUSTOMER,
                                 email_verified_at=now if identity.email_authoritative else None)
        await new_identity(user, identity, now)
        return user


async def account_of(identity: VerifiedIdentity, label: str, now: datetime) -> User:
    """The account `identity` signs in to: its own, one it may join, or a new customer account."""
    try:
        return await _decided(identity, label, now)
    except IntegrityError:
        # Another request created the identity (or an account of its email) at the same moment: decide again.
        return await _decided(identity, label, now)


async def sign_in_with_token(gateway: SignInGateway, token: str, security: AccountSecurity, client: str,
                             now: datetime) -> TokenPair:
    """A phone's provider token, checked with the provider, as the account's token pair."""
    async with security.throttle.attempt(Attempt("sign_in_with_provider_token", client)):
        identity = await vouched(gateway.verify_token(token), gateway.label)
        return await issue_tokens(await account_of(identity, gateway.label, now), security.tokens)
