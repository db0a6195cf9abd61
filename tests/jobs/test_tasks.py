"""The job bodies around push and pull: the calendar's lease keeps them apart, and an unexpected error is recorded
and retried like a provider failure instead of vanishing in the queue."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from jobs import runtime
from jobs.tasks import LEASE_HELD_RETRY, run_pull, run_push
from models import (
    CalendarConnection,
    ConnectionHealth,
    EventMapping,
    EventMappingState,
    ExternalCalendar,
    SyncLogEntry,
)
from services.credentials import CredentialVault, new_key
from services.sync_dispatch import dispatch_outbox
from services.sync_leases import take_calendar_lease
from tests.support.sync import book, given_connected_staff

KEY = new_key()
TEN_BERLIN = datetime(2030, 1, 8, 9, tzinfo=UTC)


@pytest.fixture(autouse=True)
def job_runtime(database_url: str) -> Iterator[None]:
    runtime.configure(runtime.JobConfig(database_url=database_url, redis_url="redis://unused", secret_keys=(KEY,)))
    yield


def sealed_with_another_key() -> str:
    """Credentials this deployment cannot read (sealed under a key it does not have)."""
    return CredentialVault([new_key()]).seal({"server_url": "http://127.0.0.1:9/", "username": "sam",
                                              "password": "secret", "home_url": "http://127.0.0.1:9/"})


async def test_a_push_finding_its_calendar_busy_does_nothing_and_comes_back_shortly(db: str) -> None:
    # given a pending booking event whose calendar is being pulled right now
    given = await given_connected_staff(credentials=sealed_with_another_key())
    await book(given, TEN_BERLIN, datetime.now(UTC))
    (mapping_id,) = await dispatch_outbox(datetime.now(UTC))
    await take_calendar_lease(given.calendar.id, "a pull", datetime.now(UTC), timedelta(minutes=5))
    before = datetime.now(UTC)
    # when the push job runs
    status = await run_push(mapping_id)
    # then it touched nothing but its own due time
    mapping = await EventMapping.get(id=mapping_id)
    assert (status, mapping.state, mapping.attempts, mapping.external_event_id) == (
        "busy", EventMappingState.PENDING, 0, "")
    assert mapping.next_attempt_at is not None
    assert before + LEASE_HELD_RETRY <= mapping.next_attempt_at <= datetime.now(UTC) + LEASE_HELD_RETRY
    assert (await ExternalCalendar.get(id=given.calendar.id)).sync_lock_owner == "a pull"
    assert await SyncLogEntry.all().count() == 0


async def test_a_pull_stopped_by_an_unexpected_error_backs_off_and_says_so(db: str) -> None:
    # given a connection whose stored credentials this deployment cannot read
    given = await given_connected_staff(credentials=sealed_with_another_key())
    # when its calendar is pulled
    status = await run_pull(given.calendar.id)
    # then the failure is in the health and the log (by type only), a retry is planned, and the lease is free
    connection = await CalendarConnection.get(id=given.connection.id)
    assert (status, connection.health, connection.consecutive_failures) == ("retry", ConnectionHealth.DEGRADED, 1)
    assert connection.last_error == "an unexpected error stopped this pull (CredentialsUnreadable)"
    assert await SyncLogEntry.all().values_list("direction", "action", "outcome", "error") == [
        ("import", "pull", "failed", "an unexpected error stopped this pull (CredentialsUnreadable)")]
    calendar = await ExternalCalendar.get(id=given.calendar.id)
    assert calendar.next_pull_at is not None and calendar.next_pull_at > datetime.now(UTC)
    assert (calendar.sync_lock_owner, calendar.sync_lock_until, calendar.sync_cursor) == ("", None, "")


async def test_a_push_stopped_by_an_unexpected_error_is_counted_and_retried(db: str) -> None:
    given = await given_connected_staff(credentials=sealed_with_another_key())
    await book(given, TEN_BERLIN, datetime.now(UTC))
    (mapping_id,) = await dispatch_outbox(datetime.now(UTC))
    status = await run_push(mapping_id)
    mapping = await EventMapping.get(id=mapping_id)
    assert (status, mapping.state, mapping.attempts) == ("retry", EventMappingState.PENDING, 1)
    assert mapping.last_error == "an unexpected error stopped this push (CredentialsUnreadable)"
    assert mapping.next_attempt_at is not None and mapping.next_attempt_at > datetime.now(UTC)
    assert (await CalendarConnection.get(id=given.connection.id)).health == ConnectionHealth.DEGRADED
