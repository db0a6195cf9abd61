"""Calendly's failures become the ProviderError family at the edge of the Calendly client (providers/calendly_http.py),
against the fake Calendly over real HTTP: a 401 is met with one refresh of an OAuth token (none of a personal access
token), a 429 waits as Calendly says, a spent budget is not spent further, 5xx, time-outs and no answer are
Unavailable, a 400 names its parameter, a listing that keeps going is given up on, and no message holds a secret."""

from __future__ import annotations

import pytest

from providers.base import AuthFailed, ProviderError, RateLimited, Unavailable
from providers.calendly import CalendlyClient, PersonalAccessToken
from providers.calendly_http import MAX_PAGES, seconds_to_wait
from providers.oauth import GrantRevoked
from tests.fakes.calendly import FakeCalendly
from tests.support.calendly import FakeCalendlyTokens, calendly_client

HOOK = "https://lockstep.example.com/webhooks/calendly/conn-7"


def calls(calendly: FakeCalendly) -> list[tuple[str, int]]:
    return [(entry.path, entry.status) for entry in calendly.log]


async def test_a_bad_request_is_a_provider_error_naming_the_parameter_not_its_value(calendly: FakeCalendly,
                                                                                    client: CalendlyClient) -> None:
    with calendly.sending_bad_requests(), pytest.raises(ProviderError) as raised:
        await client.create_webhook(url="not a url s3cret", organization=calendly.organization_uri,
                                    user=calendly.user_uri, scope="user", signing_key="k3y-s3cret")
    assert (type(raised.value), str(raised.value)) == (
        ProviderError, "webhook.create: Calendly answered 400 Invalid Argument (The supplied parameters are "
                       "invalid.); check url")


# -- authorisation ------------------------------------------------------------------------------------------------

async def test_a_401_refreshes_the_oauth_token_once_and_retries(calendly: FakeCalendly) -> None:
    tokens = FakeCalendlyTokens(calendly)
    spent = tokens.refresh_token
    calendly.fail("GET", r"^/users/me$", 401)
    async with calendly_client(calendly, tokens) as client:
        assert (await client.me()).uri == calendly.user_uri
    assert (tokens.refreshes, calls(calendly)) == (1, [("/users/me", 401), ("/oauth/token", 200),
                                                       ("/users/me", 200)])
    assert spent not in calendly.oauth.refresh_tokens and tokens.refresh_token in calendly.oauth.refresh_tokens


async def test_an_expired_access_token_is_refreshed_on_its_401(calendly: FakeCalendly) -> None:
    tokens = FakeCalendlyTokens(calendly)
    calendly.oauth.expire_access_tokens()
    async with calendly_client(calendly, tokens) as client:
        assert len(await client.event_types(calendly.user_uri)) == 0
    assert tokens.refreshes == 1


async def test_a_second_401_is_auth_failed_and_says_no_secret(calendly: FakeCalendly) -> None:
    tokens = FakeCalendlyTokens(calendly)
    calendly.fail("GET", r"^/users/me$", 401, times=2)
    async with calendly_client(calendly, tokens) as client:
        with pytest.raises(AuthFailed) as raised:
            await client.me()
    assert str(raised.value) == ("users.me: Calendly answered 401 Unauthenticated (The access token is invalid): the "
                                 "connection needs to be authorised again")
    for secret in (tokens.access_token, tokens.refresh_token, calendly.client_secret):
        assert secret not in str(raised.value)


async def test_a_revoked_grant_fails_the_refresh(calendly: FakeCalendly) -> None:
    tokens = FakeCalendlyTokens(calendly)
    calendly.oauth.revoke_all()
    async with calendly_client(calendly, tokens) as client:
        with pytest.raises(GrantRevoked):  # an AuthFailed: the connection needs re-authorisation
            await client.me()


