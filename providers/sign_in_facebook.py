"""Sign in with Facebook (Facebook Login): the web code flow through the login dialog, and the access tokens a
phone's Facebook SDK hands to its app, both confirmed with Facebook before anything is believed.

Terms:
- *app*: Lockstep's Facebook app (id and secret). Every token must have been issued to it: `debug_token`, asked
  with the app's own token (`{app-id}|{app-secret}`), says whether a user token is valid, for which app, for which
  user and until when.
- *appsecret_proof*: HMAC-SHA256 of the user's token keyed with the app secret, sent with every Graph call made
  with a user token (Facebook refuses such calls without it when the app requires it, and a token of another app
  fails it).
- *user id*: app-scoped (another app sees another id for the same person): the identity's subject.
Facebook never vouches for an email address (a phone-registered user has none, and any user may decline to share
it), so a Facebook identity is never authoritative for one.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import Any

from domain.sign_in import IdentityRejected, ProviderUnreachable, VerifiedIdentity
from providers.sign_in_http import JsonReply, call_json, code_flow_url

NAME = "facebook"
API_VERSION = "v25.0"
DIALOG_URL = "https://www.facebook.com/{version}/dialog/oauth"
GRAPH_URL = "https://graph.facebook.com"
SCOPES = "email public_profile"
PROFILE_FIELDS = "id,first_name,last_name,name,email,picture"


@dataclass(frozen=True)
class FacebookSignInApp:
    app_id: str
    app_secret: str = field(repr=False)
    redirect_uri: str
    dialog_url: str = DIALOG_URL  # `{version}` is replaced by api_version
    graph_url: str = GRAPH_URL
    api_version: str = API_VERSION
    timeout_seconds: float = 10.0

    def graph(self, path: str) -> str:
        return f"{self.graph_url.rstrip('/')}/{self.api_version}/{path}"


def appsecret_proof(access_token: str, app_secret: str) -> str:
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


def _graph_error(reply: JsonReply) -> str:
    error = reply.body.get("error")
    if isinstance(error, dict):
        return f"{error.get('type', 'error')} {error.get('code', '')}".strip()
    return str(reply.status)


class FacebookSignIn:
    """The gateway to Facebook for signing in: login dialog URL, code exchange, token check and profile."""

    provider = NAME
    label = "Facebook"

    def __init__(self, app: FacebookSignInApp) -> None:
        self.app = app

    def __repr__(self) -> str:
        return "FacebookSignIn()"

    async def authorization_url(self, state: str, code_verifier: str, nonce: str) -> str:
        # auth_type=rerequest asks again for a permission the user declined before (the email address).
        dialog = self.app.dialog_url.replace("{version}", self.app.api_version)
        return code_flow_url(dialog, self.app.app_id, self.app.redirect_uri, SCOPES, state, code_verifier,
                             auth_type="rerequest")

    async def finish(self, code: str, code_verifier: str, nonce: str) -> VerifiedIdentity:
        reply = await call_json("GET", self.app.graph("oauth/access_token"), "Facebook's token exchange",
                                self.app.timeout_seconds, params={
                                    "client_id": self.app.app_id, "redirect_uri": self.app.redirect_uri,
                                    "client_secret": self.app.app_secret, "code": code,
                                    "code_verifier": code_verifier})
        token = reply.body.get("access_token")
        if reply.status != 200 or not isinstance(token, str):
            raise IdentityRejected(f"Facebook did not grant the sign-in ({_graph_error(reply)})")
        return await self.verify_token(token)

    async def verify_token(self, token: str) -> VerifiedIdentity:
        """A user access token: valid, issued to Lockstep's app, not expired; then the profile it may read."""
        if not token:
            raise IdentityRejected("The Facebook access token is empty")
        checked = await self._debugged(token)
        profile = await self._profile(token)
        if str(profile.get("id", "")) != checked["user_id"]:
            raise IdentityRejected("Facebook's profile is not the token's user")
        email = profile.get("email")
        picture = profile.get("picture")
        photo = picture.get("data", {}).get("url") if isinstance(picture, dict) else None
        return VerifiedIdentity(provider=NAME, subject=checked["user_id"],
                                email=str(email).lower() if isinstance(email, str) else "",
                                email_authoritative=False, first_name=str(profile.get("first_name", "")),
                                last_name=str(profile.get("last_name", "")),
                                photo_url=str(photo) if photo else None,
                                email_declined=not email and "email" not in checked["scopes"])

    async def _debugged(self, token: str) -> dict[str, Any]:
        reply = await call_json("GET", self.app.graph("debug_token"), "Facebook's debug_token",
                                self.app.timeout_seconds, params={"input_token": token},
                                headers={"Authorization": f"OAuth {self.app.app_id}|{self.app.app_secret}"})
        data = reply.body.get("data")
        if reply.status in (400, 401, 403) and "error" in reply.body:
            raise ProviderUnreachable(f"Facebook refuses this server's app token ({_graph_error(reply)})")
        if reply.status != 200 or not isinstance(data, dict):
            raise IdentityRejected(f"Facebook could not check the access token ({_graph_error(reply)})")
        if data.get("is_valid") is not True:
            raise IdentityRejected("Facebook says the access token is not valid")
        if str(data.get("app_id", "")) != self.app.app_id:
            raise IdentityRejected("The Facebook access token was issued to another app")
        expires_at = data.get("expires_at", 0)
        if not isinstance(expires_at, int) or (expires_at != 0 and expires_at <= time.time()):
            raise IdentityRejected("The Facebook access token has expired")
        if data.get("type", "USER") != "USER" or not data.get("user_id"):
            raise IdentityRejected("The Facebook access token is not a user's")
        scopes = data.get("scopes")
        return {"user_id": str(data["user_id"]), "scopes": scopes if isinstance(scopes, list) else []}

    async def _profile(self, token: str) -> dict[str, Any]:
        reply = await call_json("GET", self.app.graph("me"), "Facebook's /me", self.app.timeout_seconds,
                                params={"fields": PROFILE_FIELDS,
                                        "appsecret_proof": appsecret_proof(token, self.app.app_secret)},
                                headers={"Authorization": f"OAuth {token}"})
        if reply.status != 200:
            raise IdentityRejected(f"Facebook refused to read the profile ({_graph_error(reply)})")
        return reply.body
