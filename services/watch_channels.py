"""Push channels of calendars (models/channels.py): which calendars need one, recording and stopping them, and
checking a notification before it makes a calendar due for a pull.

Terms:
- *watched calendar*: a calendar of a live connection (active or degraded) of a provider that pushes (the caller
  passes those provider values, from the provider registry) that syncs in real time and brings changes in (two-way
  or import only; importing busy time or the destination, whose events Lockstep follows).
- *renewal margin*: a channel that expires within RENEW_AHEAD is replaced: the new channel is opened first and the old
  one stopped afterwards, so the calendar is never unwatched (providers do not renew channels themselves).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from tortoise import connections
from tortoise.transactions import in_transaction

from models import (
    ConnectionHealth,
    ExternalCalendar,
    SyncDirection,
    SyncFrequency,
    WatchChannel,
)
from models.claims import Claim, is_postgres, numbered, placeholders, run_claim, run_select, select_sql
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


FAR_OFF = datetime(2999, 1, 1, tzinfo=UTC)  # a calendar not watched: out of the claim's range until it may be
# Two index ranges (one OR of both would make the database walk the whole index): calendars never looked at yet,
# and those whose time came; either only when no claim of theirs is running.
_NEVER = "externalcalendar.watch_due_at IS NULL"
_CAME = "externalcalendar.watch_due_at <= ?"
_FREE = "(externalcalendar.watch_claimed_until IS NULL OR externalcalendar.watch_claimed_until <= ?)"
# A scalar subquery, not a join: the database then walks the due range and looks each connection up by its key,
# whatever it guesses about how many rows are due.
_WATCHED = ("(SELECT k.frequency = ? AND k.health IN ({live}) AND k.direction IN ({reading})"
            " AND k.credentials <> '' FROM calendarconnection k WHERE k.id = externalcalendar.connection_id)"
            " AND (externalcalendar.import_busy OR externalcalendar.is_destination)")


def _range(never: bool, now: datetime) -> tuple[str, list[object]]:
    return (f"{_NEVER} AND {_FREE}", [now]) if never else (f"{_CAME} AND {_FREE}", [now, now])


def watch_claim(now: datetime, providers: Collection[str], limit: int = 200, *, never: bool = False) -> Claim:
    """The statement claiming watched calendars that need a channel (see claim_due_watches), over one range."""
    needing, needing_params = _needing_channel(now, providers)
    due, due_params = _range(never, now)
    return Claim("externalcalendar", "watch_claimed_until = ?", [now + CLAIM], f"{due} AND {needing}",
                 [*due_params, *needing_params],
                 order="externalcalendar.id" if never else "externalcalendar.watch_due_at", limit=limit)


async def claim_due_watches(now: datetime, providers: Collection[str], limit: int = 200,
                            pushing: Collection[str] | None = None) -> list[int]:
    """Watched calendars without a live channel beyond the renewal margin, claimed for CLAIM so the scheduler hands
    each out once meanwhile: one statement over the calendars whose `watch_due_at` has come (models.claims).
    `providers` are the providers that push and are configured here; `pushing` (default `providers`) every provider
    that pushes, configured or not (the registry says which; services do not know providers).

    The rest of the range is then set aside (`_set_aside`) so the range holds only what is due: a calendar not
    watched (by `pushing`) until something that could make it watched clears its `watch_due_at`, and one covered
    by a channel until a renewal margin before that channel expires. A calendar of a pushing provider not
    configured here stays in range, so it is watched once the provider is configured."""
    claimed = await run_claim(watch_claim(now, providers, limit, never=True))
    claimed += await run_claim(watch_claim(now, providers, limit - len(claimed)))
    if len(claimed) < limit:
        await _set_aside(now, limit, providers if pushing is None else pushing)
    return sorted(claimed)


def _watched_sql(pushing: Collection[str]) -> tuple[str, list[object]]:
    """The condition of a watched calendar (a connection of one of `pushing` that syncs in real time, reads the
    calendar and has credentials; the calendar imports busy time or is the destination), and its parameters."""
    wanted = [str(provider) for provider in pushing]
    watched = _WATCHED.format(live=placeholders(_LIVE), reading=placeholders(_READING))
    return (f"({watched} AND (SELECT k.provider FROM calendarconnection k"
            f" WHERE k.id = externalcalendar.connection_id) IN ({placeholders(wanted)}))",
            [SyncFrequency.REAL_TIME.value, *(health.value for health in _LIVE), *_READING, *wanted])


def _needing_channel(now: datetime, providers: Collection[str]) -> tuple[str, list[object]]:
    """Watched (by `providers`) and without a live channel beyond the renewal margin."""
    watched, params = _watched_sql(providers)
    return (f"{watched} AND NOT EXISTS (SELECT 1 FROM watchchannel w WHERE w.external_calendar_id ="
            " externalcalendar.id AND w.expires_at > ? AND w.stopped_at IS NULL)", [*params, now + RENEW_AHEAD])


async def _set_aside(now: datetime, limit: int, pushing: Collection[str]) -> None:
    """Move out of the due ranges what needs no channel now, each with a statement that decides at write time (a
    settings change or a channel stopped meanwhile, or a row another transaction holds, is left due: on PostgreSQL
    the statements skip locked rows, which the next tick looks at again):
    - calendars not watched by any pushing provider: FAR_OFF;
    - watched calendars covered by a live channel beyond the margin: that channel's expiry minus RENEW_AHEAD,
      only while the channel is still live and the calendar still due (NULL or come)."""
    watched, watched_params = _watched_sql(pushing)
    for never in (True, False):
        due, due_params = _range(never, now)
        await run_claim(Claim("externalcalendar", "watch_due_at = ?", [FAR_OFF], f"{due} AND NOT {watched}",
                              [*due_params, *watched_params], limit=limit))
    db = connections.get("default")
    postgres = is_postgres(db)
    parts, params = [], []
    for never in (True, False):
        due, due_params = _range(never, now)
        left = Claim("externalcalendar", "", [], due, due_params, limit=limit)
        parts.append(f"SELECT id FROM ({select_sql(left, False)}) AS left_{int(never)}")
        params += list(left.where_params)
    sql = " UNION ALL ".join(parts)
    rows = await db.execute_query_dict(numbered(sql) if postgres else sql, params)
    ids = [int(row["id"]) for row in rows]
    if not ids:
        return
    covers = cast(list[tuple[int, datetime]], await WatchChannel.filter(
        external_calendar_id__in=ids, stopped_at=None, expires_at__gt=now + RENEW_AHEAD).values_list(
        "external_calendar_id", "expires_at"))
    cover: dict[int, datetime] = {}
    for calendar_id, expiry in covers:
        cover[calendar_id] = max(expiry, cover.get(calendar_id, expiry))
    for calendar_id, expiry in sorted(cover.items()):
        # Unless a claim took it meanwhile (its job decides), its channel stopped, or a change cleared it.
        await run_claim(Claim(
            "externalcalendar", "watch_due_at = ?", [expiry - RENEW_AHEAD],
            f"externalcalendar.id = ? AND (externalcalendar.watch_due_at IS NULL OR externalcalendar.watch_due_at <= ?)"
            f" AND {_FREE} AND EXISTS (SELECT 1 FROM watchchannel w WHERE w.external_calendar_id = externalcalendar.id"
            " AND w.stopped_at IS NULL AND w.expires_at >= ?)", [calendar_id, now, now, expiry], limit=1))


async def needs_channel(calendar_id: int, now: datetime, providers: Collection[str]) -> bool:
    """Whether the calendar is watched (its provider among the pushing `providers`) and has no live channel beyond
    the renewal margin (a job run twice opens one channel): the claim's own condition, for this calendar."""
    needing, params = _needing_channel(now, providers)
    return await run_select(Claim("externalcalendar", "", [], f"externalcalendar.id = ? AND {needing}",
                                  [calendar_id, *params], limit=1)) == [calendar_id]


