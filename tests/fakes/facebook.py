"""The fake Facebook Login and Graph API for "Sign in with Facebook", a real HTTP server on 127.0.0.1: the login
dialog (with a page where the user may continue, continue without sharing their email, or cancel), the code
exchange, `debug_token` and `/me`, as the reference's section C2 describes.

Terms:
- *apps*: Facebook apps by id with their secrets: Lockstep's and another one (a token minted for another app must be
  refused by Lockstep).
- *user*: a Facebook user, app-scoped id per app; `email` None for a user registered with a phone number.
- *user token*: what the dialog's code is exchanged for, or what `token_for` mints as a phone's SDK would get it;
  it knows its app, user, scopes granted (without `email` when the user declined it), and expiry.
- *app token*: `{app-id}|{app-secret}`, which debug_token needs.
With `require_appsecret_proof` (on, as "Require App Secret" in the app's settings), every Graph call made with a
user token must carry `appsecret_proof` = HMAC-SHA256(app secret, token); a missing or wrong proof is refused.
The access token may come as the `access_token` parameter or an `Authorization: OAuth|Bearer` header.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from tests.fakes.loopback import LoopbackServer, logged_body
from tests.fakes.outbox import Outbox

VERSION = "v25.0"
CODE_LIFETIME = 600.0
TOKEN_LIFETIME = 5_184_000  # long-lived user tokens last about 60 days


@dataclass
class FacebookUser:
    id: str
    first_name: str
    last_name: str
    email: str | None


@dataclass
class UserToken:
    app_id: str
    user: FacebookUser
    scopes: tuple[str, ...]
    expires_at: int
    issued_at: int = field(default_factory=lambda: int(time.time()))
    valid: bool = True


@dataclass
class _Pending:
    user: FacebookUser
    redirect_uri: str
    state: str
    challenge: str | None


class _NoNotifications(Outbox[None]):
    async def _send(self, item: None) -> None:
        return None


def graph_error(status: int, message: str, kind: str, code: int, subcode: int | None = None) -> web.Response:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code, "fbtrace_id": secrets.token_hex(8)}
    if subcode is not None:
        error["error_subcode"] = subcode
    return web.json_response({"error": error}, status=status)


class FakeFacebook(LoopbackServer):
    thread_name = "fake-facebook"

    def __init__(self, app_id: str = "1234567890", app_secret: str = "facebook-app-secret",
                 redirect_uris: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.app_id = app_id
        self.apps = {app_id: app_secret, "9876543210": "another-apps-secret"}
        self.other_app_id = "9876543210"
        self.redirect_uris = set(redirect_uris)
        self.require_appsecret_proof = True
        self.users: list[FacebookUser] = []
        self.tokens: dict[str, UserToken] = {}
        self._pending: dict[str, _Pending] = {}
        self._codes: dict[str, tuple[_Pending, tuple[str, ...], float]] = {}
        self._notifications = _NoNotifications()

    # -- helpers for tests --------------------------------------------------------------------------------------

    @property
    def dialog_url(self) -> str:
        return f"{self.url}/{{version}}/dialog/oauth"

    @property
    def graph_url(self) -> str:
        return self.url

    def add_user(self, first_name: str, last_name: str, email: str | None) -> FacebookUser:
        user = FacebookUser(str(10**15 + len(self.users)), first_name, last_name, email)
        self.users.append(user)
        return user

    def token_for(self, user: FacebookUser, app_id: str | None = None, expires_in: int = TOKEN_LIFETIME,
                  scopes: tuple[str, ...] = ("email", "public_profile")) -> str:
        """A user token, as a phone's Facebook SDK receives it."""
        token = "EAA" + secrets.token_urlsafe(48)
        self.tokens[token] = UserToken(app_id or self.app_id, user, scopes, int(time.time()) + expires_in)
        return token

    def app_secret(self) -> str:
        return self.apps[self.app_id]

    # -- the server ---------------------------------------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/{version}/dialog/oauth", self.dialog)
        app.router.add_get("/{version}/dialog/decision", self.decision)
        app.router.add_get("/{version}/oauth/access_token", self.access_token)
        app.router.add_get("/{version}/debug_token", self.debug_token)
        app.router.add_get("/{version}/me", self.me)
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

    @staticmethod
    def _access_token(request: web.Request) -> str:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() in ("oauth", "bearer") and value:
            return value
        return request.query.get("access_token", "")

    async def dialog(self, request: web.Request) -> web.Response:
        query = request.query
        if query.get("client_id") != self.app_id:
            return web.Response(status=400, content_type="text/html", text="<p>Invalid App ID</p>")
        redirect_uri = query.get("redirect_uri", "")
        if redirect_uri not in self.redirect_uris:
            return web.Response(status=400, content_type="text/html",
                                text="<p>URL blocked: this redirect failed because the redirect URI is not "
                                     "whitelisted in the app's client OAuth settings.</p>")
        if query.get("code_challenge") and query.get("code_challenge_method") != "S256":
            return web.Response(status=400, content_type="text/html", text="<p>Invalid code_challenge_method</p>")
        request_id = secrets.token_urlsafe(16)
        user = self.users[0]
        self._pending[request_id] = _Pending(user, redirect_uri, query.get("state", ""), query.get("code_challenge"))
        base = f"/{request.match_info['version']}/dialog/decision?"

        def link(decision: str) -> str:
            return html.escape(base + urlencode({"request": request_id, "decision": decision}))

        return web.Response(content_type="text/html", text=(
            f"<html><body><h1>Continue as {html.escape(user.first_name)}?</h1>"
            f"<p>Lockstep is requesting access to your name, profile picture and email address.</p>"
            f"<a id=\"continue\" href=\"{link('continue')}\">Continue</a> "
            f"<a id=\"without-email\" href=\"{link('without_email')}\">Edit access: don't share email</a> "
            f"<a id=\"cancel\" href=\"{link('cancel')}\">Cancel</a></body></html>"))

    async def decision(self, request: web.Request) -> web.Response:
        pending = self._pending.pop(request.query.get("request", ""), None)
        if pending is None:
            return web.Response(status=400, content_type="text/html", text="<p>This link has expired.</p>")
        decision = request.query.get("decision")
        if decision == "cancel":
            back = {"error": "access_denied", "error_code": "200", "error_description": "Permissions error",
                    "error_reason": "user_denied", "state": pending.state}
        else:
            code = "AQ" + secrets.token_urlsafe(48)
            scopes = ("public_profile",) if decision == "without_email" else ("email", "public_profile")
            self._codes[code] = (pending, scopes, time.monotonic())
            back = {"code": code, "state": pending.state}
        raise web.HTTPFound(f"{pending.redirect_uri}?{urlencode(back)}#_=_")

    async def access_token(self, request: web.Request) -> web.Response:
        query = request.query
        if self.apps.get(query.get("client_id", "")) != query.get("client_secret") or \
                query.get("client_id") != self.app_id:
            return graph_error(400, "Error validating client secret.", "OAuthException", 1)
        found = self._codes.pop(query.get("code", ""), None)
        if found is None or time.monotonic() - found[2] > CODE_LIFETIME:
            return graph_error(400, "This authorization code has been used.", "OAuthException", 100, 36009)
        pending, scopes, _ = found
        if query.get("redirect_uri") != pending.redirect_uri:
            return graph_error(400, "Error validating verification code. Please make sure your redirect_uri is "
                                    "identical to the one you used in the OAuth dialog request", "OAuthException", 100)
        if pending.challenge is not None:
            verifier = query.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if digest != pending.challenge:
                return graph_error(400, "Invalid code verifier", "OAuthException", 100)
        token = self.token_for(pending.user, scopes=scopes)
        return web.json_response({"access_token": token, "token_type": "bearer", "expires_in": TOKEN_LIFETIME})

    async def debug_token(self, request: web.Request) -> web.Response:
        app_token = self._access_token(request)
        app_id, _, secret = app_token.partition("|")
        if self.apps.get(app_id) != secret or not secret:
            return graph_error(400, "Invalid OAuth access token - Cannot parse access token", "OAuthException", 190)
        token = self.tokens.get(request.query.get("input_token", ""))
        if token is None:
            return web.json_response({"data": {"error": {"code": 190, "message": "Invalid OAuth access token."},
                                               "is_valid": False, "scopes": []}})
        now = int(time.time())
        data: dict[str, Any] = {"app_id": token.app_id, "type": "USER", "application": "Lockstep"
                                if token.app_id == self.app_id else "Another app",
                                "data_access_expires_at": token.expires_at + 7_776_000,
                                "expires_at": token.expires_at, "is_valid": token.valid and token.expires_at > now,
                                "issued_at": token.issued_at, "scopes": list(token.scopes),
                                "user_id": token.user.id}
        if token.expires_at <= now:
            data["error"] = {"code": 190, "message": "Error validating access token: Session has expired.",
                             "subcode": 463}
        return web.json_response({"data": data})

    async def me(self, request: web.Request) -> web.Response:
        token = self.tokens.get(self._access_token(request))
        if token is None or not token.valid or token.expires_at <= time.time():
            return graph_error(400, "Invalid OAuth access token data.", "OAuthException", 190)
        proof = request.query.get("appsecret_proof")
        expected = hmac.new(self.apps[token.app_id].encode(), self._access_token(request).encode(),
                            hashlib.sha256).hexdigest()
        if proof is None and self.require_appsecret_proof:
            return graph_error(400, "API calls from the server require an appsecret_proof argument",
                               "GraphMethodException", 100)
        if proof is not None and not hmac.compare_digest(proof, expected):
            return graph_error(400, "Invalid appsecret_proof provided in the API argument", "GraphMethodException",
                               100)
        user = token.user
        every: dict[str, Any] = {"id": user.id, "name": f"{user.first_name} {user.last_name}",
                                 "first_name": user.first_name, "last_name": user.last_name,
                                 "picture": {"data": {"height": 50, "is_silhouette": False, "width": 50,
                                                      "url": f"https://platform-lookaside.fbsbx.com/{user.id}"}}}
        if user.email is not None and "email" in token.scopes:
            every["email"] = user.email
        fields = request.query.get("fields", "id,name").split(",")
        return web.json_response({name: every[name] for name in fields if name in every})
