"""Microsoft 365 connections through the real job bodies, against the fake identity platform and Graph: busy time
imported, bookings written with Lockstep's marker and followed when moved by hand, access tokens refreshed (each
refresh's new refresh token replacing the one spent), and the two refusals of a refresh told apart: a revoked grant
asks the technician to reconnect, an expired client secret is the operator's problem. Every request and answer is
checked against Graph's description."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.graph_events import MARKER_PROPERTY_ID
from jobs.tasks import run_pull, run_push, run_refresh
from models import Booking, BusyBlock, CalendarConnection, ConnectionHealth, Notification
from providers.microsoft_export import transaction_id_for
from providers.registry import refreshing
from services.oauth_tokens import claim_due_refreshes
from services.sync_dispatch import dispatch_outbox
from tests.fakes.microsoft import FakeMicrosoft
from tests.support.graph_contract import conforming_microsoft
from tests.support.microsoft import read_event
from tests.support.microsoft_jobs import VAULT, configure_jobs, given_microsoft_connection, microsoft_client
from tests.support.sync import ConnectedStaff, book

REFRESHING = refreshing(["microsoft"])


@dataclass
class Connected:
    microsoft: FakeMicrosoft
    given: ConnectedStaff
    refresh_token: str

    @property
    def calendar(self) -> str:
        return self.microsoft.default_calendar_id()


def in_two_days_at(hour: int) -> datetime:
    return (datetime.now(UTC) + timedelta(days=2)).replace(hour=hour, minute=0, second=0, microsecond=0)


def timed(start: datetime, minutes: int = 60, subject: str = "Dentist") -> dict[str, Any]:
    """An event as Outlook writes it, in UTC wall-clock times."""
    def wall(moment: datetime) -> dict[str, str]:
        return {"dateTime": moment.astimezone(UTC).replace(tzinfo=None).isoformat(), "timeZone": "UTC"}
    return {"subject": subject, "start": wall(start), "end": wall(start + timedelta(minutes=minutes))}


@pytest.fixture
async def connected(database_url: str, db: str) -> AsyncIterator[Connected]:
    """A staff member whose Microsoft account (the fake's) is connected, with the job runtime pointed at it."""
    async with conforming_microsoft() as microsoft:
        connection = await given_microsoft_connection(microsoft, database_url, timedelta(hours=1))
        yield Connected(microsoft, connection.given, connection.refresh_token)


def refreshes_sent(microsoft: FakeMicrosoft) -> list[str]:
    """The refresh tokens sent to the token endpoint, in order."""
    return [entry.body["refresh_token"] for entry in microsoft.log
            if entry.path.endswith("/oauth2/v2.0/token") and entry.body.get("grant_type") == "refresh_token"]


async def stored_tokens(connected: Connected) -> dict[str, Any]:
    return VAULT.unseal((await CalendarConnection.get(id=connected.given.connection.id)).credentials)


async def test_an_event_added_in_outlook_becomes_busy_time_and_leaves_when_deleted(connected: Connected) -> None:
    dentist = connected.microsoft.insert_by_hand(connected.calendar, timed(in_two_days_at(9)))
    assert await run_pull(connected.given.calendar.id) == "done"
    assert await BusyBlock.all().values_list("external_event_id", "starts_at", "ends_at") == [
        (connected.microsoft.immutable_id(dentist["id"]), in_two_days_at(9), in_two_days_at(10))]
    connected.microsoft.delete_by_hand(dentist["id"])
    assert await run_pull(connected.given.calendar.id) == "done"
    assert await BusyBlock.all().count() == 0


async def test_a_booking_is_written_with_its_marker_and_moving_it_in_outlook_reschedules_it(
        connected: Connected) -> None:
    # given a booking pushed to Outlook and pulled back (Lockstep's own event: no busy block)
    (booking,) = await book(connected.given, in_two_days_at(10), datetime.now(UTC))
    (mapping_id,) = await dispatch_outbox(datetime.now(UTC))
    assert await run_push(mapping_id) == "done"
    (event,) = connected.microsoft.mailbox().events.values()
    marker = f"booking-{booking.id}@lockstep"
    assert event.extended == [{"id": MARKER_PROPERTY_ID, "value": marker}]
    assert connected.microsoft.mailbox().transactions == {transaction_id_for(marker): event.immutable_id}
    written = read_event(connected.microsoft, event.immutable_id)
    assert (written["start"], written["end"]) == (
        {"dateTime": f"{in_two_days_at(10):%Y-%m-%dT%H:%M:%S}.0000000", "timeZone": "UTC"},
        {"dateTime": f"{in_two_days_at(11):%Y-%m-%dT%H:%M:%S}.0000000", "timeZone": "UTC"})
    assert await run_pull(connected.given.calendar.id) == "done"
    assert await BusyBlock.all().count() == 0
    # when the technician drags it to 14:00 in Outlook
    connected.microsoft.update_by_hand(event.immutable_id, timed(in_two_days_at(14)))
    assert await run_pull(connected.given.calendar.id) == "done"
    # then the booking follows, and still nothing of Lockstep's own is busy time
    assert (await Booking.get(id=booking.id)).starts_at == in_two_days_at(14)
    assert await BusyBlock.all().count() == 0


async def test_an_expired_access_token_is_refreshed_on_the_401_and_the_new_refresh_token_stored(
        connected: Connected) -> None:
    connected.microsoft.oauth.expire_access_tokens()
    before = await stored_tokens(connected)
    assert await run_pull(connected.given.calendar.id) == "done"
    after = await stored_tokens(connected)
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] not in (before["refresh_token"], connected.refresh_token)
    assert refreshes_sent(connected.microsoft) == [connected.refresh_token]


