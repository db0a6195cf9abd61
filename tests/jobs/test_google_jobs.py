"""Google connections through the real job bodies, against the fake of Google's servers: busy time imported,
bookings written and followed when moved by hand, and access tokens refreshed ahead of time and on a 401."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from jobs.tasks import run_pull, run_push, run_refresh
from models import (
    Booking,
    BusyBlock,
    CalendarConnection,
    ConnectionHealth,
    ExternalCalendar,
    Notification,
)
from providers.registry import refreshing
from services.oauth_tokens import FAILURES_ALLOWED, claim_due_refreshes, save_refreshed_tokens
from services.sync_dispatch import dispatch_outbox
from tests.fakes.google import FakeGoogle
from tests.support.google_discovery import log_problems
from tests.support.google_jobs import USER, VAULT, given_google_connection
from tests.support.sync import ConnectedStaff, book

REFRESHING = refreshing(["google", "caldav"])


@dataclass
class Connected:
    google: FakeGoogle
    given: ConnectedStaff
    refresh_token: str


def tomorrow_at(hour: int) -> datetime:
    return (datetime.now(UTC) + timedelta(days=2)).replace(hour=hour, minute=0, second=0, microsecond=0)


@pytest.fixture
async def connected(database_url: str, db: str) -> AsyncIterator[Connected]:
    """A staff member whose Google account (the fake's user) is connected, with the job runtime pointed at it."""
    async with FakeGoogle(user_email=USER) as google:
        connection = await given_google_connection(google, database_url, timedelta(hours=1))
        yield Connected(google, connection.given, connection.refresh_token)
        # every request our client sent, and every answer, is one Google's discovery document describes
        assert log_problems(google.log) == []


def timed(start: datetime, minutes: int = 60) -> dict[str, object]:
    return {"start": {"dateTime": start.isoformat()}, "end": {"dateTime": (start + timedelta(minutes=minutes))
                                                              .isoformat()}}


async def test_an_event_added_in_google_becomes_busy_time_and_leaves_when_deleted(connected: Connected) -> None:
    dentist = connected.google.insert_by_hand(USER, {"summary": "Dentist", **timed(tomorrow_at(9))})
    assert await run_pull(connected.given.calendar.id) == "done"
    assert await BusyBlock.all().values_list("external_event_id", "starts_at") == [(dentist["id"], tomorrow_at(9))]
    connected.google.delete_by_hand(USER, dentist["id"])
    assert await run_pull(connected.given.calendar.id) == "done"
    assert await BusyBlock.all().count() == 0


async def test_a_booking_is_written_and_moving_it_in_google_reschedules_it(connected: Connected) -> None:
    # given a booking pushed to Google and pulled back (Lockstep's own event: no busy block)
    (booking,) = await book(connected.given, tomorrow_at(10), datetime.now(UTC))
    (mapping_id,) = await dispatch_outbox(datetime.now(UTC))
    assert await run_push(mapping_id) == "done"
    (event,) = connected.google.live_events(USER)
    assert event["extendedProperties"]["private"]["lockstepMarker"] == f"booking-{booking.id}@lockstep"
    assert await run_pull(connected.given.calendar.id) == "done"
    assert await BusyBlock.all().count() == 0
    # when the technician drags it to 14:00 in Google
    connected.google.update_by_hand(USER, event["id"], timed(tomorrow_at(14)))
    assert await run_pull(connected.given.calendar.id) == "done"
    # then the booking follows
    assert (await Booking.get(id=booking.id)).starts_at == tomorrow_at(14)


async def test_an_expired_access_token_is_refreshed_on_the_401_and_stored(connected: Connected) -> None:
    connected.google.oauth.expire_access_tokens()
    before = VAULT.unseal((await CalendarConnection.get(id=connected.given.connection.id)).credentials)
    assert await run_pull(connected.given.calendar.id) == "done"
    after = VAULT.unseal((await CalendarConnection.get(id=connected.given.connection.id)).credentials)
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] == before["refresh_token"] == connected.refresh_token


async def test_tokens_running_out_within_ten_minutes_are_refreshed_ahead(connected: Connected) -> None:
    now = datetime.now(UTC)
    await CalendarConnection.filter(id=connected.given.connection.id).update(token_expires_at=now + timedelta(
        minutes=9))
    assert await claim_due_refreshes(now, REFRESHING) == [connected.given.connection.id]
    assert await claim_due_refreshes(now, REFRESHING) == []  # claimed: handed out once
    assert await run_refresh(connected.given.connection.id) == "done"
    connection = await CalendarConnection.get(id=connected.given.connection.id)
    assert connection.token_expires_at is not None and connection.token_expires_at > now + timedelta(minutes=50)
    assert connection.refresh_claimed_until is None


