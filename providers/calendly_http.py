"""HTTP to the Calendly API v2: bearer tokens with one refresh on 401, listings followed page by page, the per-user
rate limit respected before a request is sent, and Calendly's errors translated into the ProviderError family at
the edge (docs/calendly.md).

Terms:
- *quiet*: when an answer says `X-RateLimit-Remaining: 0`, the user's budget is spent until `X-RateLimit-Reset`
  seconds later; a request meanwhile raises RateLimited at once instead of being sent, so a burst does not burn the
  budget (500 a minute per user, shared by every integration of that user). Clients of one `account` in one process
  share when it ends; a client told no account keeps its own.
- *page*: a listing answers `{"collection": [...], "pagination": {"next_page_token", ...}}`; the next page is the same
  request with `page_token`. Only the token is taken from the answer, never its `next_page` link, so a link can never
  carry the token elsewhere.

Translation:
| Calendly answers | raised |
|---|---|
| 401 (again after one refresh; a personal access token is not refreshed) | AuthFailed |
| 429 | RateLimited (Retry-After, else X-RateLimit-Reset, in seconds; None when neither) |
| 404, 410 | NotFound |
| 5xx, no answer, time-out | Unavailable |
| anything else (400, 403, 409) | ProviderError (the client names some: providers/calendly.py) |
Messages name the call, the status and Calendly's title and message: never a token, a header or a query.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from multidict import CIMultiDict

from providers.base import AuthFailed, ProviderError, RateLimited, Unavailable
from providers.http_answer import JsonAnswer, Params, json_body, status_error, with_one_refresh
from providers.http_headers import retry_after
from providers.tokens import AccessTokens

DEFAULT_API_URL = "https://api.calendly.com"
PAGE_SIZE = 100  # the most Calendly gives a page
MAX_PAGES = 50  # a listing that keeps going is given up on rather than followed forever
DEFAULT_RESET = 60.0  # Calendly's window, when an answer spends the budget without saying when it comes back
_MESSAGE_LENGTH = 160
_SECONDS = re.compile(r"[0-9]{1,7}(\.[0-9]+)?")
_quiet_until: dict[str, float] = {}  # account -> end of its spent budget, on time.monotonic


def seconds_to_wait(headers: Mapping[str, str]) -> float | None:
    """How long a 429 asks to wait: Retry-After, else X-RateLimit-Reset (seconds), else None."""
    waited = retry_after(headers)
    if waited is not None:
        return waited
    reset = headers.get("X-RateLimit-Reset", "").strip()
    return float(reset) if _SECONDS.fullmatch(reset) else None


def _one_line(value: Any) -> str:
    text = " ".join(str(value).split()) if isinstance(value, str) else ""
    return text if len(text) <= _MESSAGE_LENGTH else text[:_MESSAGE_LENGTH - 1] + "…"


@dataclass(frozen=True)
class Answer(JsonAnswer):
    """One HTTP answer of Calendly: `what` names the call for messages (e.g. "webhook.create")."""

    sent_token: str = ""  # kept out of every message

    @property
    def title(self) -> str:
        """Calendly's error title ("Permission Denied"; "" when the body has none)."""
        return _one_line(self.body.get("title")) if isinstance(self.body, dict) else ""

    @property
    def message(self) -> str:
        """Calendly's error message, shortened to one line ("" when the body has none)."""
        return _one_line(self.body.get("message")) if isinstance(self.body, dict) else ""

    def said(self) -> str:
        parameters = []
        if isinstance(self.body, dict) and isinstance(self.body.get("details"), list):
            parameters = [_one_line(detail.get("parameter")) for detail in self.body["details"][:5]
                          if isinstance(detail, dict) and detail.get("parameter")]
        title, message = self.title, self.message
        said = (f"{self.what}: Calendly answered {self.status}{' ' + title if title else ''}"
                f"{' (' + message + ')' if message else ''}"
                f"{'; check ' + ', '.join(parameters) if parameters else ''}")
        return said.replace(self.sent_token, "…") if self.sent_token else said

    def error(self) -> ProviderError:
        status, said = self.status, self.said()
        if status == 401:
            return AuthFailed(f"{said}: the connection needs to be authorised again")
        if status == 429:
            return RateLimited(said, seconds_to_wait(self.headers))
        return status_error(status, said)


