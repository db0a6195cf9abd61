"""Customer sign-in with a provider's account (Google, Facebook): what a verified identity is, and the rule that
decides what signing in with one does to Lockstep's accounts.

Terms:
- *identity*: a person's account at a sign-in provider, named by (provider, subject). The subject is the provider's
  stable id (Google's `sub`, Facebook's app-scoped user id); an email is never a key, it may change or be shared.
- *verified identity*: what the provider vouched for once its answer was checked (an ID token against the provider's
  keys, or an access token the provider confirmed was issued to Lockstep's app): the subject and the profile.
- *authoritative email*: the provider owns the address, so whoever holds the identity holds the mailbox (Google for
  `@gmail.com` addresses and verified Workspace addresses). Only then may an identity join an existing account by
  email alone; any other match needs the account's owner to sign in first and link (account pre-hijacking: an
  attacker who registered the victim's address first must never receive the victim's sign-in).
- *verified account*: an account whose address Lockstep knows belongs to its owner (a confirmed email, or an
  authoritative identity). An unverified account is never merged into, whoever asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class VerifiedIdentity:
    """An identity a provider vouched for. `email` is "" when the provider shared none (`email_declined`: the user
    refused to share it, so asking again may help)."""

    provider: str
    subject: str
    email: str
    email_authoritative: bool
    first_name: str
    last_name: str
    photo_url: str | None = None
    email_declined: bool = False


class IdentityRejected(Exception):
    """The provider did not vouch for the token or code (forged, expired, for another app, revoked). The message is
    safe to show and to log: it never holds the token."""


class ProviderUnreachable(Exception):
    """The provider could not be asked (down, timing out, answering nonsense): try again later."""


@dataclass(frozen=True)
class ExistingAccount:
    """The account that already holds the identity's email address, as far as the decision needs it."""

    email_verified: bool
    has_password: bool


class SignInOutcome(StrEnum):
    SIGN_IN = "sign_in"  # the identity is known: its account signs in
    CREATE_ACCOUNT = "create_account"  # a new customer account with this identity
    LINK_AUTOMATICALLY = "link_automatically"  # attach to the account of the same, authoritative, verified email
    EMAIL_REQUIRED = "email_required"  # a new account needs an address the provider did not share
    SIGN_IN_WITH_PASSWORD_FIRST = "sign_in_with_password_first"  # an unverified password account holds the email
    LINK_REQUIRED = "link_required"  # an account holds the email; its owner must sign in and link


def sign_in_outcome(identity_known: bool, identity: VerifiedIdentity, holder: ExistingAccount | None
                    ) -> SignInOutcome:
    """What signing in with `identity` does, given whether it is linked already and which account (if any) holds its
    email address."""
    if identity_known:
        return SignInOutcome.SIGN_IN
    if not identity.email:
        return SignInOutcome.EMAIL_REQUIRED
    if holder is None:
        return SignInOutcome.CREATE_ACCOUNT
    if identity.email_authoritative and holder.email_verified:
        return SignInOutcome.LINK_AUTOMATICALLY
    if holder.has_password and not holder.email_verified:
        return SignInOutcome.SIGN_IN_WITH_PASSWORD_FIRST
    return SignInOutcome.LINK_REQUIRED


def may_unlink(has_password: bool, identities: int) -> bool:
    """Whether one of an account's `identities` may go: only while a way to sign in stays (a password, or another
    identity)."""
    return has_password or identities >= 2