async def test_a_personal_access_tokens_401_is_auth_failed_without_a_refresh(calendly: FakeCalendly) -> None:
    token = calendly.personal_token()
    calendly.oauth.revoke_all()
    async with calendly_client(calendly, PersonalAccessToken(token)) as client:
        with pytest.raises(AuthFailed) as raised:
            await client.me()
    assert calls(calendly) == [("/users/me", 401)]
    assert token not in str(raised.value) and token not in repr(PersonalAccessToken(token))


# -- rate limits and outages ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("headers", "seconds"), [
    ({"Retry-After": "12", "X-RateLimit-Reset": "37"}, 12.0), ({"X-RateLimit-Reset": "37"}, 37.0),
    ({"X-RateLimit-Reset": "0.5"}, 0.5), ({"X-RateLimit-Reset": "soon"}, None), ({}, None)])
def test_the_wait_is_retry_after_else_the_reset(headers: dict[str, str], seconds: float | None) -> None:
    assert seconds_to_wait(headers) == seconds


async def test_a_429_is_rate_limited_for_the_reset_and_nothing_is_sent_meanwhile(calendly: FakeCalendly,
                                                                                client: CalendlyClient) -> None:
    calendly.fail("GET", r"^/users/me$", 429, reset=37)
    with pytest.raises(RateLimited) as raised:
        await client.me()
    assert (str(raised.value), raised.value.retry_after) == (
        "users.me: Calendly answered 429 Too Many Requests (You have exceeded the rate limit. Please try again "
        "later.)", 37.0)
    with pytest.raises(RateLimited) as quiet:
        await client.event_types(calendly.user_uri)
    assert str(quiet.value) == "event_types.list: Calendly's rate limit for this user is spent; not sent"
    assert quiet.value.retry_after is not None and 0 < quiet.value.retry_after <= 37
    assert calls(calendly) == [("/users/me", 429)]


async def test_a_spent_budget_is_not_spent_further_by_any_client_of_the_account(calendly: FakeCalendly) -> None:
    calendly.set_budget(2)
    token = calendly.personal_token()
    async with CalendlyClient(PersonalAccessToken(token), api_url=calendly.api_url, timeout=5,
                              account=calendly.user_uri) as first, \
            CalendlyClient(PersonalAccessToken(token), api_url=calendly.api_url, timeout=5,
                           account=calendly.user_uri) as second:
        await first.me()
        await first.me()  # answered with X-RateLimit-Remaining: 0
        for client in (first, second):
            with pytest.raises(RateLimited):
                await client.me()
    assert calls(calendly) == [("/users/me", 200), ("/users/me", 200)]


async def test_server_errors_time_outs_and_no_answer_are_unavailable(calendly: FakeCalendly) -> None:
    token = PersonalAccessToken(calendly.personal_token())
    calendly.fail("GET", r"^/users/me$", 500)
    calendly.stall("GET", r"^/event_types$", 10)
    async with calendly_client(calendly, token, seconds=0.5) as client:
        with pytest.raises(Unavailable) as failed:
            await client.me()
        with pytest.raises(Unavailable) as late:
            await client.event_types(calendly.user_uri)
    async with CalendlyClient(token, api_url="http://127.0.0.1:9", timeout=2) as unreachable:
        with pytest.raises(Unavailable) as refused:
            await unreachable.me()
    assert str(failed.value) == ("users.me: Calendly answered 500 Internal Server Error (The server encountered an "
                                 "unexpected condition that prevented it from fulfilling the request.)")
    assert str(late.value).startswith("event_types.list: Calendly could not be reached (")
    assert str(refused.value).startswith("users.me: Calendly could not be reached (")


async def test_a_listing_that_keeps_going_is_given_up_on(calendly: FakeCalendly, client: CalendlyClient) -> None:
    for number in range(MAX_PAGES * 100 + 1):
        calendly.add_event_type(calendly.user, f"Service {number:05d}")
    with pytest.raises(ProviderError) as raised:
        await client.event_types(calendly.user_uri)
    assert str(raised.value) == f"event_types.list: still more pages after {MAX_PAGES}"
    assert len(calendly.log) == MAX_PAGES
