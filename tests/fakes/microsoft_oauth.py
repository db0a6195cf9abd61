"""The fake Microsoft identity platform (v2.0 endpoints): authorize with a sign-in and consent page, and the token
endpoint (authorization_code with PKCE, refresh_token), as the reference's section A1 describes. There is no
revocation endpoint: Microsoft has none.

Terms:
- *grant*: what one account consented to for the app: scopes (short names, as the token answer writes them) and the
  refresh tokens issued under it. A refresh answers a new refresh token every time; the one sent keeps working
  (Microsoft does not revoke it) unless `single_use_refresh`.
- *code*: single use (a second redemption is AADSTS54005), about 10 minutes, bound to the redirect URI and the PKCE
  challenge (a challenge without a method is `plain`).
Errors: on the redirect as `error` and `error_description` for the authorize step; as Microsoft's JSON body
`{error, error_description "AADSTSnnnn: ...", error_codes, timestamp, trace_id, correlation_id, error_uri}` for the
token endpoint. Any tenant segment is accepted and recorded in `tenants`.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

CODE_LIFETIME = 600.0
DEFAULT_SCOPE = "offline_access Calendars.ReadWrite User.Read"
KNOWN_SCOPES = ("openid", "profile", "email", "offline_access", "User.Read", "Calendars.Read", "Calendars.ReadWrite",
                "MailboxSettings.Read", "MailboxSettings.ReadWrite")
_GRAPH_RESOURCE = "https://graph.microsoft.com/"


def short_scopes(scope: str) -> tuple[str, ...] | None:
    """Scopes in the canonical short spelling (Graph's resource prefix dropped, case folded); None when one is
    unknown."""
    known = {name.lower(): name for name in KNOWN_SCOPES}
    found: list[str] = []
    for name in scope.split():
        short = name[len(_GRAPH_RESOURCE):] if name.lower().startswith(_GRAPH_RESOURCE) else name
        if short.lower() not in known:
            return None
        if known[short.lower()] not in found:
            found.append(known[short.lower()])
    return tuple(found)


@dataclass
class Grant:
    account: str
    scopes: tuple[str, ...]
    revoked: bool = False


@dataclass
class _Code:
    grant: Grant
    redirect_uri: str
    challenge: str | None
    method: str
    issued: float = field(default_factory=time.monotonic)
    redeemed: bool = False


@dataclass
class _Pending:
    """An authorize request waiting on the consent page."""

    account: str
    redirect_uri: str
    state: str | None
    scopes: tuple[str, ...]
    challenge: str | None
    method: str


def token_error(status: int, error: str, code: int, message: str) -> web.Response:
    now = datetime.now(UTC)
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    description = (f"AADSTS{code}: {message} Trace ID: {trace} Correlation ID: {correlation} "
                   f"Timestamp: {now:%Y-%m-%d %H:%M:%SZ}")
    return web.json_response({"error": error, "error_description": description, "error_codes": [code],
                              "timestamp": f"{now:%Y-%m-%d %H:%M:%SZ}", "trace_id": trace,
                              "correlation_id": correlation,
                              "error_uri": f"https://login.microsoftonline.com/error?code={code}"}, status=status)


def _page(status: int, code: int, message: str) -> web.Response:
    """Errors the authorize endpoint cannot redirect (an unknown app or redirect URI) are shown on its own page."""
    return web.Response(status=status, content_type="text/html",
                        text=f"<html><body><h1>Sign in</h1><p>AADSTS{code}: {html.escape(message)}</p></body></html>")


class IdentityPlatform:
    """The accounts' sign-in and the app registration: one confidential client with its secret."""

    def __init__(self, client_id: str, client_secret: str, redirect_uris: set[str], default_account: str,
                 access_token_lifetime: int) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.redirect_uris = redirect_uris
        self.default_account = default_account
        self.access_token_lifetime = access_token_lifetime
        self.accounts: set[str] = {default_account}
        self.require_admin_consent = False  # the tenant lets only an admin consent
        self.missing_consent = False  # the consent was withdrawn: token requests get AADSTS65001
        self.single_use_refresh = False
        self.require_pkce = True  # Lockstep always sends S256, so anything else is a bug to surface
        self.secret_expired = False
        self.tenants: list[str] = []
        self.refresh_requests = 0
        self.codes: dict[str, _Code] = {}
        self.refresh_tokens: dict[str, Grant] = {}
        self.access_tokens: dict[str, tuple[Grant, float]] = {}  # token -> (grant, expiry on time.monotonic)
        self._pending: dict[str, _Pending] = {}

    # -- helpers for tests --------------------------------------------------------------------------------------

    def issue_tokens(self, account: str | None = None, scope: str = DEFAULT_SCOPE) -> dict[str, Any]:
        """A token answer for a fresh grant, as if the account had just connected."""
        scopes = short_scopes(scope)
        assert scopes is not None, f"unknown scope in {scope!r}"
        return self._answer(Grant(account or self.default_account, scopes))

    def expire_access_tokens(self) -> None:
        self.access_tokens = {token: (grant, 0.0) for token, (grant, _) in self.access_tokens.items()}

    def revoke_all(self) -> None:
        """Every session revoked: refresh tokens stop working; access tokens live until they expire, as at Microsoft."""
        for grant in self.refresh_tokens.values():
            grant.revoked = True

    def expire_client_secret(self) -> None:
        self.secret_expired = True

    def grant_for(self, token: str) -> tuple[Grant | None, bool]:
        """(the grant of a bearer token, whether it is expired)."""
        found = self.access_tokens.get(token)
        if found is None:
            return None, False
        return found[0], found[1] <= time.monotonic()

    # -- authorize ----------------------------------------------------------------------------------------------

    async def authorize(self, request: web.Request) -> web.Response:
        self.tenants.append(request.match_info["tenant"])
        query = request.query
        if query.get("client_id") != self.client_id:
            return _page(400, 700016, f"Application with identifier '{query.get('client_id', '')}' was not found.")
        redirect_uri = query.get("redirect_uri", "")
        if redirect_uri not in self.redirect_uris:
            return _page(400, 50011, f"The redirect URI '{redirect_uri}' specified in the request does not match "
                                     "the redirect URIs configured for the application.")
        state = query.get("state")
        if query.get("response_type") != "code":
            raise self._back(redirect_uri, state, "unsupported_response_type", 70005, "The response_type is invalid.")
        scopes = short_scopes(query.get("scope", ""))
        if not scopes:
            raise self._back(redirect_uri, state, "invalid_scope", 70011, "The provided value for the input "
                             "parameter 'scope' isn't valid.")
        challenge = query.get("code_challenge")
        method = query.get("code_challenge_method", "plain" if challenge else "")
        if method not in ("", "plain", "S256") or (self.require_pkce and (method != "S256" or not challenge)):
            raise self._back(redirect_uri, state, "invalid_request", 50148, "The code_challenge is missing or its "
                             "method is not S256.")
        if self.require_admin_consent:
            raise self._back(redirect_uri, state, "access_denied", 90094, "The grant requires admin permission.")
        hint = query.get("login_hint", "")
        account = hint if hint in self.accounts else self.default_account
        pending = _Pending(account, redirect_uri, state, scopes, challenge, method)
        if query.get("prompt") == "none":
            raise self._back(redirect_uri, state, "login_required", 50058,
                             "A silent sign-in request was sent but no user is signed in.")
        request_id = secrets.token_urlsafe(16)
        self._pending[request_id] = pending
        return self._consent_page(request, request_id, pending)

    def _consent_page(self, request: web.Request, request_id: str, pending: _Pending) -> web.Response:
        base = f"/{request.match_info['tenant']}/oauth2/v2.0/consent?"
        accept = html.escape(base + urlencode({"request": request_id, "decision": "accept"}))
        cancel = html.escape(base + urlencode({"request": request_id, "decision": "cancel"}))
        wanted = "".join(f"<li>{html.escape(scope)}</li>" for scope in pending.scopes)
        return web.Response(content_type="text/html", text=(
            f"<html><body><h1>Permissions requested</h1><p>Signed in as {html.escape(pending.account)}</p>"
            f"<ul>{wanted}</ul><a id=\"accept\" href=\"{accept}\">Accept</a> "
            f"<a id=\"cancel\" href=\"{cancel}\">Cancel</a></body></html>"))

    async def consent(self, request: web.Request) -> web.Response:
        """The account's answer on the consent page."""
        pending = self._pending.pop(request.query.get("request", ""), None)
        if pending is None:
            return _page(400, 90014, "The request is no longer valid.")
        if request.query.get("decision") != "accept":
            raise self._back(pending.redirect_uri, pending.state, "access_denied", 65004,
                             "User declined to consent to access the app.")
        code = "1.AQ" + secrets.token_urlsafe(48)
        self.codes[code] = _Code(Grant(pending.account, pending.scopes), pending.redirect_uri, pending.challenge,
                                 pending.method)
        back = {"code": code, "session_state": str(uuid.uuid4())}
        if pending.state is not None:
            back["state"] = pending.state
        raise web.HTTPFound(f"{pending.redirect_uri}{'&' if '?' in pending.redirect_uri else '?'}{urlencode(back)}")

    @staticmethod
    def _back(redirect_uri: str, state: str | None, error: str, code: int, message: str) -> web.HTTPFound:
        back = {"error": error, "error_description": f"AADSTS{code}: {message}"}
        if state is not None:
            back["state"] = state
        return web.HTTPFound(f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{urlencode(back)}")

    # -- token --------------------------------------------------------------------------------------------------

    async def token(self, request: web.Request) -> web.Response:
        self.tenants.append(request.match_info["tenant"])
        form = await request.post()
        refused = self._client_refusal(form, request)
        if refused is not None:
            return refused
        grant_type = str(form.get("grant_type", ""))
        if grant_type == "refresh_token":
            return self._refresh(str(form.get("refresh_token", "")))
        if grant_type == "authorization_code":
            return self._redeem(form)
        return token_error(400, "unsupported_grant_type", 70003,
                           f"The app requested an unsupported grant type '{grant_type}'.")

    def _client_refusal(self, form: Any, request: web.Request) -> web.Response | None:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("basic "):
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        if client_id != self.client_id:
            return token_error(400, "unauthorized_client", 700016,
                               f"Application with identifier '{client_id or ''}' was not found in the directory.")
        if not secret:
            return token_error(401, "invalid_client", 7000218, "The request body must contain the following "
                               "parameter: 'client_assertion' or 'client_secret'.")
        if secret != self.client_secret:
            return token_error(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret "
                               "being sent in the request is the client secret value, not the client secret ID, for "
                               f"a secret added to app '{self.client_id}'.")
        if self.secret_expired:
            return token_error(401, "invalid_client", 7000222, f"The provided client secret keys for app "
                               f"'{self.client_id}' are expired. Visit the Azure portal to create new keys for your "
                               "app: https://aka.ms/NewClientSecret.")
        return None

    def _consent_missing(self) -> web.Response:
        return token_error(400, "invalid_grant", 65001, f"The user or administrator has not consented to use the "
                           f"application with ID '{self.client_id}'. Send an interactive authorization request for "
                           "this user and resource.")

    def _refresh(self, sent: str) -> web.Response:
        self.refresh_requests += 1
        grant = self.refresh_tokens.get(sent)
        if grant is None or grant.revoked:
            return token_error(400, "invalid_grant", 70000, "Authentication failed. The refresh token isn't valid.")
        if self.missing_consent:
            return self._consent_missing()
        if self.single_use_refresh:
            del self.refresh_tokens[sent]
        return self._answer(grant, response=True)

    def _redeem(self, form: Any) -> web.Response:
        code = self.codes.get(str(form.get("code", "")))
        if code is None:
            return token_error(400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
        if code.redeemed:
            return token_error(400, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please "
                               "retry with a new valid code or use an existing refresh token.")
        code.redeemed = True
        if time.monotonic() - code.issued > CODE_LIFETIME:
            return token_error(400, "invalid_grant", 70008, "The provided authorization code or refresh token has "
                               "expired due to inactivity.")
        if form.get("redirect_uri") != code.redirect_uri:
            return token_error(400, "invalid_grant", 500112, "The reply address does not match the reply address "
                               "provided when requesting the authorization code.")
        verifier = str(form.get("code_verifier", ""))
        if code.challenge is not None:
            if not verifier:
                return token_error(400, "invalid_request", 900144, "The request body must contain the following "
                                   "parameter: 'code_verifier'.")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if (digest if code.method == "S256" else verifier) != code.challenge:
                return token_error(400, "invalid_grant", 501481, "The Code_Verifier does not match the "
                                   "code_challenge supplied in the authorization request.")
        if self.missing_consent:
            return self._consent_missing()
        return self._answer(code.grant, response=True)

    def _answer(self, grant: Grant, *, response: bool = False) -> Any:
        header = base64.urlsafe_b64encode(b'{"typ":"JWT","alg":"RS256"}').decode().rstrip("=")
        claims = json.dumps({"aud": "https://graph.microsoft.com", "upn": grant.account, "nonce": secrets.token_hex(8)})
        payload = base64.urlsafe_b64encode(claims.encode()).decode().rstrip("=")
        access = f"{header}.{payload}.{secrets.token_urlsafe(32)}"
        self.access_tokens[access] = (grant, time.monotonic() + self.access_token_lifetime)
        answer: dict[str, Any] = {"token_type": "Bearer", "scope": " ".join(grant.scopes),
                                  "expires_in": self.access_token_lifetime,
                                  "ext_expires_in": self.access_token_lifetime, "access_token": access}
        if "offline_access" in grant.scopes:
            refresh = "1.AQ" + secrets.token_urlsafe(64)
            self.refresh_tokens[refresh] = grant
            answer["refresh_token"] = refresh
        return web.json_response(answer) if response else answer
