"""Disconnecting tells the provider first, but never depends on it: a failed or cancelled farewell still ends with the
credentials deleted. The farewell is the app's injected dependency; these stand-ins fail on purpose."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from models import CalendarConnection, ConnectionHealth, SyncLogEntry
from services.farewell import disconnect_with_farewell
from tests.support.sync import given_connected_staff

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)


class Failing:
    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.called = 0

    async def __call__(self, connection: CalendarConnection, now: datetime) -> None:
        self.called += 1
        raise self.error


async def test_a_failing_farewell_is_logged_and_the_connection_still_disconnected(db: str) -> None:
    given = await given_connected_staff(credentials="sealed")
    farewell = Failing(RuntimeError("provider exploded"))
    disconnected = await disconnect_with_farewell(given.owner, given.connection.id, False, farewell, NOW)
    assert (farewell.called, disconnected.credentials, disconnected.health) == (1, "", ConnectionHealth.DISCONNECTED)
    assert await SyncLogEntry.filter(action="revoke").values_list("outcome", "error") == [("failed", "RuntimeError")]


async def test_a_request_cancelled_during_the_farewell_still_deletes_the_credentials(db: str) -> None:
    # given a farewell interrupted by the request being cancelled (the client went away)
    given = await given_connected_staff(credentials="sealed")
    with pytest.raises(asyncio.CancelledError):
        await disconnect_with_farewell(given.owner, given.connection.id, False, Failing(asyncio.CancelledError()),
                                       NOW)
    # then the cancellation goes on up, but the credentials are gone
    connection = await CalendarConnection.get(id=given.connection.id)
    assert (connection.credentials, connection.health) == ("", ConnectionHealth.DISCONNECTED)
