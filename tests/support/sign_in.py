"""What the customer sign-in tests share: the app configured against the fake Google and Facebook, and the GraphQL
documents a phone or a web app sends.

Terms: a *deployment* is one test's app (through its real ASGI stack) with both fakes serving on 127.0.0.1, a
GraphQL client for it, and an HTTP client standing in for the customer's browser.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from app.account_security import account_security
from app.main import create_app
from app.settings import Settings
from app.sign_in_providers import sign_in_callback_url
from providers.sign_in_facebook import FacebookSignIn, FacebookSignInApp
from providers.sign_in_google import GoogleSignIn, GoogleSignInApp
from services.sign_in import SignInGateway
from tests.fakes.facebook import FakeFacebook
from tests.fakes.google_sign_in import FakeGoogleSignIn
from tests.support.graphql import GraphQLClient

PUBLIC = "http://lockstep.test"
RETURN_URL = "lockstep://signed-in"
AUTH_FIELDS = """__typename ... on AuthPayload { accessToken refreshToken user { id email name role } }
  ... on UserError { message } ... on SignInLinkRequired { passwordFirst }"""
TOKEN_SIGN_IN = f"""mutation($input: SignInWithProviderTokenInput!) {{ signInWithProviderToken(input: $input) {{
  {AUTH_FIELDS} }} }}"""
EXCHANGE = f"""mutation($code: String!) {{ exchangeSignInCode(input: {{code: $code}}) {{ {AUTH_FIELDS} }} }}"""
START = """mutation($input: StartSignInInput!) { startSignIn(input: $input) { __typename
  ... on SignInAuthorization { authorizationUrl } ... on UserError { message } ... on ValidationError { path } } }"""
METHOD_FIELDS = """__typename ... on SignInMethods { hasPassword emailVerified identities { provider email firstName
  lastName photoUrl } } ... on UserError { message }"""
LINK = f"""mutation($input: LinkSignInProviderInput!) {{ linkSignInProvider(input: $input) {{ {METHOD_FIELDS} }} }}"""
UNLINK = f"""mutation($provider: SignInProvider!) {{ unlinkSignInProvider(input: {{provider: $provider}}) {{
  {METHOD_FIELDS} }} }}"""
SET_PASSWORD = f"""mutation($password: String!) {{ setPassword(input: {{password: $password}}) {{
  {METHOD_FIELDS} }} }}"""
METHODS = f"""query {{ signInMethods {{ {METHOD_FIELDS} }} }}"""
PASSWORD_SIGN_IN = """mutation($email: String!, $password: String!) { signIn(input: {email: $email, password:
  $password}) { __typename ... on AuthPayload { accessToken user { id } } } }"""


def sign_in_settings(google: FakeGoogleSignIn, facebook: FakeFacebook, public_url: str = PUBLIC,
                     return_urls: tuple[str, ...] = (RETURN_URL,), free_failures: int = 50) -> Settings:
    """The app's settings with both providers at the fakes (and a throttle that lets a test fail a few times)."""
    return dataclasses.replace(
        Settings.from_env(), public_url=public_url, sign_in_return_urls=return_urls,
        sign_in_google_client_ids=google.client_ids, sign_in_google_client_secret=google.client_secret,
        sign_in_google_discovery_url=google.discovery_url, sign_in_facebook_app_id=facebook.app_id,
        sign_in_facebook_app_secret=facebook.app_secret(), sign_in_facebook_dialog_url=facebook.dialog_url,
        sign_in_facebook_graph_url=facebook.graph_url, throttle_free_failures=free_failures)


def sign_in_env(google: FakeGoogleSignIn, facebook: FakeFacebook, return_urls: tuple[str, ...]) -> dict[str, str]:
    """The same settings as environment variables, for a real server."""
    return {"LOCKSTEP_SIGNIN_RETURN_URLS": ",".join(return_urls),
            "LOCKSTEP_SIGNIN_GOOGLE_CLIENT_IDS": ",".join(google.client_ids),
            "LOCKSTEP_SIGNIN_GOOGLE_CLIENT_SECRET": google.client_secret,
            "LOCKSTEP_SIGNIN_GOOGLE_DISCOVERY_URL": google.discovery_url,
            "LOCKSTEP_SIGNIN_FACEBOOK_APP_ID": facebook.app_id,
            "LOCKSTEP_SIGNIN_FACEBOOK_APP_SECRET": facebook.app_secret(),
            "LOCKSTEP_SIGNIN_FACEBOOK_DIALOG_URL": facebook.dialog_url,
            "LOCKSTEP_SIGNIN_FACEBOOK_GRAPH_URL": facebook.graph_url}


def gateways(settings: Settings, min_refetch_seconds: float = 0.0) -> dict[str, SignInGateway]:
    """Both gateways as the settings configure them; Google's keys may be read again at once (a test rotates them
    within a second)."""
    google = GoogleSignIn(GoogleSignInApp(
        settings.sign_in_google_client_ids, settings.sign_in_google_client_secret,
        sign_in_callback_url(settings, "google"), settings.sign_in_google_discovery_url,
        min_refetch_seconds=min_refetch_seconds))
    facebook = FacebookSignIn(FacebookSignInApp(
        settings.sign_in_facebook_app_id, settings.sign_in_facebook_app_secret,
        sign_in_callback_url(settings, "facebook"), settings.sign_in_facebook_dialog_url,
        settings.sign_in_facebook_graph_url))
    return {"google": google, "facebook": facebook}


@dataclass
class Deployment:
    google: FakeGoogleSignIn
    facebook: FakeFacebook
    app: httpx.AsyncClient
    api: GraphQLClient
    browser: httpx.AsyncClient

    async def with_token(self, provider: str, token: str) -> dict[str, Any]:
        data = await self.api(TOKEN_SIGN_IN, {"input": {"provider": provider, "token": token}})
        result: dict[str, Any] = data["signInWithProviderToken"]
        return result


@asynccontextmanager
async def deployment(min_refetch_seconds: float = 0.0, configured: bool = True, free_failures: int = 50
                     ) -> AsyncIterator[Deployment]:
    """Both fakes and the app; `configured` False: a server with no sign-in provider set up; `free_failures`: the
    failures one client address may have before the throttle delays it."""
    google = FakeGoogleSignIn(redirect_uris=(f"{PUBLIC}/auth/google/callback",))
    facebook = FakeFacebook(redirect_uris=(f"{PUBLIC}/auth/facebook/callback",))
    async with google, facebook:
        settings = sign_in_settings(google, facebook, free_failures=free_failures)
        app = create_app(settings, accounts=account_security(settings),
                         sign_in_gateways=gateways(settings, min_refetch_seconds) if configured else {})
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PUBLIC) as http, \
                httpx.AsyncClient() as browser:
            yield Deployment(google, facebook, http, GraphQLClient(http), browser)
