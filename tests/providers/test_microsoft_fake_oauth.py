"""The fake Microsoft identity platform over real HTTP: the consent page, PKCE, single-use codes, rotating refresh
tokens, and the refusals a connection meets (revoked, consent missing, admin approval needed, expired secret)."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import aiohttp
import httpx
import pytest

from tests.fakes.microsoft import FakeMicrosoft
from tests.support.graph_contract import check_graph_traffic, conforming_microsoft

REDIRECT = "http://127.0.0.1:8000/oauth/microsoft/callback"
SCOPE = "offline_access Calendars.ReadWrite User.Read"


@pytest.fixture
async def ms() -> AsyncIterator[FakeMicrosoft]:
    async with conforming_microsoft(redirect_uris=(REDIRECT,)) as fake:
        yield fake


def authorize_url(ms: FakeMicrosoft, verifier: str, *, tenant: str = "common", **extra: str) -> str:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = {"client_id": ms.client_id, "response_type": "code", "redirect_uri": REDIRECT, "scope": SCOPE,
             "state": "state-1", "code_challenge": challenge, "code_challenge_method": "S256", **extra}
    return ms.authorize_url.replace("/common/", f"/{tenant}/") + "?" + urlencode(query)


async def sign_in(url: str, decision: str = "accept") -> tuple[int, dict[str, list[str]]]:
    """Open the authorize URL as a browser, press the consent page's button, stop at the redirect back:
    (status of the last answer, query of where it sends the browser)."""
    async with aiohttp.ClientSession() as session:
        async with session.get(url, allow_redirects=False) as page:
            if page.status != 200:
                return page.status, parse_qs(urlsplit(page.headers.get("Location", "")).query)
            link = re.search(rf'id="{decision}" href="([^"]+)"', await page.text())
            assert link is not None
        async with session.get(urljoin(url, link.group(1).replace("&amp;", "&")), allow_redirects=False) as back:
            return back.status, parse_qs(urlsplit(back.headers.get("Location", "")).query)


async def token(ms: FakeMicrosoft, **form: str) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient() as client:
        answer = await client.post(ms.token_url, data={"client_id": ms.client_id, "client_secret": ms.client_secret,
                                                       **form})
    return answer.status_code, answer.json()


async def redeem(ms: FakeMicrosoft, code: str, verifier: str) -> tuple[int, dict[str, Any]]:
    return await token(ms, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=verifier,
                       scope=SCOPE)


def aadsts(body: dict[str, Any]) -> tuple[str, list[int], bool]:
    """(error, error_codes, whether the description starts with the code), Microsoft's error shape."""
    return body["error"], body["error_codes"], body["error_description"].startswith(f"AADSTS{body['error_codes'][0]}:")


