"""The fake Google's OAuth 2.0 endpoints: authorize (consenting at once for the one test user, or refusing when
told), token (authorization_code with PKCE, refresh_token) and revoke, as docs/providers.md ("Google: OAuth 2.0")
describes.

Terms:
- *grant*: what the user consented to for the client: scopes, and a refresh token when offline access was asked.
  Revoking any of its tokens revokes the whole grant (its access tokens stop working at once).
- *code*: single use, valid for 10 minutes, bound to the client, redirect URI and PKCE challenge.
Refresh tokens come with the first consent of a user for a client, or with any `prompt=consent`; id tokens are not
issued (Lockstep asks no openid scope).

Rotation (off by default, as at Google): with `rotate_refresh_tokens` every refresh answers with a new refresh token
and the one it was sent with is spent at once (a second use gets `invalid_grant`), as providers that rotate refresh
tokens do. `refresh_delay` holds each successful refresh's answer that many seconds (the token is rotated when the
request arrives), so a test can make two refreshes overlap.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from tests.fakes.google_store import ApiError

CODE_LIFETIME = 600.0
_IDENTITY_SCOPES = {"openid", "email", "profile", "https://www.googleapis.com/auth/userinfo.email",
                    "https://www.googleapis.com/auth/userinfo.profile"}
_PROMPTS = {"none", "consent", "select_account"}


@dataclass
class Grant:
    scopes: frozenset[str]
    refresh_token: str | None
    revoked: bool = False


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    scopes: frozenset[str]
    challenge: str | None
    method: str
    offline: bool
    consent: bool
    issued: float = field(default_factory=time.monotonic)
    used: bool = False


def _page(status: int, error: str) -> web.Response:
    """Google shows authorisation errors on its own page rather than redirecting them."""
    return web.Response(status=status, content_type="text/html",
                        text=f"<html><body><h1>Error {status}: {error}</h1></body></html>")


def _json_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


class OAuthServer:
    """The test user's account at the authorisation server, for one registered client."""

    def __init__(self, client_id: str, client_secret: str, redirect_uris: set[str], known_scopes: set[str],
                 access_token_lifetime: float) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.redirect_uris = redirect_uris
        self.known_scopes = known_scopes | _IDENTITY_SCOPES
        self.access_token_lifetime = access_token_lifetime
        self.refuse_consent = False  # the user presses "Cancel" on the consent screen
        self.withheld_scopes: set[str] = set()  # granular consent: permissions the user unticks
        self.require_pkce = True  # Lockstep always sends an S256 challenge, so anything else is a bug to surface
        self.codes: dict[str, _Code] = {}
        self.grants: dict[str, Grant] = {}  # refresh token -> grant
        self.access_tokens: dict[str, tuple[Grant, float]] = {}  # token -> (grant, expiry on time.monotonic)
        self.consented = False
        self.rotate_refresh_tokens = False
        self.refresh_delay = 0.0
        self.refresh_requests = 0  # refresh_token grants received, answered or not

    # -- helpers for tests --------------------------------------------------------------------------------------

    def issue_tokens(self, scopes: frozenset[str] = frozenset({"https://www.googleapis.com/auth/calendar"}),
                     ) -> tuple[str, str]:
        """(access token, refresh token) of a fresh grant, as if the user had just connected."""
        grant = Grant(scopes, "1//" + secrets.token_urlsafe(32))
        assert grant.refresh_token is not None
        self.grants[grant.refresh_token] = grant
        return self._access_token(grant), grant.refresh_token

    def expire_access_tokens(self) -> None:
        self.access_tokens = {token: (grant, 0.0) for token, (grant, _) in self.access_tokens.items()}

    def revoke_all(self) -> None:
        for grant in self.grants.values():
            grant.revoked = True

    def _access_token(self, grant: Grant) -> str:
        token = "ya29." + secrets.token_urlsafe(32)
        self.access_tokens[token] = (grant, time.monotonic() + self.access_token_lifetime)
        return token

    def grant_for(self, authorization: str) -> Grant:
        """The grant of a live bearer token; otherwise 401 authError as the Calendar API answers."""
        scheme, _, token = authorization.partition(" ")
        found = self.access_tokens.get(token) if scheme.lower() == "bearer" else None
        if found is None or found[0].revoked or found[1] <= time.monotonic():
            raise ApiError(401, "authError", "Invalid Credentials", "global", "header", "Authorization")
        return found[0]

    # -- endpoints ----------------------------------------------------------------------------------------------

    async def authorize(self, request: web.Request) -> web.Response:
        query = request.query
        if query.get("client_id") != self.client_id:
            return _page(401, "invalid_client")
        redirect_uri = query.get("redirect_uri", "")
        if redirect_uri not in self.redirect_uris:
            return _page(400, "redirect_uri_mismatch")
        if query.get("response_type") != "code":
            return _page(400, "unsupported_response_type")
        scopes = frozenset(query.get("scope", "").split())
        if not scopes or not scopes <= self.known_scopes:
            return _page(400, "invalid_scope")
        challenge = query.get("code_challenge")
        method = query.get("code_challenge_method", "plain" if challenge else "")
        access_type = query.get("access_type", "online")
        prompts = set(query.get("prompt", "").split())
        if (method and method not in ("S256", "plain")) or (method and not challenge) \
                or access_type not in ("online", "offline") or not prompts <= _PROMPTS \
                or ("none" in prompts and len(prompts) > 1) or "state" not in query \
                or (self.require_pkce and method != "S256"):
            return _page(400, "invalid_request")
        back: dict[str, str] = {"state": query["state"]}
        if self.refuse_consent:
            back["error"] = "access_denied"
        elif "none" in prompts and not self.consented:
            back["error"] = "consent_required"
        else:
            code = "4/" + secrets.token_urlsafe(32)
            scopes = scopes - self.withheld_scopes
            self.codes[code] = _Code(self.client_id, redirect_uri, scopes, challenge, method,
                                     access_type == "offline", "consent" in prompts or not self.consented)
            self.consented = True
            back.update(code=code, scope=" ".join(sorted(scopes)))
        separator = "&" if "?" in redirect_uri else "?"
        raise web.HTTPFound(f"{redirect_uri}{separator}{urlencode(back)}")

    def _client_ok(self, form: Any, request: web.Request) -> bool:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("basic "):
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        return client_id == self.client_id and secret == self.client_secret

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        grant_type = form.get("grant_type")
        if grant_type not in ("authorization_code", "refresh_token"):
            return _json_error(400, "unsupported_grant_type", "Invalid grant_type: " + str(grant_type or ""))
        if not self._client_ok(form, request):
            return _json_error(401, "invalid_client", "Unauthorized")
        if grant_type == "refresh_token":
            self.refresh_requests += 1
            sent = str(form.get("refresh_token", ""))
            grant = self.grants.get(sent)
            if grant is None or grant.revoked:
                return _json_error(400, "invalid_grant", "Token has been expired or revoked.")
            if self.rotate_refresh_tokens:
                del self.grants[sent]  # single use: spent now, even if the answer never arrives
                grant.refresh_token = "1//" + secrets.token_urlsafe(32)
                self.grants[grant.refresh_token] = grant
            answer = self._answer(grant, with_refresh=self.rotate_refresh_tokens)
            if self.refresh_delay:
                await asyncio.sleep(self.refresh_delay)
            return web.json_response(answer)
        return self._exchange(form)

    def _exchange(self, form: Any) -> web.Response:
        code = self.codes.get(str(form.get("code", "")))
        if code is None or code.used or time.monotonic() - code.issued > CODE_LIFETIME:
            return _json_error(400, "invalid_grant", "Malformed auth code.")
        code.used = True  # even a failed exchange spends the code
        if form.get("redirect_uri") != code.redirect_uri:
            return _json_error(400, "redirect_uri_mismatch", "Bad Request")
        verifier = str(form.get("code_verifier", ""))
        if code.challenge is not None:
            if not verifier:
                return _json_error(400, "invalid_grant", "Missing code verifier.")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if (digest if code.method == "S256" else verifier) != code.challenge:
                return _json_error(400, "invalid_grant", "Invalid code verifier.")
        refresh = "1//" + secrets.token_urlsafe(32) if code.offline and code.consent else None
        grant = Grant(code.scopes, refresh)
        if refresh is not None:
            self.grants[refresh] = grant
        return web.json_response(self._answer(grant, with_refresh=refresh is not None))

    def _answer(self, grant: Grant, *, with_refresh: bool) -> dict[str, Any]:
        answer: dict[str, Any] = {"access_token": self._access_token(grant),
                                  "expires_in": int(self.access_token_lifetime),
                                  "scope": " ".join(sorted(grant.scopes)), "token_type": "Bearer"}
        if with_refresh:
            answer["refresh_token"] = grant.refresh_token
        return answer

    async def revoke(self, request: web.Request) -> web.Response:
        form = await request.post()
        token = request.query.get("token") or str(form.get("token", ""))
        grant = self.grants.get(token) or (self.access_tokens[token][0] if token in self.access_tokens else None)
        if grant is None or grant.revoked:
            return _json_error(400, "invalid_token", "Token expired or revoked")
        grant.revoked = True
        return web.Response(status=200)
