"""Sign in with Google (OpenID Connect): the web code flow (PKCE S256 and a nonce) and the ID tokens a phone's
Google Sign-In SDK hands to its app, both checked against Google's published keys.

Terms:
- *client ids*: Lockstep's OAuth clients at Google. The first is the web client: every ID token must be for it
  (`aud`), since the Android and iOS SDKs ask for a token for the server's web client.
- *presenter* (`azp`): the client that asked for the ID token. A phone's token must name one of our client ids: it
  is the claim that says which of our apps asked (the audience is always the web client). The token the web flow's
  code is traded for was asked for by the web client itself, with its secret, and Google documents `azp` as needed
  only when the asking party is not the audience (as OpenID Connect Core 1.0 section 2 does), so there it may be
  absent; when present it must be the web client.
- *discovery*: Google's OpenID configuration (issuer, endpoints, key set address), read once and kept an hour.
- *key set* (JWKS): Google's public signing keys, kept as long as its Cache-Control says. A token signed with a key
  not in it (`kid` unknown: Google rotated its keys) makes it read again, at most once per `min_refetch_seconds`,
  so forged key ids cannot make Lockstep hammer Google.
- *authoritative*: Google owns the address: a verified `@gmail.com` one, or a verified Workspace one (`hd` set).

authlib's client checks would refuse phone tokens (`azp` is the phone's client) and Google's scheme-less issuer,
so the token is decoded with joserfc and every claim is checked here.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from domain.sign_in import IdentityRejected, ProviderUnreachable, VerifiedIdentity
from providers.sign_in_http import call_json, code_flow_url

NAME = "google"
DISCOVERY_URL = "https://accounts.google.com/.well-known/openid-configuration"
SCOPES = "openid email profile"
DISCOVERY_SECONDS = 3600.0
DEFAULT_KEYS_SECONDS = 3600.0
LEEWAY_SECONDS = 60  # clock skew allowed on exp and iat
_MAX_AGE = re.compile(r"max-age=(\d+)")


@dataclass(frozen=True)
class GoogleSignInApp:
    """Lockstep's registration at Google: the web client id first, then the phones' ones."""

    client_ids: tuple[str, ...]
    client_secret: str = field(repr=False)
    redirect_uri: str
    discovery_url: str = DISCOVERY_URL
    timeout_seconds: float = 10.0
    min_refetch_seconds: float = 5.0

    @property
    def web_client_id(self) -> str:
        return self.client_ids[0]


def _authoritative(claims: Mapping[str, Any]) -> bool:
    verified = claims.get("email_verified") in (True, "true")
    email = str(claims.get("email", "")).lower()
    return verified and (email.endswith("@gmail.com") or bool(claims.get("hd")))


def identity_from_claims(claims: Mapping[str, Any], profile: Mapping[str, Any] | None = None) -> VerifiedIdentity:
    """The identity an ID token's claims vouch for; `profile` (the userinfo answer) may fill in the names."""
    names = {**claims, **{key: value for key, value in (profile or {}).items() if key != "sub"}}
    picture = names.get("picture")
    return VerifiedIdentity(provider=NAME, subject=str(claims["sub"]), email=str(claims.get("email", "")).lower(),
                            email_authoritative=_authoritative(claims),
                            first_name=str(names.get("given_name", "")), last_name=str(names.get("family_name", "")),
                            photo_url=str(picture) if picture else None)


