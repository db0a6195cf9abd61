"""The fake Google OpenID Connect provider for "Sign in with Google", a real HTTP server on 127.0.0.1: discovery, the
key set (JWKS, with key rotation), authorize with an account chooser and consent page, token, and userinfo, as the
reference's section C1 describes. ID tokens are RS256 JWTs signed with joserfc, issued as `https://accounts.google.com`
(the discovery document says so wherever the fake is served), so Lockstep checks them exactly as Google's.

Terms:
- *account*: a Google user of the fake (`add_account`): `sub`, email, whether Google verified it, `hd` for a
  Workspace account, names and picture. The consent page signs in as the account named by `login_hint`, else the
  first one added.
- *clients*: the web client (id and secret; its redirect URIs) and the phones' client ids, all of one project.
- *keys*: the signing keys the key set publishes; `rotate_keys()` starts signing with a new key and (unless told to
  keep it) stops publishing the old one, as Google does every few weeks.
- *code*: single use, 10 minutes, bound to the redirect URI, the PKCE challenge (S256 required) and the nonce.
`id_token(...)` mints the token a phone's Google Sign-In SDK would hand its app, with any claim changed (or left
out) for a test; `token_claims` changes the ID tokens the token endpoint issues from then on, in the same way (a
claim set to None is left out), so a test can have the web flow answered with a wrong nonce, or none.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.fakes.loopback import LoopbackServer, logged_body
from tests.fakes.outbox import Outbox

ISSUER = "https://accounts.google.com"
CODE_LIFETIME = 600.0
KEYS_MAX_AGE = 21600
SCOPES = {"openid", "email", "profile"}


@dataclass
class GoogleAccount:
    sub: str
    email: str
    email_verified: bool = True
    hd: str | None = None
    given_name: str = "Pat"
    family_name: str = "Doe"
    picture: str | None = "https://lh3.googleusercontent.com/a/photo"

    def claims(self) -> dict[str, Any]:
        found: dict[str, Any] = {"sub": self.sub, "email": self.email, "email_verified": self.email_verified,
                                 "name": f"{self.given_name} {self.family_name}", "given_name": self.given_name,
                                 "family_name": self.family_name}
        if self.picture:
            found["picture"] = self.picture
        if self.hd:
            found["hd"] = self.hd
        return found


@dataclass
class _Pending:
    account: GoogleAccount
    redirect_uri: str
    state: str
    challenge: str
    nonce: str | None


@dataclass
class _Code:
    pending: _Pending
    issued: float = field(default_factory=time.monotonic)
    used: bool = False


class _NoNotifications(Outbox[None]):
    async def _send(self, item: None) -> None:
        return None


def _page(status: int, error: str) -> web.Response:
    return web.Response(status=status, content_type="text/html",
                        text=f"<html><body><h1>Error {status}: {html.escape(error)}</h1></body></html>")


def _json_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


class FakeGoogleSignIn(LoopbackServer):
    thread_name = "fake-google-sign-in"

    def __init__(self, web_client_id: str = "web-client.apps.googleusercontent.com",
                 client_secret: str = "GOCSPX-web-secret", redirect_uris: tuple[str, ...] = (),
                 phone_client_ids: tuple[str, ...] = ("android-client.apps.googleusercontent.com",
                                                      "ios-client.apps.googleusercontent.com")) -> None:
        super().__init__()
        self.web_client_id, self.client_secret = web_client_id, client_secret
        self.redirect_uris = set(redirect_uris)
        self.phone_client_ids = phone_client_ids
        self.accounts: list[GoogleAccount] = []
        self.published: list[RSAKey] = []
        self.signing_key = self._new_key()
        self.published.append(self.signing_key)
        self._pending: dict[str, _Pending] = {}
        self.codes: dict[str, _Code] = {}
        self.access_tokens: dict[str, GoogleAccount] = {}
        # Claims the token endpoint's ID tokens get instead of Google's (None: left out), for a faulty answer.
        self.token_claims: dict[str, Any] = {}
        self._notifications = _NoNotifications()

    # -- helpers for tests --------------------------------------------------------------------------------------

    @property
    def discovery_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"

    @property
    def client_ids(self) -> tuple[str, ...]:
        return (self.web_client_id, *self.phone_client_ids)

    def add_account(self, email: str, **details: Any) -> GoogleAccount:
        account = GoogleAccount(sub=details.pop("sub", str(10**20 + len(self.accounts))), email=email, **details)
        self.accounts.append(account)
        return account

    @staticmethod
    def _new_key() -> RSAKey:
        return RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(8), "use": "sig", "alg": "RS256"})

    def rotate_keys(self, keep_old: bool = False) -> None:
        self.signing_key = self._new_key()
        self.published = [*self.published, self.signing_key] if keep_old else [self.signing_key]

    def id_token(self, account: GoogleAccount, *, aud: str | None = None, azp: str | None = None,
                 iss: str = ISSUER, expires_in: int = 3600, nonce: str | None = None, key: RSAKey | None = None,
                 without: tuple[str, ...] = (), **claims: Any) -> str:
        """The ID token Google issues to `azp` (a phone's client by default) for the web client (`aud`), without
        the claims named in `without`."""
        now = int(time.time())
        body = {**account.claims(), "iss": iss, "aud": aud or self.web_client_id,
                "azp": azp or self.phone_client_ids[0], "iat": now, "exp": now + expires_in, **claims}
        if nonce is not None:
            body["nonce"] = nonce
        for name in without:
            body.pop(name, None)
        signer = key or self.signing_key
        return jwt.encode({"alg": "RS256", "kid": signer.kid, "typ": "JWT"}, body, signer)

    # -- the server ---------------------------------------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/.well-known/openid-configuration", self.discovery)
        app.router.add_get("/oauth2/v3/certs", self.certs)
        app.router.add_get("/o/oauth2/v2/auth", self.authorize)
        app.router.add_get("/o/oauth2/v2/consent", self.consent)
        app.router.add_post("/token", self.token)
        app.router.add_get("/v1/userinfo", self.userinfo)
        return app

    def _outbox(self) -> Outbox[Any]:
        return self._notifications

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = await logged_body(request, forms=True)
        try:
            response = await handler(request)
        except web.HTTPFound as answer:
            self._record(request, body, answer)
            raise
        self._record(request, body, response)
        return response

    async def discovery(self, request: web.Request) -> web.Response:
        return web.json_response({
            "issuer": ISSUER, "authorization_endpoint": f"{self.url}/o/oauth2/v2/auth",
            "token_endpoint": f"{self.url}/token", "userinfo_endpoint": f"{self.url}/v1/userinfo",
            "revocation_endpoint": f"{self.url}/revoke", "jwks_uri": f"{self.url}/oauth2/v3/certs",
            "response_types_supported": ["code", "token", "id_token", "code token", "code id_token",
                                         "token id_token", "code token id_token", "none"],
            "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": ["aud", "email", "email_verified", "exp", "family_name", "given_name", "iat", "iss",
                                 "name", "picture", "sub"],
            "code_challenge_methods_supported": ["plain", "S256"],
            "grant_types_supported": ["authorization_code", "refresh_token",
                                      "urn:ietf:params:oauth:grant-type:device_code",
                                      "urn:ietf:params:oauth:grant-type:jwt-bearer"]})

    async def certs(self, request: web.Request) -> web.Response:
        keys = [key.as_dict(private=False) for key in self.published]
        return web.json_response({"keys": keys}, headers={
            "Cache-Control": f"public, max-age={KEYS_MAX_AGE}, must-revalidate, no-transform"})

    async def authorize(self, request: web.Request) -> web.Response:
        query = request.query
        if query.get("client_id") != self.web_client_id:
            return _page(401, "invalid_client")
        redirect_uri = query.get("redirect_uri", "")
        if redirect_uri not in self.redirect_uris:
            return _page(400, "redirect_uri_mismatch")
        scopes = set(query.get("scope", "").split())
        if (query.get("response_type") != "code" or "openid" not in scopes or not scopes <= SCOPES
                or query.get("code_challenge_method") != "S256" or not query.get("code_challenge")
                or "state" not in query):
            return _page(400, "invalid_request")
        hint = query.get("login_hint", "")
        account = next((found for found in self.accounts if found.email == hint), None) or self.accounts[0]
        request_id = secrets.token_urlsafe(16)
        self._pending[request_id] = _Pending(account, redirect_uri, query["state"], query["code_challenge"],
                                             query.get("nonce"))
        accept = html.escape("/o/oauth2/v2/consent?" + urlencode({"request": request_id, "decision": "allow"}))
        cancel = html.escape("/o/oauth2/v2/consent?" + urlencode({"request": request_id, "decision": "cancel"}))
        return web.Response(content_type="text/html", text=(
            f"<html><body><h1>Sign in with Google</h1><p>Choose an account: {html.escape(account.email)}</p>"
            f"<p>Google will share your name, email address and profile picture.</p>"
            f"<a id=\"allow\" href=\"{accept}\">Continue</a> <a id=\"cancel\" href=\"{cancel}\">Cancel</a>"
            f"</body></html>"))

    async def consent(self, request: web.Request) -> web.Response:
        pending = self._pending.pop(request.query.get("request", ""), None)
        if pending is None:
            return _page(400, "invalid_request")
        back: dict[str, str] = {"state": pending.state}
        if request.query.get("decision") == "allow":
            code = "4/0A" + secrets.token_urlsafe(32)
            self.codes[code] = _Code(pending)
            back.update(code=code, scope="email profile openid https://www.googleapis.com/auth/userinfo.email "
                                         "https://www.googleapis.com/auth/userinfo.profile", authuser="0",
                        prompt="consent")
        else:
            back["error"] = "access_denied"
        raise web.HTTPFound(f"{pending.redirect_uri}?{urlencode(back)}")

    def _client_ok(self, form: Any, request: web.Request) -> bool:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("basic "):
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        return client_id == self.web_client_id and secret == self.client_secret

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("grant_type") != "authorization_code":
            return _json_error(400, "unsupported_grant_type", "Invalid grant_type: " + str(form.get("grant_type")))
        if not self._client_ok(form, request):
            return _json_error(401, "invalid_client", "Unauthorized")
        code = self.codes.get(str(form.get("code", "")))
        if code is None or code.used or time.monotonic() - code.issued > CODE_LIFETIME:
            return _json_error(400, "invalid_grant", "Malformed auth code.")
        code.used = True
        if form.get("redirect_uri") != code.pending.redirect_uri:
            return _json_error(400, "redirect_uri_mismatch", "Bad Request")
        verifier = str(form.get("code_verifier", ""))
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if not verifier or digest != code.pending.challenge:
            return _json_error(400, "invalid_grant", "Invalid code verifier.")
        access = "ya29." + secrets.token_urlsafe(32)
        self.access_tokens[access] = code.pending.account
        changed = {name: value for name, value in self.token_claims.items() if value is not None}
        nonce, azp = changed.pop("nonce", code.pending.nonce), changed.pop("azp", self.web_client_id)
        id_token = self.id_token(code.pending.account, azp=azp, nonce=nonce, **changed,
                                 without=tuple(name for name, value in self.token_claims.items() if value is None))
        return web.json_response({"access_token": access, "expires_in": 3599, "token_type": "Bearer",
                                  "scope": "openid https://www.googleapis.com/auth/userinfo.email "
                                           "https://www.googleapis.com/auth/userinfo.profile",
                                  "id_token": id_token})

    async def userinfo(self, request: web.Request) -> web.Response:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        account = self.access_tokens.get(token) if scheme.lower() == "bearer" else None
        if account is None:
            return _json_error(401, "invalid_request", "Invalid Credentials")
        return web.json_response(account.claims())
