"""Tokens and a provider for tests against the fake Google (tests/fakes/google.py).

`FakeGoogleTokens` is an AccessTokens source as a connection's would be (tests/support/tokens.py), granted by the fake.
`conforming_google` runs the fake and, when the test is done, fails it if any request the client sent or any answer
the fake gave does not conform to Google's discovery document.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from providers.google import GoogleProvider
from providers.oauth import OAuthClient
from tests.fakes.google import FakeGoogle
from tests.support.google_discovery import log_problems
from tests.support.tokens import RefreshingTokens

SCOPE = "https://www.googleapis.com/auth/calendar"


class FakeGoogleTokens(RefreshingTokens):
    def __init__(self, google: FakeGoogle, scopes: frozenset[str] = frozenset({SCOPE})) -> None:
        client = OAuthClient(authorize_url=google.authorize_url, token_url=google.token_url,
                             revoke_url=google.revoke_url, client_id=google.oauth.client_id,
                             client_secret=google.oauth.client_secret, redirect_uri="http://127.0.0.1/cb",
                             scopes=tuple(sorted(scopes)))
        super().__init__(client, *google.oauth.issue_tokens(scopes))


@asynccontextmanager
async def conforming_google() -> AsyncIterator[FakeGoogle]:
    async with FakeGoogle() as google:
        yield google
        problems = log_problems(google.log)
    assert problems == []


@asynccontextmanager
async def google_provider(google: FakeGoogle) -> AsyncIterator[tuple[GoogleProvider, FakeGoogleTokens]]:
    tokens = FakeGoogleTokens(google)
    async with GoogleProvider(tokens, api_url=google.api_url) as provider:
        yield provider, tokens
