"""A refresh refused because of this server's own registration (`invalid_client`: a client secret that expired or
was changed at the provider) is the operator's problem: logged as an error, counted as app_rejected, retried, and
never turned into "reconnect the calendar" for the technician, however often it happens."""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime, timedelta

import pytest

from jobs import runtime
from jobs.tasks import run_refresh
from models import CalendarConnection, ConnectionHealth
from providers.entry import ProviderSetup
from services.oauth_tokens import FAILURES_ALLOWED
from tests.fakes.google import FakeGoogle
from tests.support.google_jobs import KEY, USER, given_google_connection


async def test_a_refused_client_registration_never_asks_the_technician_to_reconnect(
        database_url: str, db: str, caplog: pytest.LogCaptureFixture) -> None:
    async with FakeGoogle(user_email=USER) as google:
        # given a connection whose deployment's client secret the provider no longer accepts
        connection = await given_google_connection(google, database_url, timedelta(minutes=5))
        stale = dataclasses.replace(connection.client, client_secret="an-expired-secret")
        runtime.configure(runtime.JobConfig(database_url=database_url, redis_url="redis://unused",
                                            secret_keys=(KEY,), providers={"google": ProviderSetup(stale,
                                                                                                   google.api_url)}))
        before = await CalendarConnection.get(id=connection.given.connection.id)
        # when the refresh fails that way more often than a connection's failures are allowed
        with caplog.at_level(logging.ERROR, logger="lockstep.jobs.tokens"):
            outcomes = []
            for _ in range(FAILURES_ALLOWED + 1):
                await CalendarConnection.filter(id=before.id).update(refresh_claimed_until=None)
                outcomes.append(await run_refresh(before.id))
    # then each is app_rejected, the connection is degraded (not waiting for its technician), its grant untouched,
    # and the operator is told in an error log that names neither secret nor token
    after = await CalendarConnection.get(id=before.id)
    assert outcomes == ["app_rejected"] * (FAILURES_ALLOWED + 1)
    assert after.health == ConnectionHealth.DEGRADED
    assert after.credentials == before.credentials
    assert "invalid_client" in after.last_error
    errors = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == FAILURES_ALLOWED + 1
    assert all("client registration" in message and "an-expired-secret" not in message for message in errors)
    assert after.refresh_claimed_until is not None and after.refresh_claimed_until > datetime.now(UTC)
