"""Tokens and a provider for tests against the fake Google (tests/fakes/google.py).

`FakeGoogleTokens` is an AccessTokens source as a connection's would be: it hands out the access token it holds and,
when asked for a fresh one, refreshes at the fake's token endpoint with providers.oauth, counting refreshes.
`conforming_google` runs the fake and, when the test is done, fails it if any request the client sent or any answer
the fake gave does not conform to Google's discovery document.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from providers.google import GoogleProvider
from providers.oauth import OAuthClient, refresh_tokens
from tests.fakes.google import FakeGoogle
from tests.support.google_discovery import log_problems

SCOPE = "https://www.googleapis.com/auth/calendar"


class FakeGoogleTokens:
    def __init__(self, google: FakeGoogle, scopes: frozenset[str] = frozenset({SCOPE})) -> None:
        self.client = OAuthClient(authorize_url=google.authorize_url, token_url=google.token_url,
                                  revoke_url=google.revoke_url, client_id=google.oauth.client_id,
                                  client_secret=google.oauth.client_secret, redirect_uri="http://127.0.0.1/cb",
                                  scopes=tuple(sorted(scopes)))
        self.access_token, self.refresh_token = google.oauth.issue_tokens(scopes)
        self.refreshes = 0

    async def current(self) -> str:
        return self.access_token

    async def refreshed(self, rejected: str) -> str:
        if self.access_token == rejected:
            tokens = await refresh_tokens(self.client, self.refresh_token, datetime.now(UTC))
            self.access_token = tokens.access_token
            self.refreshes += 1
        return self.access_token


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
