"""Signing in with Google or Facebook: the web flow's start and code exchange, a phone's token, and the viewer's
ways to sign in (link, unlink, set a password). The callback between start and exchange is an app route."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from strawberry.types import Info

from resolvers.auth import _payload
from resolvers.errors import typed_errors
from resolvers.permissions import AllowAny, IsSignedIn, permission, viewer_of
from schema.errors import NotAuthorized, ValidationError
from schema.sign_in import (
    ExchangeSignInCodeInput,
    LastSignInMethod,
    LinkedSignInIdentity,
    LinkSignInProviderInput,
    ProviderSignInResult,
    SetPasswordInput,
    SignInAuthorization,
    SignInEmailRequired,
    SignInIdentityTaken,
    SignInLinkRequired,
    SignInMethods,
    SignInMethodsResult,
    SignInProvider,
    SignInProviderUnavailable,
    SignInPurpose,
    SignInWithProviderTokenInput,
    StartSignInInput,
    StartSignInResult,
    UnlinkSignInProviderInput,
)
from services import sign_in, sign_in_links, sign_in_web
from services.sign_in import SignInGateway

P = ParamSpec("P")
R = TypeVar("R")


def sign_in_errors(resolver: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """The typed errors of signing in with a provider, then every other typed error (resolvers.errors)."""

    @functools.wraps(resolver)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
        try:
            return await resolver(*args, **kwargs)
        except sign_in.SignInUnavailableError as error:
            return SignInProviderUnavailable(message=error.message)
        except sign_in.EmailRequiredError as error:
            return SignInEmailRequired(message=error.message)
        except sign_in.LinkRequiredError as error:
            return SignInLinkRequired(message=error.message, password_first=error.password_first)
        except sign_in_links.IdentityTakenError as error:
            return SignInIdentityTaken(message=error.message)
        except sign_in_links.LastSignInMethodError as error:
            return LastSignInMethod(message=error.message)

    return typed_errors(wrapper)  # type: ignore[return-value]


def _gateway(info: Info, provider: SignInProvider) -> SignInGateway:
    return sign_in.gateway_for(info.context.sign_in, provider.value, provider.label)


def _methods(found: sign_in_links.SignInMethods) -> SignInMethods:
    return SignInMethods(has_password=found.has_password, email_verified=found.user.email_verified_at is not None,
                         identities=[LinkedSignInIdentity.from_model(row) for row in found.identities])


@permission(AllowAny())
@sign_in_errors
async def start_sign_in(input: StartSignInInput, info: Info) -> StartSignInResult:
    """Begin signing in (or, signed in, linking) with a provider on the web: open the returned URL."""
    linking = input.purpose is SignInPurpose.LINK
    viewer = viewer_of(info)
    if linking and not viewer.signed_in:
        return NotAuthorized(message=viewer.auth_problem or "Sign in first to link another way to sign in")
    start = await sign_in_web.start_sign_in(_gateway(info, input.provider), input.return_url,
                                            info.context.sign_in_return_urls, info.context.vault,
                                            info.context.now(), viewer.user_id if linking else None)
    return SignInAuthorization(authorization_url=start.url, expires_at=start.expires_at)


@permission(AllowAny())
@sign_in_errors
async def exchange_sign_in_code(input: ExchangeSignInCodeInput, info: Info) -> ProviderSignInResult:
    """The web flow's last step: the code the return URL received, for the usual tokens."""
    labels = {provider.value: provider.label for provider in SignInProvider}
    return _payload(await sign_in_web.exchange_sign_in_code(
        input.code, labels, info.context.accounts, info.context.client_address, info.context.vault,
        info.context.now()))


@permission(AllowAny())
@sign_in_errors
async def sign_in_with_provider_token(input: SignInWithProviderTokenInput, info: Info) -> ProviderSignInResult:
    """A phone's sign-in with the token its provider SDK gave it."""
    return _payload(await sign_in.sign_in_with_token(_gateway(info, input.provider), input.token,
                                                     info.context.accounts, info.context.client_address,
                                                     info.context.now()))


@permission(IsSignedIn())
@sign_in_errors
async def link_sign_in_provider(input: LinkSignInProviderInput, info: Info) -> SignInMethodsResult:
    """Link a provider's account to the viewer's, by a phone's token or the web flow's link code."""
    if (input.token is None) == (input.code is None):
        return ValidationError.of([(["input"], "Give either a token or a code")])
    context = info.context
    if input.token is not None:
        found = await sign_in_links.link_with_token(viewer_of(info), _gateway(info, input.provider), input.token,
                                                    context.accounts, context.client_address, context.now())
    else:
        assert input.code is not None
        found = await sign_in_links.link_with_code(viewer_of(info), input.provider.value, input.provider.label,
                                                   input.code, context.accounts, context.client_address,
                                                   context.vault, context.now())
    return _methods(found)


@permission(IsSignedIn())
@sign_in_errors
async def unlink_sign_in_provider(input: UnlinkSignInProviderInput, info: Info) -> SignInMethodsResult:
    """Unlink the viewer's account at a provider, as long as another way to sign in stays."""
    return _methods(await sign_in_links.unlink(viewer_of(info), input.provider.value, input.provider.label,
                                               info.context.accounts, info.context.client_address))


@permission(IsSignedIn())
@sign_in_errors
async def set_password(input: SetPasswordInput, info: Info) -> SignInMethodsResult:
    """Add a password to an account that signs in only with providers."""
    return _methods(await sign_in_links.set_password(viewer_of(info), input.password, info.context.accounts,
                                                     info.context.client_address))


@permission(IsSignedIn())
@sign_in_errors
async def sign_in_methods(info: Info) -> SignInMethodsResult:
    """How the viewer can sign in."""
    user_id = viewer_of(info).user_id
    assert user_id is not None
    return _methods(await sign_in_links.sign_in_methods(user_id))
