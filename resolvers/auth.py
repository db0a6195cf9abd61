"""Sign-up, sign-in, token refresh, sign-out, staff invitations and the viewer."""

from __future__ import annotations

from strawberry.types import Info

from models import User as UserModel, UserRole
from resolvers.errors import typed_errors
from resolvers.permissions import AllowAny, IsSignedIn, permission, viewer_of
from schema.inputs import AcceptStaffInviteInput, RefreshTokenInput, SignInInput, SignUpInput
from schema.payloads import AuthPayload, AuthResult, SignOutPayload, SignOutResult
from schema.types import User
from services import account_tokens, auth
from services.auth import TokenPair


def _payload(pair: TokenPair) -> AuthPayload:
    return AuthPayload(access_token=pair.access_token, access_token_expires_at=pair.access_expires_at,
                       refresh_token=pair.refresh_token, refresh_token_expires_at=pair.refresh_expires_at,
                       user=User.from_model(pair.user))


@permission(AllowAny())
@typed_errors
async def sign_up(input: SignUpInput, info: Info) -> AuthResult:
    pair = await account_tokens.sign_up_with_password(input.email, input.password, input.name,
                                                      UserRole(input.role.value), info.context.accounts,
                                                      info.context.client_address)
    return _payload(pair)


@permission(AllowAny())
@typed_errors
async def sign_in(input: SignInInput, info: Info) -> AuthResult:
    return _payload(await auth.sign_in(input.email, input.password, info.context.accounts,
                                        info.context.client_address))


@permission(AllowAny())
@typed_errors
async def refresh_token(input: RefreshTokenInput, info: Info) -> AuthResult:
    return _payload(await auth.refresh(input.refresh_token, info.context.accounts, info.context.client_address))


@permission(AllowAny())
@typed_errors
async def sign_out(input: RefreshTokenInput, info: Info) -> SignOutResult:
    await auth.sign_out(input.refresh_token)
    return SignOutPayload(signed_out=True)


@permission(AllowAny())
@typed_errors
async def accept_staff_invite(input: AcceptStaffInviteInput, info: Info) -> AuthResult:
    return _payload(await auth.accept_staff_invite(input.code, input.password, info.context.accounts,
                                                    info.context.client_address))


async def viewer(info: Info) -> User | None:
    """The signed-in user, or null."""
    if not IsSignedIn().allows(viewer_of(info)):
        return None
    user = await UserModel.get_or_none(id=viewer_of(info).user_id)
    return User.from_model(user) if user else None


