"""Mailed account links: verifying the address, resetting a forgotten password (services.account_tokens), and changing
the address (services.email_change)."""

from __future__ import annotations

from strawberry.types import Info

from resolvers.errors import typed_errors
from resolvers.permissions import AllowAny, IsSignedIn, permission, viewer_of
from schema.account_tokens import (
    AccountTokenInput,
    ConfirmEmailChangeResult,
    RequestEmailChangeInput,
    RequestEmailChangePayload,
    RequestEmailChangeResult,
    RequestPasswordResetInput,
    RequestPasswordResetPayload,
    RequestPasswordResetResult,
    ResendVerificationPayload,
    ResendVerificationResult,
    ResetPasswordInput,
    ResetPasswordPayload,
    ResetPasswordResult,
    VerifyEmailResult,
)
from schema.types import User
from services import account_tokens, email_change


@permission(AllowAny())
@typed_errors
async def verify_email(input: AccountTokenInput, info: Info) -> VerifyEmailResult:
    """Verify the address a verification link was sent to; the account it belongs to."""
    return User.from_model(await account_tokens.verify_email(input.token, info.context.accounts,
                                                             info.context.client_address))


@permission(IsSignedIn())
@typed_errors
async def resend_verification(info: Info) -> ResendVerificationResult:
    """Send the viewer's unverified address another verification link."""
    await account_tokens.resend_verification(viewer_of(info), info.context.accounts, info.context.client_address)
    return ResendVerificationPayload(sent=True)


@permission(AllowAny())
@typed_errors
async def request_password_reset(input: RequestPasswordResetInput, info: Info) -> RequestPasswordResetResult:
    """Mail a password-reset link to the account with this address, if any; the answer does not tell."""
    await account_tokens.request_password_reset(input.email, info.context.accounts, info.context.client_address)
    return RequestPasswordResetPayload(accepted=True)


@permission(AllowAny())
@typed_errors
async def reset_password(input: ResetPasswordInput, info: Info) -> ResetPasswordResult:
    """Set a new password with a reset link's token; every session of the account is signed out."""
    await account_tokens.reset_password(input.token, input.new_password, info.context.accounts,
                                        info.context.client_address)
    return ResetPasswordPayload(password_reset=True)


@permission(IsSignedIn())
@typed_errors
async def request_email_change(input: RequestEmailChangeInput, info: Info) -> RequestEmailChangeResult:
    """Mail the new address a link that makes it the viewer's; nothing changes until it is opened."""
    await email_change.request_email_change(viewer_of(info), input.new_email, input.password, info.context.accounts,
                                            info.context.client_address)
    return RequestEmailChangePayload(sent=True)


@permission(AllowAny())
@typed_errors
async def confirm_email_change(input: AccountTokenInput, info: Info) -> ConfirmEmailChangeResult:
    """Make the address a change link was sent to the account's (verified), if no other account has it."""
    return User.from_model(await email_change.confirm_email_change(input.token, info.context.accounts,
                                                                   info.context.client_address))