async def record_channel(calendar_id: int, channel_id: str, resource_id: str, token: str, expires_at: datetime
                         ) -> WatchChannel:
    """Keep a channel the provider opened (only the token's hash), and release the calendar's claim."""
    async with in_transaction() as db:
        channel = await WatchChannel.create(external_calendar_id=calendar_id, channel_id=channel_id,
                                            resource_id=resource_id, token_hash=token_hash(token),
                                            expires_at=expires_at, using_db=db)
        await ExternalCalendar.filter(id=calendar_id).using_db(db).update(watch_claimed_until=None,
                                                                          watch_due_at=expires_at - RENEW_AHEAD)
    return channel


async def watch_failed(calendar_id: int, message: str, now: datetime) -> None:
    """Opening a channel failed: try again after RETRY_AFTER_FAILURE, and say so in the sync log."""
    calendar = await ExternalCalendar.get(id=calendar_id)
    await ExternalCalendar.filter(id=calendar_id).update(watch_claimed_until=now + RETRY_AFTER_FAILURE)
    await log_action(calendar.connection_id, "import", "watch", "retrying", error=message,
                     detail=f"push channel for calendar {calendar_id} not opened; polling meanwhile")


async def channel_to_renew(calendar_id: int, now: datetime) -> ChannelToStop | None:
    """The calendar's live channel that expires last (the one a renewal extends), or None."""
    row = await WatchChannel.filter(external_calendar_id=calendar_id, stopped_at=None, expires_at__gt=now).order_by(
        "-expires_at", "-id").first()
    return None if row is None else _to_stop([row])[0]


