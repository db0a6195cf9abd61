"""POST /webhooks/google on a real uvicorn server: Google's notifications of a verified channel make the calendar due
for a pull at once; unknown, stopped or forged ones change nothing; every answer is 200 with an empty body, given
before the notification is checked (the server's /metrics says when the check is done)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from jobs.watch import open_channel
from models import ExternalCalendar, Provider, WatchChannel
from providers.google import GoogleProvider
from services.watch_channels import record_channel
from tests.support.google import FakeGoogleTokens, conforming_google
from tests.support.server import live_server
from tests.support.sync import ConnectedStaff, given_connected_staff

USER = "tech@example.com"
TOKEN = "the-secret-channel-token"
CHECKS_COUNTED = {"LOCKSTEP_METRICS": "open"}  # so a test can tell when a notification has been checked


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_server(database_url, tmp_path_factory.mktemp("webhook-server"), 1, **CHECKS_COUNTED) as base:
        yield base


async def given_calendar_not_due() -> tuple[ConnectedStaff, datetime]:
    """A watched Google calendar whose next pull is an hour away."""
    given = await given_connected_staff(USER, credentials="sealed", provider=Provider.GOOGLE)
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    await ExternalCalendar.filter(id=given.calendar.id).update(next_pull_at=later)
    return given, later


async def snapshot() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return (await ExternalCalendar.all().order_by("id").values(),
            await WatchChannel.all().order_by("id").values())


def notifications_checked(base: str) -> float:
    """How many Google notifications the server has checked (or turned away), whatever became of them."""
    text = httpx.get(f"{base}/metrics").text
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == "lockstep_webhook_deliveries_total" and sample.labels.get("provider") == "google")


def wait_until_checked(base: str, count: float) -> None:
    deadline = time.monotonic() + 10
    while notifications_checked(base) < count:
        assert time.monotonic() < deadline, "the notification was never checked"
        time.sleep(0.01)


def notify(base: str, channel_id: str | None, token: str | None, state: str | None) -> httpx.Response:
    """Send a notification as Google does; return its answer once the server has also checked it."""
    headers = {"X-Goog-Message-Number": "8", "X-Goog-Resource-ID": "res-1", "User-Agent": "APIs-Google"}
    for name, value in (("X-Goog-Channel-ID", channel_id), ("X-Goog-Channel-Token", token),
                        ("X-Goog-Resource-State", state)):
        if value is not None:
            headers[name] = value
    checked = notifications_checked(base)
    answer = httpx.post(f"{base}/webhooks/google", headers=headers, content=b"")
    wait_until_checked(base, checked + 1)
    return answer


async def test_a_change_in_google_makes_the_calendar_due_at_once(server: str, db: str) -> None:
    # given a watched calendar not due for an hour, and its channel opened at the fake to this server
    given, later = await given_calendar_not_due()
    checked = notifications_checked(server)
    async with conforming_google() as google:
        async with GoogleProvider(FakeGoogleTokens(google), api_url=google.api_url) as provider:
            assert await open_channel(given.calendar.id, provider, f"{server}/webhooks/google",
                                      datetime.now(UTC)) == "done"
        await google.notifications_sent()
        wait_until_checked(server, checked + 1)
        # then the `sync` notification was answered and changed nothing
        assert (await ExternalCalendar.get(id=given.calendar.id)).next_pull_at == later
        # when the technician adds an event in Google
        before = datetime.now(UTC)
        google.insert_by_hand(USER, {"summary": "Dentist", "start": {"dateTime": "2030-01-08T09:00:00Z"},
                                     "end": {"dateTime": "2030-01-08T10:00:00Z"}})
        await google.notifications_sent()
        wait_until_checked(server, checked + 2)
        after = datetime.now(UTC)
    # then every notification was answered 200, and the calendar is due now
    assert [(delivery.state, delivery.status) for delivery in google.channels.deliveries] == [
        ("sync", 200), ("exists", 200)]
    due = (await ExternalCalendar.get(id=given.calendar.id)).next_pull_at
    assert due is not None and before <= due <= after


@pytest.mark.parametrize("state", ["exists", "not_exists"])
async def test_a_verified_change_notification_makes_the_calendar_due(server: str, db: str, state: str) -> None:
    given, _ = await given_calendar_not_due()
    await record_channel(given.calendar.id, "chan-1", "res-1", TOKEN, datetime.now(UTC) + timedelta(days=7))
    before = datetime.now(UTC)
    answer = notify(server, "chan-1", TOKEN, state)
    assert (answer.status_code, answer.content) == (200, b"")
    due = (await ExternalCalendar.get(id=given.calendar.id)).next_pull_at
    assert due is not None and before <= due <= datetime.now(UTC)


@pytest.mark.parametrize(("channel_id", "token", "state"), [
    ("chan-1", "forged-token", "exists"),
    ("chan-1", None, "exists"),
    ("unknown-channel", TOKEN, "exists"),
    ("chan-stopped", TOKEN, "exists"),
    ("chan-1", TOKEN, "sync"),
    ("chan-1", TOKEN, None),
    (None, None, None),
])
async def test_unknown_stopped_forged_and_sync_notifications_change_nothing(
        server: str, db: str, channel_id: str | None, token: str | None, state: str | None) -> None:
    # given a live and a stopped channel of a calendar not due for an hour
    given, _ = await given_calendar_not_due()
    soon = datetime.now(UTC) + timedelta(days=7)
    await record_channel(given.calendar.id, "chan-1", "res-1", TOKEN, soon)
    await record_channel(given.calendar.id, "chan-stopped", "res-1", TOKEN, soon)
    await WatchChannel.filter(channel_id="chan-stopped").update(stopped_at=datetime.now(UTC))
    before = await snapshot()
    # when the notification arrives
    answer = notify(server, channel_id, token, state)
    # then it is answered like any other, and nothing changed
    assert (answer.status_code, answer.content) == (200, b"")
    assert await snapshot() == before
