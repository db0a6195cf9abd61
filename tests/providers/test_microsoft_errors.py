"""Graph's errors become the ProviderError family at the edge, a 401 is met with one token refresh, and no more than
four calls are in flight per mailbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from hypothesis import given, strategies as st

from domain.intervals import Span
from providers.base import (
    AuthFailed,
    NotFound,
    PreconditionFailed,
    ProviderError,
    RateLimited,
    Unavailable,
)
from providers.microsoft import MicrosoftProvider
from providers.microsoft_http import MAILBOX_CONCURRENCY, mailbox_limiter, seconds_to_wait
from providers.oauth import GrantRevoked
from tests.support.graph_contract import conforming_microsoft
from tests.support.microsoft import ACCOUNT, START, FakeMicrosoftTokens, Graph, booking, connected, microsoft_provider

WINDOW = Span(START, START + timedelta(days=30))
DELTA = r"/calendarView/delta$"
OTHER = "other@contoso.example"


@pytest.fixture
async def graph() -> AsyncIterator[Graph]:
    async with connected() as made:
        yield made


@pytest.mark.parametrize(("status", "code", "retry_after", "expected", "wait", "message"), [
    (429, None, "2.128", RateLimited, 2.128, "429 ApplicationThrottled (Application is over its MailboxConcurrency "
                                             "limit.)"),
    (429, "TooManyRequests", None, RateLimited, None, "429 TooManyRequests (Please retry again later.)"),
    (503, None, "10", RateLimited, 10.0, "503 ServiceUnavailable (The service is temporarily unavailable. Please "
                                         "retry later.)"),
    (504, None, None, RateLimited, None, "504 GatewayTimeout (The server did not respond in time.)"),
    (500, None, None, Unavailable, None, "500 InternalServerError (An internal server error occurred. The operation "
                                         "failed.)"),
    (502, None, None, Unavailable, None, "502 BadGateway (The server received an invalid response from the upstream "
                                         "server.)"),
    (404, None, None, NotFound, None, "404 ErrorItemNotFound (The specified object was not found in the store.)"),
    (403, None, None, ProviderError, None, "403 ErrorAccessDenied (Access is denied. Check credentials and try "
                                           "again.)"),
])
async def test_faults_are_translated(graph: Graph, status: int, code: str | None, retry_after: str | None,
                                     expected: type[ProviderError], wait: float | None, message: str) -> None:
    graph.fake.fail("GET", DELTA, status, code=code, retry_after=retry_after)
    with pytest.raises(ProviderError) as raised:
        await graph.provider.fetch_changes(graph.calendar_id, None, WINDOW)
    assert (type(raised.value), str(raised.value)) == (expected,
                                                      f"calendarView.delta: Microsoft Graph answered {message}")
    if isinstance(raised.value, RateLimited):
        assert raised.value.retry_after == wait
    # the fault was used up: the next call goes through
    assert (await graph.provider.fetch_changes(graph.calendar_id, None, WINDOW)).complete


async def test_a_conflict_on_a_write_is_a_precondition_failure(graph: Graph) -> None:
    written = await graph.provider.put_event(graph.calendar_id, booking())
    graph.fake.fail("PATCH", r"/me/events/", 412)
    with pytest.raises(PreconditionFailed):
        await graph.provider.put_event(graph.calendar_id, booking(hour=11), event_id=written.event_id,
                                       etag=written.etag)


@pytest.mark.parametrize(("header", "seconds"), [("2.128", 2.128), ("10", 10.0), ("0", 0.0), ("", None),
                                                 ("soon", None), ("-3", None)])
def test_retry_after_is_read_in_whole_or_fractional_seconds(header: str, seconds: float | None) -> None:
    assert seconds_to_wait({"Retry-After": header} if header else {}) == seconds


@given(st.decimals(min_value=0, max_value=100_000, places=3, allow_nan=False, allow_infinity=False))
def test_every_decimal_retry_after_is_its_value(value: object) -> None:
    assert seconds_to_wait({"Retry-After": str(value)}) == pytest.approx(float(str(value)))


async def test_a_401_refreshes_the_token_once_and_retries(graph: Graph) -> None:
    rejected = graph.tokens.access_token
    graph.fake.fail("POST", r"/events$", 401)
    written = await graph.provider.put_event(graph.calendar_id, booking())
    assert graph.tokens.refreshes == 1 and graph.tokens.access_token != rejected
    assert [(entry.path.rsplit("/", 1)[-1], entry.status) for entry in graph.fake.log] == [
        ("events", 401), ("token", 200), ("events", 201)]
    assert written.event_id in {event.immutable_id for event in graph.fake.mailbox().events.values()}


async def test_an_expired_access_token_is_refreshed_on_its_401(graph: Graph) -> None:
    graph.fake.oauth.expire_access_tokens()
    assert len(await graph.provider.list_calendars()) == 1
    assert graph.tokens.refreshes == 1


async def test_a_second_401_is_auth_failed_and_says_no_token(graph: Graph) -> None:
    graph.fake.fail("GET", DELTA, 401, times=2)
    with pytest.raises(AuthFailed) as raised:
        await graph.provider.fetch_changes(graph.calendar_id, None, WINDOW)
    assert str(raised.value) == (
        "calendarView.delta: Microsoft Graph answered 401 InvalidAuthenticationToken (Access token has expired or is "
        "not yet valid.): the connection needs to be authorised again")
    for secret in (graph.tokens.access_token, graph.tokens.refresh_token, "2029-12", "startDateTime"):
        assert secret not in str(raised.value)


async def test_a_revoked_grant_fails_the_refresh(graph: Graph) -> None:
    graph.fake.oauth.revoke_all()
    graph.fake.oauth.expire_access_tokens()
    with pytest.raises(GrantRevoked):  # an AuthFailed: the connection needs re-authorisation
        await graph.provider.list_calendars()


async def test_an_unreachable_server_is_unavailable() -> None:
    async with conforming_microsoft() as fake:
        tokens = FakeMicrosoftTokens(fake)
        async with MicrosoftProvider(tokens, api_url="http://127.0.0.1:9/v1.0", timeout=2) as provider:
            with pytest.raises(Unavailable) as raised:
                await provider.list_calendars()
    assert str(raised.value).startswith("calendars.list: Microsoft Graph could not be reached")


async def test_no_more_than_four_calls_are_in_flight_for_one_mailbox(graph: Graph) -> None:
    # given a Graph that takes a while per call and refuses a fifth concurrent one with 429
    graph.fake.response_delay = 0.05
    # when twenty fetches run at once, through two clients of the same mailbox
    async with microsoft_provider(graph.fake) as (second, _):
        results = await asyncio.gather(*(provider.fetch_changes(graph.calendar_id, None, WINDOW)
                                         for provider in [graph.provider, second] * 10))
    # then all of them succeed, and Graph saw four at a time at most (and at least once that many)
    assert all(result.complete for result in results)
    assert graph.fake.max_concurrent_seen == graph.fake.concurrency_limit == 4
    assert [entry for entry in graph.fake.log if entry.status == 429] == []


async def test_clients_of_different_mailboxes_do_not_wait_for_each_other() -> None:
    async with conforming_microsoft() as fake:
        fake.add_account(OTHER)
        async with microsoft_provider(fake) as (first, _), \
                microsoft_provider(fake, mailbox=OTHER, account=OTHER) as (second, _):
            # given every call of the first mailbox taken
            limiter = mailbox_limiter(ACCOUNT)
            for _ in range(MAILBOX_CONCURRENCY):
                await limiter.acquire()
            try:
                waiting = asyncio.create_task(first.list_calendars())
                # then the other mailbox's calls go through while the first one's waits
                assert [c.name for c in await asyncio.wait_for(second.list_calendars(), 5)] == ["Calendar"]
                await asyncio.sleep(0.05)
                assert not waiting.done()
            finally:
                for _ in range(MAILBOX_CONCURRENCY):
                    limiter.release()
            assert [c.name for c in await waiting] == ["Calendar"]
