"""Google's errors become the ProviderError family at the edge, and a 401 is met with one token refresh."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.intervals import Span
from providers.base import (
    AuthFailed,
    NotFound,
    PreconditionFailed,
    ProviderError,
    RateLimited,
    Unavailable,
)
from providers.google import GoogleProvider
from providers.oauth import GrantRevoked
from tests.fakes.google import FakeGoogle
from tests.providers.google_fixtures import CALENDAR, START, booking
from tests.support.google import FakeGoogleTokens

WINDOW = Span(START, START + timedelta(days=30))
EVENTS = r"/calendar/v3/calendars/[^/]+/events$"


@pytest.mark.parametrize(("status", "reason", "retry_after", "expected", "message"), [
    (403, "rateLimitExceeded", None, RateLimited, "events.list: Google answered 403 rateLimitExceeded"),
    (403, "userRateLimitExceeded", None, RateLimited, "events.list: Google answered 403 userRateLimitExceeded"),
    (429, None, "30", RateLimited, "events.list: Google answered 429 rateLimitExceeded"),
    (500, None, None, Unavailable, "events.list: Google answered 500 backendError"),
    (503, None, None, Unavailable, "events.list: Google answered 503 backendError"),
    (404, None, None, NotFound, "events.list: Google answered 404 notFound"),
    (412, None, None, PreconditionFailed, "events.list: Google answered 412 conditionNotMet"),
    (403, "forbiddenForNonOrganizer", None, ProviderError,
     "events.list: Google answered 403 forbiddenForNonOrganizer"),
])
async def test_faults_are_translated(google: FakeGoogle, provider: GoogleProvider, status: int, reason: str | None,
                                     retry_after: str | None, expected: type[ProviderError], message: str) -> None:
    google.fail("GET", EVENTS, status, reason=reason, retry_after=retry_after)
    with pytest.raises(ProviderError) as raised:
        await provider.fetch_changes(CALENDAR, None, WINDOW)
    assert (type(raised.value), str(raised.value)) == (expected, message)
    if expected is RateLimited:
        assert isinstance(raised.value, RateLimited)
        assert raised.value.retry_after == (30.0 if retry_after else None)
    # the fault was used up: the next call goes through
    assert (await provider.fetch_changes(CALENDAR, None, WINDOW)).complete


async def test_a_401_refreshes_the_token_once_and_retries(google: FakeGoogle, provider: GoogleProvider,
                                                         tokens: FakeGoogleTokens) -> None:
    rejected = tokens.access_token
    google.fail("POST", EVENTS, 401)
    written = await provider.put_event(CALENDAR, booking())
    assert tokens.refreshes == 1 and tokens.access_token != rejected
    assert [(entry.path.rsplit("/", 1)[-1], entry.status) for entry in google.log] == [
        ("events", 401), ("token", 200), ("events", 200)]
    assert google.get_event(CALENDAR, written.event_id)["summary"] == "Boiler check – Cleo"


async def test_an_expired_access_token_is_refreshed_on_its_401(google: FakeGoogle, provider: GoogleProvider,
                                                              tokens: FakeGoogleTokens) -> None:
    google.oauth.expire_access_tokens()
    assert len(await provider.list_calendars()) == 1
    assert tokens.refreshes == 1


async def test_a_second_401_is_auth_failed_and_says_no_token(google: FakeGoogle, provider: GoogleProvider,
                                                            tokens: FakeGoogleTokens) -> None:
    google.fail("GET", EVENTS, 401, times=2)
    with pytest.raises(AuthFailed) as raised:
        await provider.fetch_changes(CALENDAR, None, WINDOW)
    assert str(raised.value) == ("events.list: Google answered 401 authError: the connection needs to be "
                                 "authorised again")
    assert tokens.access_token not in str(raised.value) and tokens.refresh_token not in str(raised.value)


async def test_a_revoked_grant_fails_the_refresh(google: FakeGoogle, provider: GoogleProvider) -> None:
    google.oauth.revoke_all()
    with pytest.raises(GrantRevoked):  # an AuthFailed: the connection needs re-authorisation
        await provider.list_calendars()


async def test_a_scope_not_granted_is_auth_failed(google: FakeGoogle) -> None:
    # given a grant that can only read
    tokens = FakeGoogleTokens(google, frozenset({"https://www.googleapis.com/auth/calendar.readonly"}))
    async with GoogleProvider(tokens, api_url=google.api_url) as provider:
        with pytest.raises(AuthFailed) as raised:
            await provider.put_event(CALENDAR, booking())
    assert str(raised.value).startswith("events.insert: Google answered 403 insufficientPermissions")
    assert google.live_events(CALENDAR) == []


async def test_writing_to_a_calendar_shared_read_only_fails_the_item_only(google: FakeGoogle,
                                                                         provider: GoogleProvider) -> None:
    google.add_calendar("team@group.calendar.google.com", "Team", access_role="reader")
    with pytest.raises(ProviderError) as raised:
        await provider.put_event("team@group.calendar.google.com", booking())
    assert (type(raised.value), str(raised.value)) == (
        ProviderError, "events.insert: Google answered 403 requiredAccessLevel")


async def test_an_unreachable_server_is_unavailable(google: FakeGoogle) -> None:
    tokens = FakeGoogleTokens(google)
    async with GoogleProvider(tokens, api_url="http://127.0.0.1:9/calendar/v3/", timeout=2) as provider:
        with pytest.raises(Unavailable) as raised:
            await provider.list_calendars()
    assert str(raised.value).startswith("calendarList.list: Google could not be reached")