async def test_each_refresh_spends_the_refresh_token_the_last_one_returned(connected: Connected) -> None:
    # given a token endpoint whose refresh tokens are single use, and a token running out within ten minutes
    connected.microsoft.oauth.single_use_refresh = True
    now = datetime.now(UTC)
    await CalendarConnection.filter(id=connected.given.connection.id).update(token_expires_at=now + timedelta(
        minutes=9))
    # when the scheduler hands out the refresh, and a second one later
    assert await claim_due_refreshes(now, REFRESHING) == [connected.given.connection.id]
    assert await run_refresh(connected.given.connection.id) == "done"
    rotated = (await stored_tokens(connected))["refresh_token"]
    await CalendarConnection.filter(id=connected.given.connection.id).update(refresh_claimed_until=None)
    assert await run_refresh(connected.given.connection.id) == "done"
    # then the second spent the token the first was given, never the old one again
    assert refreshes_sent(connected.microsoft) == [connected.refresh_token, rotated]
    assert rotated != connected.refresh_token
    assert (await stored_tokens(connected))["refresh_token"] in connected.microsoft.oauth.refresh_tokens
    connection = await CalendarConnection.get(id=connected.given.connection.id)
    assert connection.health == ConnectionHealth.ACTIVE
    assert connection.token_expires_at is not None and connection.token_expires_at > now + timedelta(minutes=50)


async def test_a_revoked_grant_requires_reauthorisation_at_once_and_keeps_the_busy_time(connected: Connected) -> None:
    # given a dentist appointment imported as busy time
    connected.microsoft.insert_by_hand(connected.calendar, timed(in_two_days_at(9)))
    assert await run_pull(connected.given.calendar.id) == "done"
    blocks = await BusyBlock.all().values_list("starts_at", "ends_at")
    # when the technician's sessions are revoked and the access token runs out
    connected.microsoft.oauth.revoke_all()
    connected.microsoft.oauth.expire_access_tokens()
    assert await run_pull(connected.given.calendar.id) == "reauthorize"
    # then the connection waits for its technician, who is told, and the old busy time stays in force
    connection = await CalendarConnection.get(id=connected.given.connection.id)
    assert connection.health == ConnectionHealth.REAUTHORIZATION_REQUIRED
    assert connection.last_error == ("the provider no longer accepts this grant (invalid_grant): connect the "
                                     "calendar again")
    assert await Notification.filter(kind="reauthorization_required").count() == 2  # the staff member, the owner
    assert await BusyBlock.all().values_list("starts_at", "ends_at") == blocks
    assert refreshes_sent(connected.microsoft) == [connected.refresh_token]


async def test_an_expired_client_secret_degrades_the_connection_without_blaming_the_technician(
        database_url: str, connected: Connected) -> None:
    # given this deployment's client secret expired at the identity platform
    connected.microsoft.oauth.expire_client_secret()
    before = await CalendarConnection.get(id=connected.given.connection.id)
    # when the refresh runs
    assert await run_refresh(connected.given.connection.id) == "app_rejected"
    # then the connection is degraded, not waiting for its technician, and its grant is untouched
    after = await CalendarConnection.get(id=connected.given.connection.id)
    assert after.health == ConnectionHealth.DEGRADED
    assert after.last_error == ("the provider refuses this server's client registration (invalid_client); the "
                                "operator has to renew its client secret or registration")
    assert after.credentials == before.credentials
    assert await Notification.all().count() == 0
    # and once the operator sets a valid secret again, the refresh works
    connected.microsoft.oauth.secret_expired = False
    configure_jobs(connected.microsoft, database_url, microsoft_client(connected.microsoft))
    await CalendarConnection.filter(id=before.id).update(refresh_claimed_until=None)
    assert await run_refresh(connected.given.connection.id) == "done"
