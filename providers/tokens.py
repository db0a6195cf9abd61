"""How a provider client gets the OAuth access token it sends, without knowing where tokens are kept.

Terms:
- *access token*: the short-lived bearer token a provider API call carries.
- *refresh*: trading the long-lived refresh token for a new access token at the provider's token endpoint, and
  keeping the result (the caller owns storage: encrypted credentials in the database, or a test's memory).
"""

from __future__ import annotations

from typing import Protocol


class AccessTokens(Protocol):
    """The source of access tokens for one connection.

    A client calls `current()` before each request. When the provider answers 401 with that token, the client calls
    `refreshed(rejected)` once and retries with what it returns; a second 401 means the grant itself is refused.
    `rejected` lets an implementation shared by concurrent requests refresh once: if the token it holds is no
    longer `rejected`, someone already refreshed and it returns the newer one.

    Both raise providers.base.AuthFailed when the grant is gone (the refresh token is revoked or expired: the
    connection needs re-authorisation), and another ProviderError when the token endpoint cannot be reached.
    """

    async def current(self) -> str:
        ...

    async def refreshed(self, rejected: str) -> str:
        ...