async def test_consent_then_code_with_pkce_then_rotating_refresh(ms: FakeMicrosoft) -> None:
    verifier = secrets.token_urlsafe(48)
    status, query = await sign_in(authorize_url(ms, verifier, tenant="organizations"))
    assert (status, query["state"], "session_state" in query) == (302, ["state-1"], True)
    status, tokens = await redeem(ms, query["code"][0], verifier)
    assert (status, tokens["token_type"], tokens["scope"], tokens["expires_in"]) == (
        200, "Bearer", "offline_access Calendars.ReadWrite User.Read", 3599)
    status, refreshed = await token(ms, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert (status, refreshed["refresh_token"] != tokens["refresh_token"]) == (200, True)
    # Microsoft does not revoke the refresh token it replaced
    status, again = await token(ms, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert (status, again["access_token"] != refreshed["access_token"]) == (200, True)
    assert ms.oauth.tenants == ["organizations", "common", "common", "common"]


async def test_a_code_is_single_use_and_bound_to_its_verifier(ms: FakeMicrosoft) -> None:
    verifier = secrets.token_urlsafe(48)
    _, query = await sign_in(authorize_url(ms, verifier))
    status, body = await redeem(ms, query["code"][0], secrets.token_urlsafe(48))
    assert (status, aadsts(body)) == (400, ("invalid_grant", [501481], True))
    status, body = await redeem(ms, query["code"][0], verifier)
    assert (status, aadsts(body)) == (400, ("invalid_grant", [54005], True))


async def test_a_redeemed_code_cannot_be_redeemed_again(ms: FakeMicrosoft) -> None:
    verifier = secrets.token_urlsafe(48)
    _, query = await sign_in(authorize_url(ms, verifier))
    assert (await redeem(ms, query["code"][0], verifier))[0] == 200
    status, body = await redeem(ms, query["code"][0], verifier)
    assert (status, aadsts(body)) == (400, ("invalid_grant", [54005], True))


async def test_declined_consent_and_admin_approval_come_back_on_the_redirect(ms: FakeMicrosoft) -> None:
    status, query = await sign_in(authorize_url(ms, "v" * 43), decision="cancel")
    assert (status, query["error"], query["error_description"][0].startswith("AADSTS65004:"), query["state"]) == (
        302, ["access_denied"], True, ["state-1"])
    ms.oauth.require_admin_consent = True
    status, query = await sign_in(authorize_url(ms, "v" * 43))
    assert (status, query["error"], query["error_description"][0].startswith("AADSTS90094:")) == (
        302, ["access_denied"], True)


async def test_an_unregistered_redirect_or_a_missing_challenge_never_gets_a_code(ms: FakeMicrosoft) -> None:
    async with httpx.AsyncClient() as client:
        page = await client.get(authorize_url(ms, "v" * 43, redirect_uri="https://evil.example/cb"))
    assert (page.status_code, "AADSTS50011" in page.text, "Location" in page.headers) == (400, True, False)
    status, query = await sign_in(authorize_url(ms, "v" * 43, code_challenge_method="plain"))
    assert (status, query["error"]) == (302, ["invalid_request"])


async def test_revoked_sessions_and_withdrawn_consent_refuse_the_refresh(ms: FakeMicrosoft) -> None:
    tokens = ms.oauth.issue_tokens()
    ms.oauth.missing_consent = True
    status, body = await token(ms, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert (status, aadsts(body)) == (400, ("invalid_grant", [65001], True))
    ms.oauth.missing_consent = False
    ms.oauth.revoke_all()
    status, body = await token(ms, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert (status, aadsts(body)) == (400, ("invalid_grant", [70000], True))


async def test_single_use_refresh_tokens_when_switched_on(ms: FakeMicrosoft) -> None:
    ms.oauth.single_use_refresh = True
    tokens = ms.oauth.issue_tokens()
    assert (await token(ms, grant_type="refresh_token", refresh_token=tokens["refresh_token"]))[0] == 200
    status, body = await token(ms, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert (status, aadsts(body)) == (400, ("invalid_grant", [70000], True))


async def test_an_expired_or_wrong_client_secret_is_invalid_client(ms: FakeMicrosoft) -> None:
    tokens = ms.oauth.issue_tokens()
    status, body = await token(ms, grant_type="refresh_token", refresh_token=tokens["refresh_token"],
                               client_secret="not-the-secret")
    assert (status, aadsts(body)) == (401, ("invalid_client", [7000215], True))
    ms.oauth.expire_client_secret()
    status, body = await token(ms, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert (status, aadsts(body)) == (401, ("invalid_client", [7000222], True))
    assert set(body) == {"error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id",
                         "error_uri"}


async def test_without_offline_access_no_refresh_token(ms: FakeMicrosoft) -> None:
    tokens = ms.oauth.issue_tokens(scope="https://graph.microsoft.com/Calendars.Read User.Read")
    assert (tokens["scope"], "refresh_token" in tokens) == ("Calendars.Read User.Read", False)


def test_served_from_a_thread_of_its_own() -> None:
    ms = FakeMicrosoft()
    with ms.running_in_thread():
        tokens = ms.oauth.issue_tokens()
        answer = httpx.get(f"{ms.api_url}/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert (answer.status_code, answer.json()["userPrincipalName"]) == (200, "tech@contoso.example")
    assert check_graph_traffic(ms.log) == []
