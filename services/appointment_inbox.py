"""The inbox of an appointment provider's webhook deliveries: which calendar a delivery's channel names, keeping a
verified delivery once (by its key) until it is applied, and handing out those whose job never ran.

Terms: the *channel* of an appointment calendar is its webhook subscription; its id is in the subscription's URL
(`?channel=...`), so a delivery names the connection it is for before anything in its body is believed. A delivery
is *due* when it was kept but not applied within a moment (its job was lost with Redis, or failed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from models import AppointmentDelivery, CalendarConnection, ConnectionHealth, WatchChannel

# A delivery not applied this long after it came is handed out again by the scheduler.
HAND_OUT_AGAIN = timedelta(seconds=20)
# A delivery that keeps failing is given up after this many attempts (the backstop's listing repairs what it held).
MAX_ATTEMPTS = 20
_SYNCING = (ConnectionHealth.ACTIVE, ConnectionHealth.DEGRADED, ConnectionHealth.REAUTHORIZATION_REQUIRED)


@dataclass(frozen=True)
class ChannelTarget:
    """The calendar a channel delivers to, whether its connection still syncs, and its sealed credentials."""

    calendar_id: int
    connection_id: int
    connected: bool
    credentials: str


async def channel_target(channel_id: str) -> ChannelTarget | None:
    """The calendar behind a channel id; None for an id no channel has (or one that was stopped)."""
    if not channel_id or len(channel_id) > 64:
        return None
    channel = await WatchChannel.get_or_none(channel_id=channel_id, stopped_at=None).select_related(
        "external_calendar__connection")
    if channel is None:
        return None
    connection: CalendarConnection = channel.external_calendar.connection
    return ChannelTarget(channel.external_calendar_id, connection.id, connection.health in _SYNCING,
                         connection.credentials)


async def keep_delivery(calendar_id: int, key: str, body: bytes, now: datetime) -> int | None:
    """Keep a verified delivery; its id, or None when the same delivery (by `key`) was kept before."""
    try:
        row = await AppointmentDelivery.create(external_calendar_id=calendar_id, key=key,
                                               body=body.decode("utf-8", "replace"), received_at=now)
    except IntegrityError:  # a copy of it came before (a retry, a replay, or one racing this one)
        return None
    return row.id


async def delivery(delivery_id: int) -> AppointmentDelivery | None:
    return await AppointmentDelivery.get_or_none(id=delivery_id)


async def mark_applied(delivery_id: int, now: datetime) -> None:
    await AppointmentDelivery.filter(id=delivery_id).update(applied_at=now)


async def mark_failed(delivery_id: int) -> int:
    """Count a failed attempt; returns the attempts so far."""
    await AppointmentDelivery.filter(id=delivery_id).update(attempts=F("attempts") + 1)
    counts = await AppointmentDelivery.filter(id=delivery_id).values_list("attempts", flat=True)
    return int(cast(Any, counts[0])) if counts else MAX_ATTEMPTS


async def due_deliveries(now: datetime, limit: int = 200) -> list[int]:
    """Deliveries kept but not applied for HAND_OUT_AGAIN (their job was lost or failed), oldest first, and leased
    for as long again (the received time moves on) so they are handed out once meanwhile."""
    ids = cast(list[int], await AppointmentDelivery.filter(
        applied_at=None, received_at__lte=now - HAND_OUT_AGAIN, attempts__lt=MAX_ATTEMPTS).order_by(
        "received_at").limit(limit).values_list("id", flat=True))
    if ids:
        await AppointmentDelivery.filter(id__in=ids).update(received_at=now)
    return ids
