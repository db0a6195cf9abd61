"""The fake Calendly's credentials: personal access tokens, and its OAuth 2.1 authorization server (authorize with
PKCE, the token endpoint's authorization_code and refresh_token grants, revocation), as docs/calendly.md describes.

Terms:
- *grant*: what one user allowed: a personal access token, or one OAuth app's access. `scopes` None is a legacy
  grant (every call allowed), else the scopes granted (`webhooks:write` implies `webhooks:read`).
- *web client*: an OAuth app with a secret; it authenticates at the token endpoint with HTTP Basic (the form's
  client_id and client_secret are accepted too unless `basic_auth_only`). A *native client* has no secret and
  names itself in the form; PKCE S256 is its proof.
- *code*: single use, 10 minutes, bound to the redirect URI and the PKCE challenge.
- *refresh token*: single use and rotating: every success answers a new access token and a new refresh token and
  spends the one sent; sending it again is 400 invalid_grant. Access tokens live 2 hours unless expired on demand.
Token answers: `token_type, access_token, refresh_token, expires_in, created_at, scope, owner, organization`.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from tests.fakes.calendly_store import Store

CODE_LIFETIME = 600.0
ACCESS_LIFETIME = 7200
LEGACY_SCOPE = "default"  # what a token answer says of a grant from before scopes


@dataclass
class Grant:
    user: str  # uuid
    scopes: frozenset[str] | None
    kind: str  # "pat" or "oauth"
    client_id: str = ""
    revoked: bool = False

    def allows(self, needed: str) -> bool:
        if self.scopes is None or not needed:
            return True
        family, _, access = needed.partition(":")
        return needed in self.scopes or (access == "read" and f"{family}:write" in self.scopes)

    @property
    def scope(self) -> str:
        return LEGACY_SCOPE if self.scopes is None else " ".join(sorted(self.scopes))


@dataclass
class _Code:
    grant: Grant
    redirect_uri: str
    challenge: str | None
    issued: float = field(default_factory=time.monotonic)
    redeemed: bool = False


def token_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


def _invalid_grant() -> web.Response:
    return token_error(400, "invalid_grant", "The provided authorization grant is invalid, expired, revoked, does "
                                             "not match the redirection URI used in the authorization request, or "
                                             "was issued to another client.")


def _page(message: str) -> web.Response:
    return web.Response(status=400, content_type="text/html", text=f"<html><body><p>{message}</p></body></html>")


class CalendlyOAuth:
    def __init__(self, store: Store, client_id: str, client_secret: str, redirect_uris: set[str],
                 native_client_id: str, signed_in: str) -> None:
        self.store = store
        self.clients: dict[str, str | None] = {client_id: client_secret, native_client_id: None}
        self.redirect_uris = redirect_uris
        self.signed_in = signed_in  # the user (uuid) whose browser reaches the authorize page
        self.app_signing_key = secrets.token_urlsafe(32)  # one per OAuth app, for every subscription it creates
        self.basic_auth_only = False
        self.require_pkce = True
        self.deny_next = False  # the user clicks "deny" on the next authorize
        self.access_lifetime = ACCESS_LIFETIME
        self.refresh_requests = 0
        self.codes: dict[str, _Code] = {}
        self.refresh_tokens: dict[str, Grant] = {}
        self.access_tokens: dict[str, tuple[Grant, float | None]] = {}  # token -> (grant, expiry on monotonic)

    # -- helpers for tests --------------------------------------------------------------------------------------

    def personal_token(self, user: str, scopes: tuple[str, ...] | None = None) -> str:
        """A personal access token of `user` (uuid); legacy (every call allowed) unless `scopes` are given."""
        token = "eyJraWQiOiJwYXQ" + secrets.token_urlsafe(48)
        self.access_tokens[token] = (Grant(user, None if scopes is None else frozenset(scopes), "pat"), None)
        return token

    def issue_tokens(self, user: str, scopes: tuple[str, ...] | None = None) -> dict[str, Any]:
        """A token answer for a fresh OAuth grant of the web client, as if `user` had just connected."""
        client_id = next(iter(self.clients))
        return self._answer(Grant(user, None if scopes is None else frozenset(scopes), "oauth", client_id))

    def expire_access_tokens(self) -> None:
        self.access_tokens = {token: (grant, None if expiry is None else 0.0)
                              for token, (grant, expiry) in self.access_tokens.items()}

    def revoke_all(self, user: str | None = None) -> None:
        """Every grant (of `user`, when given) revoked: its access and refresh tokens stop working at once."""
        for grant, _ in self.access_tokens.values():
            if user is None or grant.user == user:
                grant.revoked = True
        for grant in self.refresh_tokens.values():
            if user is None or grant.user == user:
                grant.revoked = True

    def grant_for(self, token: str) -> tuple[Grant | None, bool]:
        """(the live grant of a bearer token or None, whether the token is expired)."""
        found = self.access_tokens.get(token)
        if found is None or found[0].revoked:
            return None, False
        grant, expiry = found
        return grant, expiry is not None and expiry <= time.monotonic()

    # -- authorize ----------------------------------------------------------------------------------------------

    async def authorize(self, request: web.Request) -> web.Response:
        query = request.query
        if query.get("client_id") not in self.clients:
            return _page("The client is not known.")
        redirect_uri = query.get("redirect_uri", "")
        if redirect_uri not in self.redirect_uris:
            return _page("The redirect URI is not registered for this application.")
        state = query.get("state")
        if query.get("response_type") != "code":
            raise self._back(redirect_uri, state, error="unsupported_response_type")
        challenge = query.get("code_challenge")
        if (challenge and query.get("code_challenge_method") != "S256") or (self.require_pkce and not challenge):
            raise self._back(redirect_uri, state, error="invalid_request")
        if self.deny_next:
            self.deny_next = False
            raise self._back(redirect_uri, state, error="access_denied")
        scopes = query.get("scope")
        grant = Grant(self.signed_in, frozenset(scopes.split()) if scopes else None, "oauth",
                      str(query["client_id"]))
        code = secrets.token_hex(32)
        self.codes[code] = _Code(grant, redirect_uri, challenge)
        raise self._back(redirect_uri, state, code=code)

    @staticmethod
    def _back(redirect_uri: str, state: str | None, **fields: str) -> web.HTTPFound:
        back = {**fields, **({"state": state} if state is not None else {})}
        return web.HTTPFound(f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{urlencode(back)}")

    # -- token and revoke ---------------------------------------------------------------------------------------

    def _client(self, form: Any, request: web.Request) -> str | web.Response:
        """The client a token or revocation request comes from, or the refusal."""
        client_id, secret = form.get("client_id"), form.get("client_secret")
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("basic "):
            try:
                client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                client_id = None
        elif self.basic_auth_only and secret is not None:
            client_id = None
        if client_id not in self.clients:
            return token_error(401, "invalid_client", "Client authentication failed.")
        expected = self.clients[client_id]
        if expected is not None and secret != expected:
            return token_error(401, "invalid_client", "Client authentication failed.")
        return str(client_id)

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        client = self._client(form, request)
        if isinstance(client, web.Response):
            return client
        grant_type = str(form.get("grant_type", ""))
        if grant_type == "refresh_token":
            return self._refresh(client, str(form.get("refresh_token", "")))
        if grant_type == "authorization_code":
            return self._redeem(client, form)
        return token_error(400, "unsupported_grant_type", "The authorization grant type is not supported.")

    def _refresh(self, client: str, sent: str) -> web.Response:
        self.refresh_requests += 1
        grant = self.refresh_tokens.pop(sent, None)  # single use, whatever happens next
        if grant is None or grant.revoked or grant.client_id != client:
            return _invalid_grant()
        return web.json_response(self._answer(grant))

    def _redeem(self, client: str, form: Any) -> web.Response:
        code = self.codes.get(str(form.get("code", "")))
        if code is None or code.redeemed or code.grant.client_id != client:
            return _invalid_grant()
        code.redeemed = True
        if time.monotonic() - code.issued > CODE_LIFETIME or form.get("redirect_uri") != code.redirect_uri:
            return _invalid_grant()
        verifier = str(form.get("code_verifier", ""))
        if code.challenge is not None:
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if digest != code.challenge:
                return token_error(400, "invalid_grant", "The code verifier does not match the code challenge.")
        return web.json_response(self._answer(code.grant))

    async def revoke(self, request: web.Request) -> web.Response:
        """Revoking a refresh token revokes its grant; revoking an access token, that token. A token that is not
        live counts as revoked."""
        form = await request.post()
        client = self._client(form, request)
        if isinstance(client, web.Response):
            return client
        token = str(form.get("token", ""))
        if not token:
            return token_error(400, "invalid_request", "The token parameter is missing.")
        if token in self.refresh_tokens:
            self.refresh_tokens.pop(token).revoked = True
        elif token in self.access_tokens and self.access_tokens[token][0].kind == "oauth":
            del self.access_tokens[token]
        return web.json_response({})

    def _answer(self, grant: Grant) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(48), secrets.token_urlsafe(48)
        self.access_tokens[access] = (grant, time.monotonic() + self.access_lifetime)
        self.refresh_tokens[refresh] = grant
        user = self.store.users[grant.user]
        return {"token_type": "Bearer", "access_token": access, "refresh_token": refresh,
                "expires_in": self.access_lifetime, "created_at": int(time.time()), "scope": grant.scope,
                "owner": self.store.user_uri(user), "organization": self.store.uri("organizations", user.organization)}
