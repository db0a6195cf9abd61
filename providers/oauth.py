"""OAuth 2.0 for calendar providers that use it (Google, Microsoft): the authorisation URL with PKCE, and
the token endpoint (code exchange, refresh, revocation) over aiohttp. Every URL is configuration, so a fake server
and the real provider are interchangeable.

Terms:
- *client*: Lockstep's registration at the provider (client id and secret, the redirect URI, the scopes it asks).
- *token set*: what the token endpoint grants: an access token that expires soon, and a refresh token that lasts
  until the user revokes it (or the provider retires it).
Tokens and the client secret never appear in an error message or a repr.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from providers.base import AuthFailed, ProviderError, RateLimited, Unavailable
from providers.http_headers import retry_after


@dataclass(frozen=True)
class OAuthClient:
    authorize_url: str
    token_url: str
    revoke_url: str
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    scopes: tuple[str, ...]
    # Extra authorisation parameters the provider needs (Google: offline access and a consent prompt, so that a
    # refresh token is granted every time, also when the user connects again).
    extra: tuple[tuple[str, str], ...] = ()
    timeout_seconds: float = 15.0  # of each call to the token or revocation endpoint
    # Whether the token endpoint is told the scopes again on a code exchange and a refresh (Microsoft's v2 endpoint
    # issues a token for the scopes asked there; Google's takes them from the grant).
    scopes_at_token_endpoint: bool = False
    # Whether the revocation endpoint wants the client's own credentials beside the token (Calendly's; Google's
    # takes the token alone).
    revoke_with_client: bool = False


@dataclass(frozen=True)
class TokenSet:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime
    scope: str


class GrantRevoked(AuthFailed):
    """`invalid_grant`: the user revoked access, or the refresh token expired. Only connecting again helps.
    `description` is the endpoint's error_description (Microsoft's names an AADSTS code), for telling a missing
    consent from a dead grant; it holds no secret, but is not shown to users either."""

    def __init__(self, message: str, description: str = "") -> None:
        super().__init__(message)
        self.description = description


class AppRejected(Unavailable):
    """`invalid_client` or `unauthorized_client`: the provider refuses this server's own registration (an expired
    or wrong client secret, say). The operator must fix it; the user's grant is not in question."""


def authorization_url(client: OAuthClient, state: str, code_verifier: str) -> str:
    """Where to send the user to grant access: code flow with PKCE S256 and our `state`."""
    return str(prepare_grant_uri(client.authorize_url, client.client_id, "code", redirect_uri=client.redirect_uri,
                                 scope=" ".join(client.scopes), state=state,
                                 code_challenge=create_s256_code_challenge(code_verifier),
                                 code_challenge_method="S256", **dict(client.extra)))


async def _token_request(client: OAuthClient, form: dict[str, str]) -> dict[str, Any]:
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=client.timeout_seconds)) as session, \
                session.post(client.token_url, data=form, headers={"Accept": "application/json"}) as response:
            try:
                answer = await response.json(content_type=None)
            except ValueError:
                answer = None
            body: dict[str, Any] = answer if isinstance(answer, dict) else {}
            status = response.status
            wait = retry_after(response.headers)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise Unavailable(f"the token endpoint could not be reached ({type(exc).__name__})") from None
    if status == 200 and isinstance(body.get("access_token"), str):
        return body
    error = str(body.get("error", ""))
    if error == "invalid_grant":
        raise GrantRevoked("the provider no longer accepts this grant (invalid_grant): connect the calendar again",
                           str(body.get("error_description", ""))[:500])
    if error in ("invalid_client", "unauthorized_client"):
        raise AppRejected(f"the provider refuses this server's client registration ({error}); the operator has to "
                          "renew its client secret or registration")
    if status == 429:
        raise RateLimited("the token endpoint asks to slow down (429)", wait)
    if status >= 500:
        raise Unavailable(f"the token endpoint failed ({status})")
    raise ProviderError(f"the token endpoint refused the request ({status} {error or 'no error code'})")


def _scoped(client: OAuthClient, form: dict[str, str]) -> dict[str, str]:
    return {**form, "scope": " ".join(client.scopes)} if client.scopes_at_token_endpoint else form


def _token_set(body: dict[str, Any], now: datetime, refresh_token: str = "") -> TokenSet:
    return TokenSet(access_token=str(body["access_token"]),
                    refresh_token=str(body.get("refresh_token") or refresh_token),
                    expires_at=now + timedelta(seconds=int(body.get("expires_in", 3600))),
                    scope=str(body.get("scope", "")))


async def exchange_code(client: OAuthClient, code: str, code_verifier: str, now: datetime) -> TokenSet:
    """The authorisation code, traded for tokens (with the PKCE verifier the challenge was made from)."""
    body = await _token_request(client, _scoped(client, {
        "grant_type": "authorization_code", "code": code, "redirect_uri": client.redirect_uri,
        "client_id": client.client_id, "client_secret": client.client_secret, "code_verifier": code_verifier}))
    return _token_set(body, now)


async def refresh_tokens(client: OAuthClient, refresh_token: str, now: datetime) -> TokenSet:
    """A new access token. The refresh token stays the same unless the provider sends a new one."""
    body = await _token_request(client, _scoped(client, {
        "grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client.client_id,
        "client_secret": client.client_secret}))
    return _token_set(body, now, refresh_token)


def _revocation(client: OAuthClient, token: str) -> dict[str, str]:
    if not client.revoke_with_client:
        return {"token": token}
    return {"token": token, "client_id": client.client_id, "client_secret": client.client_secret}


async def revoke_token(client: OAuthClient, token: str) -> None:
    """Revoke the grant (revoking either token revokes all of it). A token already dead counts as revoked."""
    try:
        # In the form body, not the query string: URLs end up in access logs.
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=client.timeout_seconds)) as session, \
                session.post(client.revoke_url, data=_revocation(client, token)) as response:
            status = response.status
            try:
                answer = await response.json(content_type=None)
            except ValueError:
                answer = None
            wait = retry_after(response.headers)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise Unavailable(f"the revocation endpoint could not be reached ({type(exc).__name__})") from None
    error = str(answer.get("error", "")) if isinstance(answer, dict) else ""
    if status == 200 or (status == 400 and error in ("invalid_token", "invalid_grant")):
        return  # revoked now, or already dead
    if status == 429:
        raise RateLimited("the revocation endpoint asks to slow down (429)", wait)
    if status >= 500:
        raise Unavailable(f"the revocation endpoint failed ({status})")
    raise ProviderError(f"the revocation endpoint refused the request ({status} {error or 'no error code'})")