class CalendlySession:
    """Authorised calls to one Calendly API root (`api_url`); close with `aclose()`."""

    def __init__(self, tokens: AccessTokens, api_url: str = DEFAULT_API_URL, timeout: float = 30.0,
                 account: str = "") -> None:
        self._tokens = tokens
        self.api_url = api_url.rstrip("/")
        self._account = account
        self._own_quiet_until = 0.0
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))

    async def aclose(self) -> None:
        await self._session.close()

    # -- the rate limit -----------------------------------------------------------------------------------------

    def _quiet_until(self) -> float:
        return _quiet_until.get(self._account, 0.0) if self._account else self._own_quiet_until

    def _keep_quiet(self, until: float) -> None:
        if self._account:
            clock = time.monotonic()
            for account in [account for account, end in _quiet_until.items() if end <= clock]:
                del _quiet_until[account]  # budgets back long since: the table stays small
            _quiet_until[self._account] = until
        else:
            self._own_quiet_until = until

    def _note_budget(self, headers: Mapping[str, str]) -> None:
        if headers.get("X-RateLimit-Remaining", "").strip() == "0":
            wait = seconds_to_wait(headers)
            self._keep_quiet(time.monotonic() + (DEFAULT_RESET if wait is None else wait))

    # -- calls --------------------------------------------------------------------------------------------------

    async def call(self, what: str, method: str, path: str, *, params: Params = (), body: Any = None) -> Answer:
        """`path` is relative to the API root. A 401 asks the token source for a fresh token once and retries;
        a second 401 raises AuthFailed. Other answers are returned as they are."""
        return await with_one_refresh(
            self._tokens, lambda token: self._send(what, method, path, params, body, token))

    async def ok(self, what: str, method: str, path: str, *, params: Params = (), body: Any = None) -> Answer:
        """`call`, raising the answer's error unless it is a success."""
        answer = await self.call(what, method, path, params=params, body=body)
        if not answer.ok:
            raise answer.error()
        return answer

    async def collection(self, what: str, path: str, params: Params = ()) -> list[dict[str, Any]]:
        """Every item of a paged listing, PAGE_SIZE a page, to the last page (at most MAX_PAGES)."""
        items: list[dict[str, Any]] = []
        token: str | None = None
        for _ in range(MAX_PAGES):
            paged = [*params, ("count", str(PAGE_SIZE)), *([("page_token", token)] if token else [])]
            body = (await self.ok(what, "GET", path, params=paged)).body
            collection = body.get("collection") if isinstance(body, dict) else None
            pagination = body.get("pagination") if isinstance(body, dict) else None
            if not isinstance(collection, list) or not isinstance(pagination, dict):
                raise ProviderError(f"{what}: Calendly's answer is not a listing")
            items += [item for item in collection if isinstance(item, dict)]
            token = pagination.get("next_page_token")
            if not token:
                return items
            if not isinstance(token, str):
                raise ProviderError(f"{what}: Calendly's answer has an unreadable page token")
        raise ProviderError(f"{what}: still more pages after {MAX_PAGES}")

    async def _send(self, what: str, method: str, path: str, params: Params, body: Any, token: str) -> Answer:
        wait = self._quiet_until() - time.monotonic()
        if wait > 0:
            raise RateLimited(f"{what}: Calendly's rate limit for this user is spent; not sent", wait)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        try:
            async with self._session.request(method, f"{self.api_url}/{path}", params=list(params), json=body,
                                             headers=headers) as response:
                answer = Answer(what, response.status, CIMultiDict(response.headers), await json_body(response),
                                token)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Unavailable(f"{what}: Calendly could not be reached ({type(exc).__name__})") from exc
        self._note_budget(answer.headers)
        return answer