async def test_a_revoked_grant_requires_reauthorisation_at_once(connected: Connected) -> None:
    connected.google.oauth.revoke_all()
    assert await run_refresh(connected.given.connection.id) == "reauthorize"
    connection = await CalendarConnection.get(id=connected.given.connection.id)
    assert connection.health == ConnectionHealth.REAUTHORIZATION_REQUIRED
    assert "invalid_grant" in connection.last_error
    assert await Notification.filter(kind="reauthorization_required").count() == 2  # the staff member, the owner


async def test_transient_refresh_failures_deactivate_after_three_in_a_day(connected: Connected) -> None:
    # given a token endpoint that keeps failing
    connected.google.fail("POST", "/token", 500, times=FAILURES_ALLOWED)
    outcomes = [await run_refresh(connected.given.connection.id) for _ in range(FAILURES_ALLOWED)]
    assert outcomes == ["retry"] * (FAILURES_ALLOWED - 1) + ["reauthorize"]
    connection = await CalendarConnection.get(id=connected.given.connection.id)
    assert (connection.health, len(connection.refresh_failures)) == (ConnectionHealth.REAUTHORIZATION_REQUIRED,
                                                                     FAILURES_ALLOWED)


async def test_an_all_day_event_takes_the_day_of_the_calendars_zone(connected: Connected) -> None:
    # given a Google calendar kept in New York while the technician's own zone is Berlin
    await ExternalCalendar.filter(id=connected.given.calendar.id).update(time_zone="America/New_York")
    day = tomorrow_at(12).date()
    connected.google.insert_by_hand(USER, {"summary": "Conference", "start": {"date": day.isoformat()},
                                           "end": {"date": (day + timedelta(days=1)).isoformat()}})
    # when it is imported
    assert await run_pull(connected.given.calendar.id) == "done"
    # then it blocks New York's midnight to midnight
    new_york = ZoneInfo("America/New_York")
    midnight = datetime.combine(day, time(), new_york)
    assert await BusyBlock.all().values_list("starts_at", "ends_at", "all_day") == [
        (midnight.astimezone(UTC), (midnight + timedelta(days=1)).astimezone(UTC), True)]


async def test_a_failed_refresh_is_tried_again_only_after_a_delay_and_success_clears_the_count(
        connected: Connected) -> None:
    # given a token endpoint down for a moment, and a token about to run out
    now = datetime.now(UTC)
    await CalendarConnection.filter(id=connected.given.connection.id).update(token_expires_at=now)
    connected.google.fail("POST", "/token", 503)
    # when the refresh fails, the connection is not handed out again on the next ticks
    assert await run_refresh(connected.given.connection.id) == "retry"
    assert await claim_due_refreshes(datetime.now(UTC), REFRESHING) == []
    claimed = (await CalendarConnection.get(id=connected.given.connection.id)).refresh_claimed_until
    assert claimed is not None and claimed >= now + timedelta(seconds=1)
    # when it works again, the failure is forgotten
    assert await run_refresh(connected.given.connection.id) == "done"
    connection = await CalendarConnection.get(id=connected.given.connection.id)
    assert (connection.health, connection.refresh_failures) == (ConnectionHealth.DEGRADED, [])


async def test_tokens_refreshed_after_a_disconnect_are_not_stored(connected: Connected) -> None:
    # given a refresh that completes after the staff member disconnected (credentials deleted)
    connection = await CalendarConnection.get(id=connected.given.connection.id)
    await CalendarConnection.filter(id=connection.id).update(credentials="", health=ConnectionHealth.DISCONNECTED)
    stored = await save_refreshed_tokens(connection.id, VAULT, connection.credentials,
                                         {"access_token": "new", "refresh_token": "new"}, datetime.now(UTC))
    # then nothing comes back
    assert not stored
    assert (await CalendarConnection.get(id=connection.id)).credentials == ""


async def test_one_occurrence_of_a_recurring_booking_deleted_in_google_is_noticed_at_once(
        connected: Connected) -> None:
    # given a weekly booking of three in Google (one recurring event), whose conflict policy lets the calendar win
    await CalendarConnection.filter(id=connected.given.connection.id).update(conflict_policy="calendar_wins")
    bookings = await book(connected.given, tomorrow_at(10), datetime.now(UTC), recurrence="FREQ=WEEKLY;COUNT=3")
    (mapping_id,) = await dispatch_outbox(datetime.now(UTC))
    assert await run_push(mapping_id) == "done"
    assert await run_pull(connected.given.calendar.id) == "done"
    # when the technician deletes the second occurrence in Google, and the next (incremental) pull runs
    second = next(event for event in connected.google.live_events(USER)
                  if event["originalStartTime"]["dateTime"].startswith(
                      bookings[1].starts_at.astimezone(ZoneInfo("Europe/Berlin")).isoformat()[:16]))
    connected.google.delete_by_hand(USER, second["id"])
    assert await run_pull(connected.given.calendar.id) == "done"
    # then that occurrence alone is cancelled
    statuses = [booking.status for booking in await Booking.filter(series_id=bookings[0].series_id)
                .order_by("occurrence_index")]
    assert statuses == ["confirmed", "cancelled", "confirmed"]
