"""HTTP to Microsoft Graph v1.0: bearer tokens with one refresh on 401, the preferences every call states, at most four
calls in flight per mailbox, and Graph's errors translated into the ProviderError family at the edge.

Terms:
- *mailbox*: the Outlook mailbox the calls act on. Graph allows an app four concurrent requests per mailbox and
  answers the fifth with 429 ApplicationThrottled, so every client of one mailbox in one event loop shares one
  limiter of four (a client told no mailbox has a limiter of its own).
- *link*: an absolute URL Graph hands back (@odata.nextLink, @odata.deltaLink). It is followed only when it lies under
  the API root this session was made for, so a stored or forged link can never carry the token elsewhere.

Translation:
| Graph answers | raised |
|---|---|
| 401 (again after one refresh) | AuthFailed |
| 429, 503, 504 | RateLimited (Retry-After in seconds, fractions kept; None when absent) |
| 404, 410 | NotFound (a delta round first checks for an expired cursor: CursorExpired) |
| 412 | PreconditionFailed |
| other 5xx, no answer, time-out | Unavailable |
| anything else | ProviderError |
Messages name the call, the status, Graph's error code and Graph's short message: never a token, a header or a query.
"""

from __future__ import annotations

import asyncio
import re
import weakref
from collections.abc import Mapping
from typing import Any

import aiohttp
from yarl import URL

from providers.base import (
    AuthFailed,
    ProviderError,
    RateLimited,
    Unavailable,
)
from providers.http_answer import JsonAnswer, Params, json_body, status_error, with_one_refresh
from providers.http_headers import retry_after
from providers.tokens import AccessTokens

DEFAULT_API_URL = "https://graph.microsoft.com/v1.0"
MAILBOX_CONCURRENCY = 4
# Ids Graph gives are kept across moves between calendars only when asked for them; times come back in UTC so an
# instant never depends on the mailbox's zone.
PREFERENCES = ('IdType="ImmutableId"', 'outlook.timezone="UTC"')
MAX_PAGES = 1000  # a listing that keeps going is given up on rather than followed forever
_MESSAGE_LENGTH = 160
_SECONDS = re.compile(r"[0-9]+(\.[0-9]+)?")
_RATE_LIMITED = {429, 503, 504}

_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary())


def mailbox_limiter(mailbox: str) -> asyncio.Semaphore:
    """The limiter every client of `mailbox` shares in the running event loop (a semaphore belongs to one loop)."""
    per_loop = _limiters.setdefault(asyncio.get_running_loop(), {})
    return per_loop.setdefault(mailbox, asyncio.Semaphore(MAILBOX_CONCURRENCY))


def seconds_to_wait(headers: Mapping[str, str]) -> float | None:
    """Retry-After as Graph sends it: whole or fractional seconds ("2.128"), or an HTTP date; None when absent."""
    value = headers.get("Retry-After", "").strip()
    if _SECONDS.fullmatch(value):
        return float(value)
    return retry_after(headers)


class Answer(JsonAnswer):
    """One HTTP answer of Graph: `what` names the call for messages (e.g. "event.update")."""

    @property
    def code(self) -> str:
        """Graph's error code ("" when the body has none)."""
        try:
            return str(self.body["error"]["code"])
        except (KeyError, TypeError):
            return ""

    @property
    def message(self) -> str:
        """Graph's error message, shortened to one line ("" when the body has none)."""
        try:
            text = " ".join(str(self.body["error"]["message"]).split())
        except (KeyError, TypeError):
            return ""
        return text if len(text) <= _MESSAGE_LENGTH else text[:_MESSAGE_LENGTH - 1] + "…"

    def said(self) -> str:
        code, message = self.code, self.message
        return (f"{self.what}: Microsoft Graph answered {self.status}{' ' + code if code else ''}"
                f"{' (' + message + ')' if message else ''}")

    def error(self) -> ProviderError:
        status, said = self.status, self.said()
        if status == 401:
            return AuthFailed(f"{said}: the connection needs to be authorised again")
        if status in _RATE_LIMITED:
            return RateLimited(said, seconds_to_wait(self.headers))
        return status_error(status, said)


