"""Types of signing in with a provider's account (Google, Facebook): inputs, the viewer's ways to sign in, typed
errors and the result unions."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from models import SignInIdentity as SignInIdentityModel
from schema.errors import AuthenticationFailed, NotAuthorized, NotFound, TooManyAttempts, UserError, ValidationError
from schema.payloads import AuthPayload


@strawberry.enum(description="A provider whose accounts can sign in to Lockstep.")
class SignInProvider(Enum):
    GOOGLE = "google"
    FACEBOOK = "facebook"

    @property
    def label(self) -> str:
        return self.name.title()


@strawberry.enum
class SignInPurpose(Enum):
    SIGN_IN = "sign_in"
    LINK = "link"


@strawberry.input(description="Begin signing in on the web: open `authorizationUrl`; the browser comes back to "
                              "`returnUrl` with `signIn=verified&code=...` (or `signIn=failed&error=...`).")
class StartSignInInput:
    provider: SignInProvider
    return_url: str = strawberry.field(description="Must be on the server's sign-in allow-list")
    purpose: SignInPurpose = strawberry.field(
        default=SignInPurpose.SIGN_IN,
        description="LINK (signed in only): the code the return URL receives is for linkSignInProvider")


@strawberry.input
class ExchangeSignInCodeInput:
    code: str = strawberry.field(description="The `code` the return URL received (single use, 10 minutes)")


@strawberry.input(description="A phone's sign-in: the token the provider's SDK gave the app.")
class SignInWithProviderTokenInput:
    provider: SignInProvider
    token: str = strawberry.field(description="Google: an ID token for the server's web client id. Facebook: a "
                                              "user access token.")


@strawberry.input(description="Link a provider's account to the signed-in account: give exactly one of `token` "
                              "(a phone: the SDK's token, as for signInWithProviderToken) and `code` (the web: the "
                              "code a startSignIn with purpose LINK sent to the return URL).")
class LinkSignInProviderInput:
    provider: SignInProvider
    token: str | None = None
    code: str | None = None


@strawberry.input
class UnlinkSignInProviderInput:
    provider: SignInProvider


@strawberry.input
class SetPasswordInput:
    password: str


@strawberry.type
class SignInAuthorization:
    authorization_url: str
    expires_at: datetime


@strawberry.type(description="A provider's account linked to the viewer's, with the profile it gave at its last "
                             "sign-in.")
class LinkedSignInIdentity:
    provider: SignInProvider
    email: str | None
    first_name: str
    last_name: str
    photo_url: str | None
    linked_at: datetime
    last_sign_in_at: datetime | None

    @classmethod
    def from_model(cls, row: SignInIdentityModel) -> LinkedSignInIdentity:
        return cls(provider=SignInProvider(row.provider), email=row.email or None, first_name=row.first_name,
                   last_name=row.last_name, photo_url=row.photo_url, linked_at=row.created_at,
                   last_sign_in_at=row.last_sign_in_at)


@strawberry.type(description="How the viewer can sign in: a password, and the providers linked.")
class SignInMethods:
    has_password: bool
    email_verified: bool
    identities: list[LinkedSignInIdentity]


@strawberry.type(description="Signing in with this provider is not set up on this server, or the provider could "
                             "not be reached; nothing was changed.")
class SignInProviderUnavailable(UserError):
    pass


@strawberry.type(description="The provider shared no email address and a new account needs one; nothing was "
                             "created. Sign in with the provider again and allow the email address.")
class SignInEmailRequired(UserError):
    pass


@strawberry.type(description="An account with this email address exists and the provider's account may not join "
                             "it by itself; nothing was changed. Sign in to that account (with its password when "
                             "`passwordFirst`), then call linkSignInProvider.")
class SignInLinkRequired(UserError):
    password_first: bool


@strawberry.type(description="This provider account already signs in to another Lockstep account; nothing changed.")
class SignInIdentityTaken(UserError):
    pass


@strawberry.type(description="It is the account's last way to sign in; set a password or link another first.")
class LastSignInMethod(UserError):
    pass


StartSignInResult = Annotated[SignInAuthorization | ValidationError | NotAuthorized | SignInProviderUnavailable,
                              strawberry.union("StartSignInResult")]
ProviderSignInResult = Annotated[
    AuthPayload | AuthenticationFailed | TooManyAttempts | ValidationError | SignInProviderUnavailable
    | SignInEmailRequired | SignInLinkRequired, strawberry.union("ProviderSignInResult")]
SignInMethodsResult = Annotated[
    SignInMethods | ValidationError | NotAuthorized | NotFound | AuthenticationFailed | TooManyAttempts
    | SignInProviderUnavailable | SignInIdentityTaken | LastSignInMethod, strawberry.union("SignInMethodsResult")]