class GoogleSignIn:
    """The gateway to Google for signing in: consent URL, code exchange and ID-token checks."""

    provider = NAME
    label = "Google"

    def __init__(self, app: GoogleSignInApp) -> None:
        self.app = app
        self._metadata: dict[str, Any] | None = None
        self._metadata_until = 0.0
        self._keys: KeySet | None = None
        self._keys_until = 0.0
        self._keys_fetched_at = -float("inf")
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return "GoogleSignIn()"

    async def metadata(self) -> dict[str, Any]:
        async with self._lock:
            if self._metadata is None or time.monotonic() >= self._metadata_until:
                reply = await call_json("GET", self.app.discovery_url, "Google's OpenID configuration",
                                        self.app.timeout_seconds)
                if reply.status != 200 or not {"issuer", "authorization_endpoint", "token_endpoint",
                                                "jwks_uri"} <= set(reply.body):
                    raise ProviderUnreachable(f"Google's OpenID configuration is not usable ({reply.status})")
                self._metadata, self._metadata_until = reply.body, time.monotonic() + DISCOVERY_SECONDS
            return self._metadata

    async def _key_set(self, kid: str) -> KeySet:
        """Google's keys, read again when they expired or when `kid` is not among them (a rotation)."""
        metadata = await self.metadata()
        async with self._lock:
            now = time.monotonic()
            known = self._keys is not None and any(key.kid == kid for key in self._keys.keys)
            stale = self._keys is None or now >= self._keys_until
            may_refetch = now - self._keys_fetched_at >= self.app.min_refetch_seconds
            if stale or (not known and may_refetch):
                reply = await call_json("GET", str(metadata["jwks_uri"]), "Google's signing keys",
                                        self.app.timeout_seconds)
                try:
                    keys = KeySet.import_key_set(reply.body)  # type: ignore[arg-type]
                except (JoseError, ValueError, KeyError, TypeError):
                    raise ProviderUnreachable("Google's signing keys could not be read") from None
                age = _MAX_AGE.search(reply.headers.get("Cache-Control", ""))
                self._keys, self._keys_fetched_at = keys, now
                self._keys_until = now + (float(age.group(1)) if age else DEFAULT_KEYS_SECONDS)
            assert self._keys is not None
            return self._keys

    async def verified_claims(self, id_token: str, nonce: str | None = None) -> dict[str, Any]:
        """The claims of a genuine ID token for Lockstep: signed RS256 by one of Google's keys, issued by Google,
        for the web client (`aud`), not expired, and asked for by one of our clients (`azp`, see the module's
        terms). Without `nonce` it is a phone's token, which must name its presenter; with it, the web flow's, which
        must carry that nonce."""
        try:
            header = jws.extract_compact(id_token.encode()).protected
        except (JoseError, ValueError, UnicodeError):
            raise IdentityRejected("The Google ID token is not a JWT") from None
        kid = str(header.get("kid", ""))
        keys = await self._key_set(kid)
        if not any(key.kid == kid for key in keys.keys):
            raise IdentityRejected("The Google ID token is signed with a key Google does not publish")
        issuer = str((await self.metadata())["issuer"])
        issuers = sorted({issuer, issuer.removeprefix("https://")})
        try:
            decoded = jwt.decode(id_token, keys, algorithms=["RS256"])
            JWTClaimsRegistry(leeway=LEEWAY_SECONDS, iss={"essential": True, "values": issuers},
                              aud={"essential": True, "value": self.app.web_client_id},
                              exp={"essential": True}, iat={"essential": True},
                              sub={"essential": True}).validate(decoded.claims)
        except JoseError as exc:
            raise IdentityRejected(f"The Google ID token is not valid ({exc.description or exc.error})") from None
        claims = decoded.claims
        if nonce is None:
            if "azp" not in claims:
                raise IdentityRejected("The Google ID token does not say which client asked for it (azp)")
            if claims["azp"] not in self.app.client_ids:
                raise IdentityRejected("The Google ID token was asked for by a client that is not Lockstep's")
        else:
            if "azp" in claims and claims["azp"] != self.app.web_client_id:
                raise IdentityRejected("The Google ID token was asked for by a client that is not Lockstep's")
            if claims.get("nonce") != nonce:
                raise IdentityRejected("The Google ID token does not answer this sign-in (nonce)")
        return claims

    async def verify_token(self, token: str) -> VerifiedIdentity:
        """A phone's ID token (the SDKs send no nonce of ours)."""
        return identity_from_claims(await self.verified_claims(token))

    async def authorization_url(self, state: str, code_verifier: str, nonce: str) -> str:
        metadata = await self.metadata()
        return code_flow_url(str(metadata["authorization_endpoint"]), self.app.web_client_id, self.app.redirect_uri,
                             SCOPES, state, code_verifier, nonce=nonce)

    async def finish(self, code: str, code_verifier: str, nonce: str) -> VerifiedIdentity:
        """The web flow's code, traded for tokens; the ID token checked (with the nonce), the profile read."""
        metadata = await self.metadata()
        reply = await call_json("POST", str(metadata["token_endpoint"]), "Google's token endpoint",
                                self.app.timeout_seconds, form={
                                    "grant_type": "authorization_code", "code": code,
                                    "redirect_uri": self.app.redirect_uri, "client_id": self.app.web_client_id,
                                    "client_secret": self.app.client_secret, "code_verifier": code_verifier})
        error = str(reply.body.get("error", ""))
        if error in ("invalid_client", "unauthorized_client"):
            raise ProviderUnreachable(f"Google refuses this server's client registration ({error})")
        if reply.status != 200 or not isinstance(reply.body.get("id_token"), str):
            raise IdentityRejected(f"Google did not grant the sign-in ({error or reply.status})")
        claims = await self.verified_claims(reply.body["id_token"], nonce)
        return identity_from_claims(claims, await self._profile(metadata, reply.body.get("access_token"), claims))

    async def _profile(self, metadata: Mapping[str, Any], access_token: Any, claims: Mapping[str, Any]
                       ) -> dict[str, Any] | None:
        """The userinfo answer, when Google names the endpoint; one about another subject is ignored."""
        endpoint = metadata.get("userinfo_endpoint")
        if not endpoint or not isinstance(access_token, str):
            return None
        reply = await call_json("GET", str(endpoint), "Google's userinfo endpoint", self.app.timeout_seconds,
                                headers={"Authorization": f"Bearer {access_token}"})
        if reply.status != 200 or reply.body.get("sub") != claims["sub"]:
            return None
        return reply.body