async def record_renewal(calendar_id: int, row_id: int, expires_at: datetime) -> None:
    """The provider extended the channel to `expires_at` (its token stays): release the calendar's claim until the
    next renewal margin."""
    async with in_transaction() as db:
        await WatchChannel.filter(id=row_id).using_db(db).update(expires_at=expires_at)
        await ExternalCalendar.filter(id=calendar_id).using_db(db).update(watch_claimed_until=None,
                                                                          watch_due_at=expires_at - RENEW_AHEAD)


async def renewal_requested(calendar_id: int, channel_id: str, now: datetime) -> None:
    """The provider asks for the channel to be renewed (Graph's reauthorizationRequired): it counts as inside the
    renewal margin from now on, so the next watch job renews it (or replaces it when renewal fails)."""
    async with in_transaction() as db:
        await WatchChannel.filter(external_calendar_id=calendar_id, channel_id=channel_id, stopped_at=None,
                                  expires_at__gt=now + RENEW_AHEAD).using_db(db).update(expires_at=now + RENEW_AHEAD)
        await ExternalCalendar.filter(id=calendar_id).using_db(db).update(watch_due_at=now)


async def channel_removed(calendar_id: int, channel_id: str, now: datetime) -> None:
    """The provider removed the channel (Graph's subscriptionRemoved): it is stopped, so the next watch job opens a
    new one; the calendar is pulled at once, as no notification came since the removal."""
    rows = cast(list[int], await WatchChannel.filter(external_calendar_id=calendar_id, channel_id=channel_id,
                                                     stopped_at=None).values_list("id", flat=True))
    await mark_stopped(rows, now)
    await pull_now(calendar_id, now)


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
    """Record the channels stopped; their calendars are looked at again (another channel may or may not cover
    them)."""
    calendar_ids = cast(list[int], await WatchChannel.filter(id__in=row_ids, stopped_at=None).values_list(
        "external_calendar_id", flat=True))
    await WatchChannel.filter(id__in=row_ids, stopped_at=None).update(stopped_at=now)
    await ExternalCalendar.filter(id__in=sorted(set(calendar_ids))).update(watch_due_at=None)


async def verified_calendar(channel_id: str, token: str, now: datetime, provider: str) -> int | None:
    """The calendar a notification is about, when it comes from a live channel of a connected calendar of
    `provider` (the provider whose webhook received it) and carries that channel's token; None for anything else
    (unknown, stopped, expired, forged, or a channel of another provider's connection)."""
    # One read, the connection's health joined in: the webhook's check runs on the API's event loop, and each
    # statement is a wait there (bench/google_latency.py).
    rows = await WatchChannel.filter(channel_id=channel_id[:64]).values(
        "token_hash", "stopped_at", "expires_at", "external_calendar_id",
        "external_calendar__connection__health", "external_calendar__connection__provider") if channel_id else []
    channel = rows[0] if rows else None
    # Hash comparison in constant time, and done even for an unknown channel so timing tells nothing.
    expected = channel["token_hash"] if channel is not None else token_hash("")
    matches = hmac.compare_digest(expected, token_hash(token))
    if channel is None or not token or not matches or channel["stopped_at"] is not None \
            or channel["expires_at"] <= now:
        return None
    if channel["external_calendar__connection__health"] in (None, ConnectionHealth.DISCONNECTED):
        return None
    if str(channel["external_calendar__connection__provider"]) != str(provider):
        return None
    return cast(int, channel["external_calendar_id"])


async def pull_now(calendar_id: int, now: datetime) -> None:
    """The calendar is due an incremental pull at once: the scheduler hands it out within a tick. A pull running
    meanwhile keeps this request (jobs.pull honours a time set while it ran), so no change is missed."""
    await ExternalCalendar.filter(id=calendar_id).update(next_pull_at=now)
