"""Push channels of calendars (models/channels.py): which calendars need one, recording and stopping them, and
checking a notification before it makes a calendar due for a pull.

Terms:
- *watched calendar*: a calendar of a live Google connection (active or degraded) that syncs in real time and brings
  changes in (two-way or import only; importing busy time or the destination, whose events Lockstep follows).
- *renewal margin*: a channel that expires within RENEW_AHEAD is replaced: the new channel is opened first and the old
  one stopped afterwards, so the calendar is never unwatched. Google does not renew channels itself.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models import (
    CalendarConnection,
    ConnectionHealth,
    ExternalCalendar,
    Provider,
    SyncDirection,
    SyncFrequency,
    WatchChannel,
)
from models.claims import Claim, placeholders, run_claim
from services.sync_health import log_action

RENEW_AHEAD = timedelta(days=1)
CLAIM = timedelta(minutes=2)  # a claimed calendar is handed out again after this if its job never reported back
RETRY_AFTER_FAILURE = timedelta(minutes=10)  # the backstop pull covers the calendar meanwhile
_LIVE = [ConnectionHealth.ACTIVE, ConnectionHealth.DEGRADED]
_READING = (SyncDirection.TWO_WAY.value, SyncDirection.IMPORT_ONLY.value)


@dataclass(frozen=True)
class ChannelToStop:
    """What the provider needs to stop a channel."""

    row_id: int
    channel_id: str
    resource_id: str
    expires_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _watched() -> Q:
    return Q(Q(import_busy=True) | Q(is_destination=True), connection__provider=Provider.GOOGLE,
             connection__health__in=_LIVE, connection__frequency=SyncFrequency.REAL_TIME,
             connection__direction__in=[SyncDirection.TWO_WAY, SyncDirection.IMPORT_ONLY])


async def _covered(now: datetime, calendar_ids: list[int] | None = None) -> set[int]:
    """Calendars with a live channel that lasts beyond the renewal margin."""
    query = WatchChannel.filter(stopped_at=None, expires_at__gt=now + RENEW_AHEAD)
    if calendar_ids is not None:
        query = query.filter(external_calendar_id__in=calendar_ids)
    return set(cast(list[int], await query.values_list("external_calendar_id", flat=True)))


def watch_claim(now: datetime, limit: int = 200, providers: Collection[str] | None = None) -> Claim:
    """The statement claiming watched calendars that need a channel (see claim_due_watches)."""
    claim = Claim(
        "externalcalendar", "watch_claimed_until = ?", [now + CLAIM],
        "k.provider = ? AND k.frequency = ?"
        f" AND k.health IN ({placeholders(_LIVE)}) AND k.direction IN ({placeholders(_READING)})"
        " AND k.credentials <> '' AND (externalcalendar.import_busy OR externalcalendar.is_destination)"
        " AND (externalcalendar.watch_claimed_until IS NULL OR externalcalendar.watch_claimed_until <= ?)"
        " AND NOT EXISTS (SELECT 1 FROM watchchannel w WHERE w.external_calendar_id = externalcalendar.id"
        " AND w.expires_at > ? AND w.stopped_at IS NULL)",
        [Provider.GOOGLE.value, SyncFrequency.REAL_TIME.value, *(health.value for health in _LIVE), *_READING,
         now, now + RENEW_AHEAD],
        joins="JOIN calendarconnection k ON k.id = externalcalendar.connection_id", order="externalcalendar.id",
        limit=limit)
    if providers is not None:
        wanted = [str(provider) for provider in providers]
        claim = claim.and_where(f"k.provider IN ({placeholders(wanted)})", *wanted)
    return claim


async def claim_due_watches(now: datetime, limit: int = 200, providers: Collection[str] | None = None
                            ) -> list[int]:
    """Watched calendars without a live channel beyond the renewal margin, claimed for CLAIM so the scheduler hands
    each out once meanwhile: one statement, at most `limit` rows (models.claims). It walks the watched
    connections (by their provider and frequency) and looks each calendar's channels up by index. `providers`
    keeps to connections of those providers (None: all)."""
    return await run_claim(watch_claim(now, limit, providers))


async def needs_channel(calendar_id: int, now: datetime) -> bool:
    """Whether the calendar is watched and has no live channel beyond the renewal margin (a job run twice opens
    one channel)."""
    if not await ExternalCalendar.filter(_watched(), id=calendar_id).exclude(connection__credentials="").exists():
        return False
    return calendar_id not in await _covered(now, [calendar_id])


async def record_channel(calendar_id: int, channel_id: str, resource_id: str, token: str, expires_at: datetime
                         ) -> WatchChannel:
    """Keep a channel the provider opened (only the token's hash), and release the calendar's claim."""
    async with in_transaction() as db:
        channel = await WatchChannel.create(external_calendar_id=calendar_id, channel_id=channel_id,
                                            resource_id=resource_id, token_hash=token_hash(token),
                                            expires_at=expires_at, using_db=db)
        await ExternalCalendar.filter(id=calendar_id).using_db(db).update(watch_claimed_until=None)
    return channel


async def watch_failed(calendar_id: int, message: str, now: datetime) -> None:
    """Opening a channel failed: try again after RETRY_AFTER_FAILURE, and say so in the sync log."""
    calendar = await ExternalCalendar.get(id=calendar_id)
    await ExternalCalendar.filter(id=calendar_id).update(watch_claimed_until=now + RETRY_AFTER_FAILURE)
    await log_action(calendar.connection_id, "import", "watch", "retrying", error=message,
                     detail=f"push channel for calendar {calendar_id} not opened; polling meanwhile")


def _to_stop(rows: list[WatchChannel]) -> list[ChannelToStop]:
    return [ChannelToStop(row.id, row.channel_id, row.resource_id, row.expires_at) for row in rows]


async def channels_replaced_by(channel: WatchChannel, now: datetime) -> list[ChannelToStop]:
    """The calendar's other channels that are still live: the new `channel` replaces them."""
    return _to_stop(await WatchChannel.filter(external_calendar_id=channel.external_calendar_id, stopped_at=None,
                                              expires_at__gt=now).exclude(id=channel.id).order_by("id"))


async def channels_of_connection(connection_id: int, now: datetime) -> list[ChannelToStop]:
    """Every live channel of the connection's calendars."""
    return _to_stop(await WatchChannel.filter(external_calendar__connection_id=connection_id, stopped_at=None,
                                              expires_at__gt=now).order_by("id"))


async def mark_stopped(row_ids: list[int], now: datetime) -> None:
    await WatchChannel.filter(id__in=row_ids, stopped_at=None).update(stopped_at=now)


async def verified_calendar(channel_id: str, token: str, now: datetime) -> int | None:
    """The calendar a notification is about, when it comes from a live channel of a connected calendar and carries
    that channel's token; None for anything else (unknown, stopped, expired or forged)."""
    channel = await WatchChannel.get_or_none(channel_id=channel_id[:64]) if channel_id else None
    # Hash comparison in constant time, and done even for an unknown channel so timing tells nothing.
    expected = channel.token_hash if channel is not None else token_hash("")
    matches = hmac.compare_digest(expected, token_hash(token))
    if channel is None or not token or not matches or channel.stopped_at is not None or channel.expires_at <= now:
        return None
    connection = await CalendarConnection.filter(calendars__id=channel.external_calendar_id).first()
    if connection is None or connection.health == ConnectionHealth.DISCONNECTED:
        return None
    return channel.external_calendar_id


async def pull_now(calendar_id: int, now: datetime) -> None:
    """The calendar is due an incremental pull at once: the scheduler hands it out within a tick. A pull running
    meanwhile keeps this request (jobs.pull honours a time set while it ran), so no change is missed."""
    await ExternalCalendar.filter(id=calendar_id).update(next_pull_at=now)
