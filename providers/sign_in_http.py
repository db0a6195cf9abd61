"""What the sign-in providers (providers/sign_in_google.py, providers/sign_in_facebook.py) share at the HTTP edge:
one call that answers parsed JSON, its failures translated into domain.sign_in's two errors, and the PKCE and
authorisation-URL pieces of the code flow.

A provider that cannot be reached, answers 5xx or 429, or answers something that is not JSON is
`ProviderUnreachable`; the caller decides which 4xx answers mean the token or code is not vouched for
(`IdentityRejected`). Messages name the call and the status only: never a token, a code or a secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from domain.sign_in import ProviderUnreachable


@dataclass(frozen=True)
class JsonReply:
    status: int
    body: dict[str, Any]
    headers: Mapping[str, str]


async def call_json(method: str, url: str, what: str, seconds: float, *, params: Mapping[str, str] | None = None,
                    form: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None) -> JsonReply:
    """One call that must answer a JSON object (with any status below 500 but 429)."""
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=seconds)) as session, \
                session.request(method, url, params=params, data=form,
                                headers={"Accept": "application/json", **(headers or {})}) as response:
            status = response.status
            try:
                answer = await response.json(content_type=None)
            except ValueError:
                answer = None
            reply_headers = dict(response.headers)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise ProviderUnreachable(f"{what} could not be reached ({type(exc).__name__})") from None
    if status >= 500 or status == 429:
        raise ProviderUnreachable(f"{what} failed ({status})")
    if not isinstance(answer, dict):
        raise ProviderUnreachable(f"{what} answered something that is not a JSON object ({status})")
    return JsonReply(status, answer, reply_headers)


def code_flow_url(authorize_url: str, client_id: str, redirect_uri: str, scopes: str, state: str,
                  code_verifier: str, **extra: str) -> str:
    """The provider's consent page: the authorisation code flow with PKCE S256 and our `state`."""
    return str(prepare_grant_uri(authorize_url, client_id, "code", redirect_uri=redirect_uri, scope=scopes,
                                 state=state, code_challenge=create_s256_code_challenge(code_verifier),
                                 code_challenge_method="S256", **extra))
