"""HTTP to the Google Calendar API: bearer tokens with one refresh on 401, and Google's errors translated into the
ProviderError family at the edge (docs/providers.md, "Google: errors and rate limits").

Translation:
| Google answers | raised |
|---|---|
| 401 (again after one refresh) | AuthFailed |
| 403 insufficientPermissions (a scope was not granted) | AuthFailed |
| 403 userRateLimitExceeded / rateLimitExceeded / quotaExceeded, 429 | RateLimited (Retry-After when given) |
| 404, 410 deleted | NotFound |
| 410 fullSyncRequired / updatedMinTooLongAgo | CursorExpired |
| 412 conditionNotMet | PreconditionFailed |
| 5xx, no answer, time-out | Unavailable |
| anything else | ProviderError |
Messages name the call and Google's status and reason only: never a token, a header or a body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp

from providers.base import (
    AuthFailed,
    CursorExpired,
    ProviderError,
    RateLimited,
    Unavailable,
)
from providers.http_answer import JsonAnswer, Params, json_body, status_error, with_one_refresh
from providers.http_headers import retry_after
from providers.tokens import AccessTokens

DEFAULT_API_URL = "https://www.googleapis.com/calendar/v3/"
_RATE_LIMITS = {"userRateLimitExceeded", "rateLimitExceeded", "quotaExceeded"}
_RESYNC = {"fullSyncRequired", "updatedMinTooLongAgo"}


class Answer(JsonAnswer):
    """One HTTP answer of the API: `what` names the call for messages (e.g. "events.patch")."""

    @property
    def reason(self) -> str:
        """Google's reason of the first error ("" when the body has none)."""
        try:
            return str(self.body["error"]["errors"][0]["reason"])
        except (KeyError, IndexError, TypeError):
            return ""

    def error(self) -> ProviderError:
        status, reason = self.status, self.reason
        said = f"{self.what}: Google answered {status}{' ' + reason if reason else ''}"
        if status == 401 or (status == 403 and reason == "insufficientPermissions"):
            return AuthFailed(f"{said}: the connection needs to be authorised again")
        if status == 429 or (status == 403 and reason in _RATE_LIMITS):
            return RateLimited(said, retry_after(self.headers))
        if status == 410 and reason in _RESYNC:
            return CursorExpired(said)
        return status_error(status, said)


class GoogleSession:
    """Authorised calls to one Calendar API root (`api_url`, ending in "/"); close with `aclose()`."""

    def __init__(self, tokens: AccessTokens, api_url: str = DEFAULT_API_URL, timeout: float = 30.0) -> None:
        self._tokens = tokens
        self._api_url = api_url if api_url.endswith("/") else api_url + "/"
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))

    async def aclose(self) -> None:
        await self._session.close()

    async def call(self, what: str, method: str, path: str, *, params: Params = (), body: Any = None,
                   headers: Mapping[str, str] | None = None) -> Answer:
        """`path` is relative to the API root and already percent-encoded. A 401 asks the token source for a fresh
        token once and retries; a second 401 raises AuthFailed. Other answers are returned as they are."""
        return await with_one_refresh(
            self._tokens, lambda token: self._send(what, method, path, params, body, headers, token))

    async def _send(self, what: str, method: str, path: str, params: Params, body: Any,
                    headers: Mapping[str, str] | None, token: str) -> Answer:
        sent = {"Authorization": f"Bearer {token}", "Accept": "application/json", **(headers or {})}
        try:
            async with self._session.request(method, self._api_url + path, params=list(params), json=body,
                                             headers=sent) as response:
                return Answer(what, response.status, dict(response.headers), await json_body(response))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Unavailable(f"{what}: Google could not be reached ({type(exc).__name__})") from exc
