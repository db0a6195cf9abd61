"""Connections of a provider this server cannot sync with (not available here, or not configured in this
deployment): their jobs record a clear health error and retry with backoff, instead of failing on an error nobody
reads; their tokens are not refreshed and their calendars not watched."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from redis import Redis

from jobs import runtime
from jobs.scheduler import LEADER_KEY, Scheduler
from jobs.tasks import run_pull, run_push, run_refresh
from models import (
    BusyBlock,
    CalendarConnection,
    ConnectionHealth,
    EventMapping,
    EventMappingState,
    ExternalCalendar,
    Provider,
    SyncLogEntry,
)
from services.credentials import CredentialVault, new_key
from services.sync_dispatch import dispatch_outbox
from tests.support.sync import ConnectedStaff, book, given_connected_staff

KEY = new_key()
TEN_BERLIN = datetime(2030, 1, 8, 9, tzinfo=UTC)
NOT_AVAILABLE = "Calendly connections are not configured on this server"
NOT_CONFIGURED = "Google connections are not configured on this server"


@pytest.fixture(autouse=True)
def job_runtime(database_url: str) -> Iterator[None]:
    """A deployment that configures no OAuth provider."""
    runtime.configure(runtime.JobConfig(database_url=database_url, redis_url="redis://unused", secret_keys=(KEY,)))
    yield


async def given_oauth_connection(provider: Provider) -> ConnectedStaff:
    sealed = CredentialVault([KEY]).seal({"access_token": "a", "refresh_token": "r"})
    given = await given_connected_staff("sam@example.com", credentials=sealed, provider=provider)
    await CalendarConnection.filter(id=given.connection.id).update(token_expires_at=datetime.now(UTC))
    return given


@pytest.mark.parametrize(("provider", "message"), [(Provider.CALENDLY, NOT_AVAILABLE),
                                                   (Provider.GOOGLE, NOT_CONFIGURED)])
async def test_a_pull_says_why_and_is_retried_later(db: str, provider: Provider, message: str) -> None:
    given = await given_oauth_connection(provider)
    # when its calendar is pulled
    status = await run_pull(given.calendar.id)
    # then the health and the sync log say why, a retry is planned, and no busy time changed
    connection = await CalendarConnection.get(id=given.connection.id)
    assert (status, connection.health, connection.last_error) == ("retry", ConnectionHealth.DEGRADED, message)
    assert await SyncLogEntry.all().values_list("action", "outcome", "error") == [("pull", "failed", message)]
    calendar = await ExternalCalendar.get(id=given.calendar.id)
    assert calendar.next_pull_at is not None and calendar.next_pull_at > datetime.now(UTC)
    assert (calendar.sync_lock_owner, calendar.sync_cursor) == ("", "")
    assert await BusyBlock.all().count() == 0


async def test_a_push_stays_pending_says_why_and_is_retried_later(db: str) -> None:
    given = await given_oauth_connection(Provider.CALENDLY)
    await book(given, TEN_BERLIN, datetime.now(UTC))
    (mapping_id,) = await dispatch_outbox(datetime.now(UTC))
    # when the push job runs
    status = await run_push(mapping_id)
    # then the item waits (not failed: nothing is wrong with it) and the health says why
    mapping = await EventMapping.get(id=mapping_id)
    assert (status, mapping.state, mapping.attempts, mapping.last_error) == (
        "retry", EventMappingState.PENDING, 1, NOT_AVAILABLE)
    assert mapping.next_attempt_at is not None and mapping.next_attempt_at > datetime.now(UTC)
    assert (await CalendarConnection.get(id=given.connection.id)).last_error == NOT_AVAILABLE


@pytest.mark.parametrize("provider", [Provider.MICROSOFT, Provider.CALENDLY, Provider.GOOGLE, Provider.CALDAV])
async def test_no_token_refresh_without_an_oauth_client_for_the_provider(db: str, provider: Provider) -> None:
    given = await given_oauth_connection(provider)
    before = await CalendarConnection.get(id=given.connection.id)
    assert await run_refresh(given.connection.id) == "skipped"
    after = await CalendarConnection.get(id=given.connection.id)
    assert (after.credentials, after.health, after.refresh_failures) == (before.credentials, before.health, [])


async def test_the_scheduler_claims_refreshes_only_for_configured_providers_that_refresh(
        db: str, redis_url: str) -> None:
    # given due tokens on a Google, a Calendly and a CalDAV connection
    google = await given_oauth_connection(Provider.GOOGLE)
    for provider in (Provider.CALENDLY, Provider.CALDAV):
        other = await CalendarConnection.create(staff_id=google.staff.id, provider=provider, credentials="sealed",
                                                token_expires_at=datetime.now(UTC))
        assert other.id != google.connection.id
    # when a scheduler of a deployment that configures only CalDAV ticks
    await Scheduler(Redis.from_url(redis_url), "scheduler-a", providers=["caldav"]).tick()
    # then no refresh was claimed
    assert await CalendarConnection.exclude(refresh_claimed_until=None).count() == 0
    # when one that configures Google and CalDAV ticks (not Calendly)
    Redis.from_url(redis_url).delete(LEADER_KEY)
    await Scheduler(Redis.from_url(redis_url), "scheduler-b",
                    providers=["google", "caldav"]).tick(datetime.now(UTC) + timedelta(seconds=1))
    # then only Google's is claimed
    assert await CalendarConnection.exclude(refresh_claimed_until=None).values_list("id", flat=True) == [
        google.connection.id]