class GraphSession:
    """Authorised calls to one Graph root (`api_url`, e.g. "https://graph.microsoft.com/v1.0"); close with
    `aclose()`."""

    def __init__(self, tokens: AccessTokens, api_url: str = DEFAULT_API_URL, timeout: float = 30.0,
                 mailbox: str = "") -> None:
        self._tokens = tokens
        self.api_url = api_url.rstrip("/")
        self._mailbox = mailbox
        self._own_limiter = asyncio.Semaphore(MAILBOX_CONCURRENCY)
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))

    async def aclose(self) -> None:
        await self._session.close()

    def is_ours(self, link: str) -> bool:
        """Whether an absolute link lies under this session's API root."""
        return link.startswith(self.api_url + "/")

    async def call(self, what: str, method: str, path: str, *, params: Params = (), body: Any = None,
                   headers: Mapping[str, str] | None = None) -> Answer:
        """`path` is relative to the API root and already percent-encoded. A 401 asks the token source for a fresh
        token once and retries; a second 401 raises AuthFailed. Other answers are returned as they are."""
        url = URL(f"{self.api_url}/{path}", encoded=True)
        if params:
            url = url.with_query(list(params))
        return await self._authorised(what, method, url, body, headers)

    async def ok(self, what: str, method: str, path: str, *, params: Params = (), body: Any = None,
                 headers: Mapping[str, str] | None = None) -> Answer:
        """`call`, raising the answer's error unless it is a success."""
        answer = await self.call(what, method, path, params=params, body=body, headers=headers)
        if not answer.ok:
            raise answer.error()
        return answer

    async def collection(self, what: str, path: str, params: Params = (),
                         headers: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Every item of a paged collection, following @odata.nextLink to the last page (each page asked for with
        `headers`)."""
        body = (await self.ok(what, "GET", path, params=params, headers=headers)).body or {}
        items: list[dict[str, Any]] = list(body.get("value", []))
        for _ in range(MAX_PAGES):
            link = body.get("@odata.nextLink")
            if not link:
                return items
            answer = await self.follow(what, str(link), headers=headers)
            if not answer.ok:
                raise answer.error()
            body = answer.body or {}
            items.extend(body.get("value", []))
        raise ProviderError(f"{what}: still more pages after {MAX_PAGES}")

    async def follow(self, what: str, link: str, *, headers: Mapping[str, str] | None = None) -> Answer:
        """GET a link Graph handed back, exactly as given; ProviderError when it is not under the API root."""
        if not self.is_ours(link):
            raise ProviderError(f"{what}: Microsoft Graph handed back a link outside its API root")
        return await self._authorised(what, "GET", URL(link, encoded=True), None, headers)

    async def _authorised(self, what: str, method: str, url: URL, body: Any,
                          headers: Mapping[str, str] | None) -> Answer:
        return await with_one_refresh(self._tokens, lambda token: self._send(what, method, url, body, headers, token))

    async def _send(self, what: str, method: str, url: URL, body: Any, headers: Mapping[str, str] | None,
                    token: str) -> Answer:
        extra = dict(headers or {})
        preferences = [*PREFERENCES, *filter(None, [extra.pop("Prefer", "")])]
        sent = {"Authorization": f"Bearer {token}", "Accept": "application/json",
                "Prefer": ", ".join(preferences), **extra}
        limiter = mailbox_limiter(self._mailbox) if self._mailbox else self._own_limiter
        try:
            async with limiter, self._session.request(method, url, json=body, headers=sent) as response:
                return Answer(what, response.status, dict(response.headers), await json_body(response))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Unavailable(f"{what}: Microsoft Graph could not be reached ({type(exc).__name__})") from exc

