"""What the JSON APIs behind bearer tokens (Google Calendar, Microsoft Graph) share at the HTTP edge: the answer of
one call, reading its body, the statuses both translate alike, and the one refresh a rejected token earns.

Terms:
- *answer*: one HTTP answer as a provider's session returns it; `what` names the call for messages, and each
  provider's subclass reads its own error shape and translates it (`error()`) into the ProviderError family.
- *one refresh*: a 401 asks the token source for a fresh token once and the call is sent again; a second 401 means
  the grant itself is refused (AccessTokens in providers/tokens.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp

from providers.base import NotFound, PreconditionFailed, ProviderError, Unavailable
from providers.tokens import AccessTokens

Params = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class JsonAnswer:
    what: str
    status: int
    headers: Mapping[str, str]
    body: Any  # the parsed JSON, or None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def error(self) -> ProviderError:
        raise NotImplementedError


def status_error(status: int, said: str) -> ProviderError:
    """The error a status names once the provider's own cases (authorisation, rate limits, expired cursors) are
    settled: 404 and 410 NotFound, 412 PreconditionFailed, 5xx Unavailable, anything else ProviderError."""
    if status in (404, 410):
        return NotFound(said)
    if status == 412:
        return PreconditionFailed(said)
    if status >= 500:
        return Unavailable(said)
    return ProviderError(said)


AnswerT = TypeVar("AnswerT", bound=JsonAnswer)


async def json_body(response: aiohttp.ClientResponse) -> Any:
    """The parsed JSON of an answer; None when it is not JSON or does not parse."""
    if response.content_type != "application/json":
        return None
    try:
        return await response.json()
    except ValueError:
        return None


async def with_one_refresh(tokens: AccessTokens, send: Callable[[str], Awaitable[AnswerT]]) -> AnswerT:
    """`send` with the current token and, on a 401, once more with a refreshed one; a second 401 raises its error
    (AuthFailed). Other answers are returned as they are."""
    token = await tokens.current()
    answer = await send(token)
    if answer.status == 401:
        answer = await send(await tokens.refreshed(token))
        if answer.status == 401:
            raise answer.error()
    return answer
