"""The fake Google's OAuth endpoints, driven by Lockstep's OAuth client (providers/oauth.py) as the connect flow
will drive them; and the fake served from a thread of its own."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import aiohttp
import httpx
import pytest

from providers.oauth import (
    AppRejected,
    GrantRevoked,
    OAuthClient,
    authorization_url,
    exchange_code,
    refresh_tokens,
    revoke_token,
)
from tests.fakes.google import FakeGoogle

REDIRECT = "http://127.0.0.1:8000/oauth/google/callback"
SCOPE = "https://www.googleapis.com/auth/calendar.events"


def client(google: FakeGoogle, secret: str = "fake-client-secret", redirect: str = REDIRECT) -> OAuthClient:
    return OAuthClient(google.authorize_url, google.token_url, google.revoke_url, google.oauth.client_id, secret,
                       redirect, (SCOPE,), extra=(("access_type", "offline"), ("prompt", "consent")))


async def consent(url: str) -> tuple[int, dict[str, list[str]], str]:
    """Follow the authorisation URL as a browser would, stopping at the redirect: (status, its query, location)."""
    async with aiohttp.ClientSession() as session, session.get(url, allow_redirects=False) as answer:
        location = answer.headers.get("Location", "")
        return answer.status, parse_qs(urlsplit(location).query), location


@pytest.fixture
async def google() -> AsyncIterator[FakeGoogle]:
    async with FakeGoogle(redirect_uris=(REDIRECT,)) as fake:
        yield fake


async def test_consent_then_code_exchange_with_pkce_then_refresh(google: FakeGoogle) -> None:
    verifier = secrets.token_urlsafe(48)
    status, query, location = await consent(authorization_url(client(google), "state-1", verifier))
    assert (status, location.startswith(REDIRECT + "?"), query["state"], query["scope"]) == (
        302, True, ["state-1"], [SCOPE])
    tokens = await exchange_code(client(google), query["code"][0], verifier, datetime.now(UTC))
    assert (tokens.scope, tokens.access_token.startswith("ya29."), tokens.refresh_token.startswith("1//")) == (
        SCOPE, True, True)
    # the code is single use
    with pytest.raises(GrantRevoked):
        await exchange_code(client(google), query["code"][0], verifier, datetime.now(UTC))
    refreshed = await refresh_tokens(client(google), tokens.refresh_token, datetime.now(UTC))
    assert refreshed.refresh_token == tokens.refresh_token and refreshed.access_token != tokens.access_token


async def test_a_wrong_verifier_or_secret_is_refused(google: FakeGoogle) -> None:
    _, query, _ = await consent(authorization_url(client(google), "s", secrets.token_urlsafe(48)))
    with pytest.raises(GrantRevoked):
        await exchange_code(client(google), query["code"][0], secrets.token_urlsafe(48), datetime.now(UTC))
    _, query, _ = await consent(authorization_url(client(google), "s", "v" * 43))
    with pytest.raises(AppRejected) as raised:
        await exchange_code(client(google, secret="wrong"), query["code"][0], "v" * 43, datetime.now(UTC))
    assert str(raised.value) == ("the provider refuses this server's client registration (invalid_client); the "
                                 "operator has to renew its client secret or registration")


async def test_refused_consent_and_bad_redirects(google: FakeGoogle) -> None:
    google.oauth.refuse_consent = True
    _, query, _ = await consent(authorization_url(client(google), "state-2", "v" * 43))
    assert query == {"state": ["state-2"], "error": ["access_denied"]}
    status, _, location = await consent(authorization_url(client(google, redirect="https://evil.example/cb"), "s",
                                                          "v" * 43))
    assert (status, location) == (400, "")


async def test_revoking_ends_the_grant(google: FakeGoogle) -> None:
    access, refresh = google.oauth.issue_tokens()
    await revoke_token(client(google), refresh)
    with pytest.raises(GrantRevoked):
        await refresh_tokens(client(google), refresh, datetime.now(UTC))
    async with aiohttp.ClientSession() as session, session.get(
            google.api_url + "users/me/calendarList", headers={"Authorization": f"Bearer {access}"}) as answer:
        assert (answer.status, (await answer.json())["error"]["errors"][0]["reason"]) == (401, "authError")


def test_the_fake_serves_from_a_thread_for_blocking_clients() -> None:
    google = FakeGoogle()
    with google.running_in_thread():
        access, _ = google.oauth.issue_tokens()
        event = google.insert_by_hand("tech@example.com", {"summary": "Dentist",
                                                           "start": {"dateTime": "2030-01-08T14:00:00Z"},
                                                           "end": {"dateTime": "2030-01-08T15:00:00Z"}})
        answer = httpx.get(f"{google.api_url}calendars/primary/events/{event['id']}",
                           headers={"Authorization": f"Bearer {access}"})
    assert (answer.status_code, answer.json()["summary"]) == (200, "Dentist")
