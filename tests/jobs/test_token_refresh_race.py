"""Token refresh per connection, against the fake Google's token endpoint set to rotate refresh tokens (each one
single use, as Microsoft's and Calendly's are): a rotated refresh token replaces the stored one, and the scheduled
refresh racing a refresh after a 401 never leaves the connection with a spent token (the refresh lock)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from jobs.tasks import run_pull, run_refresh
from models import CalendarConnection, ConnectionHealth
from providers.oauth import GrantRevoked, OAuthClient, refresh_tokens
from tests.fakes.google import FakeGoogle
from tests.support.google_jobs import USER, VAULT, given_google_connection
from tests.support.sync import ConnectedStaff


@dataclass
class Rotating:
    google: FakeGoogle
    client: OAuthClient
    given: ConnectedStaff
    first_refresh_token: str

    async def stored(self) -> dict[str, str]:
        connection = await CalendarConnection.get(id=self.given.connection.id)
        return {key: str(value) for key, value in VAULT.unseal(connection.credentials).items()}


@pytest.fixture
async def rotating(database_url: str, db: str) -> AsyncIterator[Rotating]:
    """A Google connection whose token endpoint rotates refresh tokens, with the job runtime pointed at it."""
    async with FakeGoogle(user_email=USER) as google:
        connection = await given_google_connection(google, database_url, timedelta(minutes=5))
        google.oauth.rotate_refresh_tokens = True
        yield Rotating(google, connection.client, connection.given, connection.refresh_token)


async def until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def still_works(rotating: Rotating, refresh_token: str) -> bool:
    try:
        await refresh_tokens(rotating.client, refresh_token, datetime.now(UTC))
    except GrantRevoked:
        return False
    return True


async def test_a_rotated_refresh_token_replaces_the_stored_one(rotating: Rotating) -> None:
    # when the scheduled refresh runs
    assert await run_refresh(rotating.given.connection.id) == "done"
    # then the new refresh token is stored, the old one is spent, and the new one works
    stored = await rotating.stored()
    assert stored["refresh_token"] != rotating.first_refresh_token
    assert not await still_works(rotating, rotating.first_refresh_token)
    assert await still_works(rotating, stored["refresh_token"])


async def racing(rotating: Rotating, second: Callable[[], Awaitable[str]]) -> tuple[str, str]:
    """The scheduled refresh, held at the token endpoint, and `second` started while it is held."""
    rotating.google.oauth.refresh_delay = 0.3
    scheduled = asyncio.create_task(run_refresh(rotating.given.connection.id))
    await until(lambda: rotating.google.oauth.refresh_requests == 1, "the scheduled refresh at the token endpoint")
    other = await second()
    return await scheduled, other


async def test_the_scheduled_refresh_and_one_after_a_401_keep_the_newest_token(rotating: Rotating) -> None:
    # given access tokens Google no longer accepts, so a pull meets a 401 and refreshes
    rotating.google.oauth.expire_access_tokens()
    # when the scheduled refresh is at the token endpoint while the pull's refresh starts
    outcomes = await racing(rotating, lambda: run_pull(rotating.given.calendar.id))
    # then both succeed, only one refresh token was spent, and the stored one is the newest and works
    assert outcomes == ("done", "done")
    assert rotating.google.oauth.refresh_requests == 1
    stored = await rotating.stored()
    assert list(rotating.google.oauth.grants) == [stored["refresh_token"]]  # the only live refresh token
    connection = await CalendarConnection.get(id=rotating.given.connection.id)
    assert (connection.health, connection.last_error) == (ConnectionHealth.ACTIVE, "")
    assert await still_works(rotating, stored["refresh_token"])


async def test_two_scheduled_refreshes_at_once_spend_one_token(rotating: Rotating) -> None:
    # when a duplicate refresh job starts while the first one is at the token endpoint
    outcomes = await racing(rotating, lambda: run_refresh(rotating.given.connection.id))
    # then the second one finds the tokens renewed and leaves them, and the stored refresh token works
    assert outcomes == ("done", "done")
    assert rotating.google.oauth.refresh_requests == 1
    stored = await rotating.stored()
    assert list(rotating.google.oauth.grants) == [stored["refresh_token"]]
    assert (await CalendarConnection.get(id=rotating.given.connection.id)).health == ConnectionHealth.ACTIVE
    assert await still_works(rotating, stored["refresh_token"])
