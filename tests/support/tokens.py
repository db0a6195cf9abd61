"""An AccessTokens source for tests against a fake provider, as a connection's would be: it hands out the access token
it holds and, when asked for a fresh one, refreshes at the fake's token endpoint with providers.oauth, keeping the
newest tokens and counting refreshes (`refreshes`)."""

from __future__ import annotations

from datetime import UTC, datetime

from providers.oauth import OAuthClient, refresh_tokens


class RefreshingTokens:
    def __init__(self, client: OAuthClient, access_token: str, refresh_token: str) -> None:
        self.client = client
        self.access_token, self.refresh_token = access_token, refresh_token
        self.refreshes = 0

    async def current(self) -> str:
        return self.access_token

    async def refreshed(self, rejected: str) -> str:
        if self.access_token == rejected:  # else a concurrent call refreshed already
            tokens = await refresh_tokens(self.client, self.refresh_token, datetime.now(UTC))
            self.access_token, self.refresh_token = tokens.access_token, tokens.refresh_token
            self.refreshes += 1
        return self.access_token
