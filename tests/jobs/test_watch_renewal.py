"""Renewing a push channel where the provider can extend it (Graph's subscriptions): extended in place with its
token kept, and replaced by a new channel (opened first) only when the provider cannot or will not extend it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobs.watch import open_channel
from models import ExternalCalendar, Provider, SyncLogEntry, WatchChannel
from providers.base import RemoteCalendar, Unavailable
from services.watch_channels import RENEW_AHEAD
from tests.fakes.memory import MemoryProvider
from tests.support.sync import ConnectedStaff, given_connected_staff

ADDRESS = "https://lockstep.example/webhooks/google"


async def watched_calendar() -> tuple[ConnectedStaff, MemoryProvider]:
    given = await given_connected_staff("primary", credentials="sealed", provider=Provider.GOOGLE)
    provider = MemoryProvider([RemoteCalendar("primary", "Work", "", "UTC", writable=True, primary=True)])
    provider.renewable = True
    return given, provider


async def channels(calendar_id: int) -> list[tuple[str, bool]]:
    rows = await WatchChannel.filter(external_calendar_id=calendar_id).order_by("id")
    return [(row.channel_id, row.stopped_at is None) for row in rows]


async def test_a_channel_near_its_expiry_is_extended_in_place_with_its_token(db: str) -> None:
    # given a calendar whose channel is inside the renewal margin
    given, provider = await watched_calendar()
    now = datetime.now(UTC)
    assert await open_channel(given.calendar.id, provider, ADDRESS, now) == "done"
    first = await WatchChannel.get(external_calendar_id=given.calendar.id)
    later = first.expires_at - RENEW_AHEAD + timedelta(minutes=1)
    # when the watch job runs then
    outcome = await open_channel(given.calendar.id, provider, ADDRESS, later)
    # then the same channel lives on, later, with the same token; no second channel was opened
    renewed = await WatchChannel.get(id=first.id)
    assert (outcome, await channels(given.calendar.id)) == ("done", [(first.channel_id, True)])
    assert renewed.token_hash == first.token_hash
    assert renewed.expires_at > first.expires_at
    assert list(provider.subscriptions) == [first.channel_id]
    calendar = await ExternalCalendar.get(id=given.calendar.id)
    assert (calendar.watch_claimed_until, calendar.watch_due_at) == (None, renewed.expires_at - RENEW_AHEAD)


async def test_a_refused_renewal_opens_a_new_channel_before_the_old_one_is_stopped(db: str) -> None:
    # given a channel inside the renewal margin, and a provider that fails the renewal
    given, provider = await watched_calendar()
    now = datetime.now(UTC)
    await open_channel(given.calendar.id, provider, ADDRESS, now)
    first = await WatchChannel.get(external_calendar_id=given.calendar.id)
    provider.faults.append(Unavailable("subscription service busy"))
    # when the watch job runs
    outcome = await open_channel(given.calendar.id, provider, ADDRESS, first.expires_at - RENEW_AHEAD)
    # then a new channel replaced it, the old one is stopped, and the failed renewal is in the sync log
    found = await channels(given.calendar.id)
    assert (outcome, [live for _, live in found]) == ("done", [False, True])
    assert list(provider.subscriptions) == [found[1][0]]
    logged = await SyncLogEntry.filter(connection_id=given.connection.id, action="renew").values_list(
        "outcome", flat=True)
    assert logged == ["failed"]


async def test_a_provider_that_cannot_renew_gets_a_new_channel(db: str) -> None:
    # given a channel inside the margin at a provider whose channels cannot be extended (Google's)
    given, provider = await watched_calendar()
    provider.renewable = False
    now = datetime.now(UTC)
    await open_channel(given.calendar.id, provider, ADDRESS, now)
    first = await WatchChannel.get(external_calendar_id=given.calendar.id)
    # when the watch job runs
    await open_channel(given.calendar.id, provider, ADDRESS, first.expires_at - RENEW_AHEAD)
    # then a second channel replaced the first, with nothing logged as failed
    assert [live for _, live in await channels(given.calendar.id)] == [False, True]
    assert await SyncLogEntry.filter(connection_id=given.connection.id, action="renew").count() == 0
