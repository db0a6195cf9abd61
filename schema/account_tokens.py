"""GraphQL types of the mailed account links: verifying an address, resetting a password, changing the address."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.errors import NotAuthorized, TooManyAttempts, ValidationError
from schema.types import User


@strawberry.input(description="The token of a link from account mail (the `token` of the account page's address).")
class AccountTokenInput:
    token: str


@strawberry.input(description="The address of the account whose password was forgotten.")
class RequestPasswordResetInput:
    email: str


@strawberry.input(description="A password-reset link's token and the new password (as strong as sign-up asks).")
class ResetPasswordInput:
    token: str
    new_password: str


@strawberry.input(description="The address the viewer's account should have. An account with a password confirms "
                              "with it; one that signs in only with a provider leaves it out.")
class RequestEmailChangeInput:
    new_email: str
    password: str | None = None


@strawberry.type(description="A link to confirm the new address is on its way there; until it is opened the account "
                             "keeps its address.")
class RequestEmailChangePayload:
    sent: bool


@strawberry.type(description="A verification link is on its way to the viewer's address.")
class ResendVerificationPayload:
    sent: bool


@strawberry.type(description="The same answer whether or not an account has the address: if one has, a link to "
                             "reset its password is on its way there.")
class RequestPasswordResetPayload:
    accepted: bool


@strawberry.type(description="The password is changed, and every session of the account is signed out.")
class ResetPasswordPayload:
    password_reset: bool


VerifyEmailResult = Annotated[User | ValidationError | TooManyAttempts, strawberry.union("VerifyEmailResult")]
ResendVerificationResult = Annotated[ResendVerificationPayload | ValidationError | NotAuthorized | TooManyAttempts,
                                     strawberry.union("ResendVerificationResult")]
RequestPasswordResetResult = Annotated[RequestPasswordResetPayload | ValidationError | TooManyAttempts,
                                       strawberry.union("RequestPasswordResetResult")]
ResetPasswordResult = Annotated[ResetPasswordPayload | ValidationError | TooManyAttempts,
                                strawberry.union("ResetPasswordResult")]
RequestEmailChangeResult = Annotated[RequestEmailChangePayload | ValidationError | NotAuthorized | TooManyAttempts,
                                     strawberry.union("RequestEmailChangeResult")]
ConfirmEmailChangeResult = Annotated[User | ValidationError | TooManyAttempts,
                                     strawberry.union("ConfirmEmailChangeResult")]
