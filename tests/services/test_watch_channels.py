"""Which calendars need a push channel, and which notifications are believed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from models import (
    CalendarConnection,
    ConnectionHealth,
    ExternalCalendar,
    Provider,
    SyncDirection,
    SyncFrequency,
    WatchChannel,
)
from services.watch_channels import (
    CLAIM,
    RENEW_AHEAD,
    channel_removed,
    claim_due_watches,
    mark_stopped,
    record_channel,
    renewal_requested,
    token_hash,
    verified_calendar,
)
from tests.support.sync import ConnectedStaff, given_connected_staff

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)
GOOGLE = Provider.GOOGLE.value
PUSHING = frozenset({GOOGLE})  # the providers that push, as the scheduler passes them
TOKEN = "the-secret-channel-token"


async def google_staff() -> ConnectedStaff:
    return await given_connected_staff("tech@example.com", credentials="sealed", provider=Provider.GOOGLE)


async def test_a_real_time_google_calendar_without_a_channel_is_claimed_once(db: str) -> None:
    given = await google_staff()
    assert await claim_due_watches(NOW, PUSHING) == [given.calendar.id]
    assert await claim_due_watches(NOW + CLAIM - timedelta(seconds=1), PUSHING) == []
    assert await claim_due_watches(NOW + CLAIM, PUSHING) == [given.calendar.id]  # the job never reported back


async def test_a_channel_is_renewed_only_within_the_margin_before_it_expires(db: str) -> None:
    given = await google_staff()
    await record_channel(given.calendar.id, "chan-1", "res-1", TOKEN, NOW + RENEW_AHEAD + timedelta(hours=1))
    assert await claim_due_watches(NOW, PUSHING) == []
    assert await claim_due_watches(NOW + timedelta(hours=1), PUSHING) == [given.calendar.id]


async def test_a_stopped_channel_does_not_count(db: str) -> None:
    given = await google_staff()
    channel = await record_channel(given.calendar.id, "chan-1", "res-1", TOKEN, NOW + timedelta(days=7))
    await mark_stopped([channel.id], NOW)
    assert await claim_due_watches(NOW, PUSHING) == [given.calendar.id]


async def test_calendars_that_need_no_channel_are_not_claimed(db: str) -> None:
    # given one watched calendar, and calendars each lacking one condition
    given = await google_staff()
    connection = given.connection
    idle = await ExternalCalendar.create(connection=connection, provider_calendar_id="idle", name="Idle",
                                         import_busy=False, is_destination=False)
    others = []
    for change in ({"provider": Provider.CALDAV}, {"frequency": SyncFrequency.EVERY_5_MINUTES},
                   {"direction": SyncDirection.EXPORT_ONLY}, {"health": ConnectionHealth.REAUTHORIZATION_REQUIRED},
                   {"health": ConnectionHealth.DISCONNECTED}, {"credentials": ""}):
        values: dict[str, Any] = {"provider": Provider.GOOGLE, "credentials": "sealed", **change}
        other = await CalendarConnection.create(staff=given.staff, account_label="other", **values)
        others.append(await ExternalCalendar.create(connection=other, provider_calendar_id="primary", name="P"))
    # when the channels due are claimed
    claimed = await claim_due_watches(NOW, PUSHING)
    # then only the watched calendar is, and the others are left unclaimed
    assert claimed == [given.calendar.id]
    unclaimed = [idle.id, *(calendar.id for calendar in others)]
    assert await ExternalCalendar.filter(id__in=unclaimed).values_list("watch_claimed_until", flat=True) == [
        None] * len(unclaimed)


async def test_recording_a_channel_keeps_only_the_hash_of_its_token_and_releases_the_claim(db: str) -> None:
    given = await google_staff()
    await claim_due_watches(NOW, PUSHING)
    channel = await record_channel(given.calendar.id, "chan-1", "res-1", TOKEN, NOW + timedelta(days=7))
    stored = await WatchChannel.get(id=channel.id)
    assert (stored.channel_id, stored.resource_id, stored.token_hash, stored.stopped_at) == (
        "chan-1", "res-1", token_hash(TOKEN), None)
    assert TOKEN not in stored.token_hash
    assert (await ExternalCalendar.get(id=given.calendar.id)).watch_claimed_until is None


async def test_a_notification_is_believed_only_from_a_live_channel_with_its_token(db: str) -> None:
    given = await google_staff()
    await record_channel(given.calendar.id, "chan-1", "res-1", TOKEN, NOW + timedelta(days=7))
    await record_channel(given.calendar.id, "chan-old", "res-1", TOKEN, NOW + timedelta(days=7))
    await WatchChannel.filter(channel_id="chan-old").update(stopped_at=NOW)
    assert await verified_calendar("chan-1", TOKEN, NOW, GOOGLE) == given.calendar.id
    assert await verified_calendar("chan-1", "forged", NOW, GOOGLE) is None
    assert await verified_calendar("chan-1", "", NOW, GOOGLE) is None
    assert await verified_calendar("unknown", TOKEN, NOW, GOOGLE) is None
    assert await verified_calendar("", "", NOW, GOOGLE) is None
    assert await verified_calendar("chan-old", TOKEN, NOW, GOOGLE) is None
    assert await verified_calendar("chan-1", TOKEN, NOW + timedelta(days=7), GOOGLE) is None  # expired


async def test_a_notification_for_a_disconnected_connection_is_not_believed(db: str) -> None:
    given = await google_staff()
    await record_channel(given.calendar.id, "chan-1", "res-1", TOKEN, NOW + timedelta(days=7))
    await CalendarConnection.filter(id=given.connection.id).update(health=ConnectionHealth.DISCONNECTED,
                                                                   credentials="")
    assert await verified_calendar("chan-1", TOKEN, NOW, GOOGLE) is None


async def test_a_notification_is_believed_only_at_the_webhook_of_the_channels_provider(db: str) -> None:
    # given a live channel with its token on a calendar of a CalDAV connection
    given = await given_connected_staff("tech@example.com", credentials="sealed", provider=Provider.CALDAV)
    await record_channel(given.calendar.id, "chan-1", "res-1", TOKEN, NOW + timedelta(days=7))
    # when its notification reaches Google's webhook, then it is not believed; at its own provider's it is
    assert await verified_calendar("chan-1", TOKEN, NOW, GOOGLE) is None
    assert await verified_calendar("chan-1", TOKEN, NOW, Provider.CALDAV.value) == given.calendar.id


async def test_a_renewal_asked_for_by_the_provider_makes_the_channel_due_now(db: str) -> None:
    # given a channel with six days to go, not due for renewal
    given = await google_staff()
    await record_channel(given.calendar.id, "chan-1", "res-1", TOKEN, NOW + timedelta(days=6))
    assert await claim_due_watches(NOW, PUSHING) == []
    # when the provider asks for it to be renewed (Graph's reauthorizationRequired)
    await renewal_requested(given.calendar.id, "chan-1", NOW)
    # then it is claimed for the watch job at once, and still believed meanwhile
    assert await claim_due_watches(NOW, PUSHING) == [given.calendar.id]
    assert await verified_calendar("chan-1", TOKEN, NOW, GOOGLE) == given.calendar.id
    assert await WatchChannel.filter(channel_id="chan-1").values_list("expires_at", flat=True) == [
        NOW + RENEW_AHEAD]


async def test_a_renewal_asked_for_another_calendars_channel_changes_nothing(db: str) -> None:
    given = await google_staff()
    await record_channel(given.calendar.id, "chan-1", "res-1", TOKEN, NOW + timedelta(days=6))
    await renewal_requested(given.calendar.id, "chan-2", NOW)
    assert await WatchChannel.filter(channel_id="chan-1").values_list("expires_at", flat=True) == [
        NOW + timedelta(days=6)]


async def test_a_channel_the_provider_removed_is_replaced_and_its_calendar_pulled_now(db: str) -> None:
    # given a live channel
    given = await google_staff()
    await record_channel(given.calendar.id, "chan-1", "res-1", TOKEN, NOW + timedelta(days=6))
    # when the provider says it removed it (Graph's subscriptionRemoved)
    await channel_removed(given.calendar.id, "chan-1", NOW)
    # then it is stopped (no longer believed), a new channel is due, and the calendar is due a pull now
    assert await verified_calendar("chan-1", TOKEN, NOW, GOOGLE) is None
    assert await claim_due_watches(NOW, PUSHING) == [given.calendar.id]
    assert await ExternalCalendar.filter(id=given.calendar.id).values_list("next_pull_at", flat=True) == [NOW]
