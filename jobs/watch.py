"""Opening, renewing and stopping a calendar's push channels (services/watch_channels.py has the terms).

The bodies take a provider, so they run against any client (the worker opens one per connection). A provider that
can extend a channel (Graph) is asked to first; otherwise, or when that fails, renewal opens a new channel before it
stops the old one: for a moment both notify, which only makes a pull due twice.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime

from models import ExternalCalendar
from providers.base import CalendarProvider, NotFound, ProviderError, Subscription
from providers.registry import pushing
from services.sync_health import log_action
from services.watch_channels import (
    ChannelToStop,
    channel_to_renew,
    channels_of_connection,
    channels_replaced_by,
    mark_stopped,
    needs_channel,
    record_channel,
    record_renewal,
    watch_failed,
)

log = logging.getLogger("lockstep.jobs.watch")


async def open_channel(calendar_id: int, provider: CalendarProvider, address: str, now: datetime) -> str:
    """Open a channel for the calendar when it needs one, then stop the channels it replaces. Returns done,
    skipped (not needed, or the provider cannot push) or retry (the provider refused; tried again later)."""
    if not await needs_channel(calendar_id, now, pushing()):
        await ExternalCalendar.filter(id=calendar_id).update(watch_claimed_until=None)
        return "skipped"
    calendar = await ExternalCalendar.get(id=calendar_id)
    if await _renewed(calendar, provider, now):
        return "done"
    token = secrets.token_urlsafe(32)  # one secret per channel; only its hash is kept
    try:
        opened = await provider.watch(calendar.provider_calendar_id, address, token)
    except ProviderError as exc:
        await watch_failed(calendar_id, str(exc), now)
        return "retry"
    if opened is None:
        return "skipped"
    channel = await record_channel(calendar_id, opened.subscription_id, opened.resource_id, token,
                                   opened.expires_at)
    await stop_channels(calendar.connection_id, await channels_replaced_by(channel, now), provider, now)
    return "done"


async def _renewed(calendar: ExternalCalendar, provider: CalendarProvider, now: datetime) -> bool:
    """Whether the provider extended the calendar's live channel (True: nothing more to do)."""
    current = await channel_to_renew(calendar.id, now)
    if current is None:
        return False
    try:
        renewed = await provider.renew(Subscription(current.channel_id, current.resource_id, current.expires_at))
    except ProviderError as exc:  # gone, or refused: a new channel replaces it
        await log_action(calendar.connection_id, "import", "renew", "failed", error=str(exc),
                         detail=f"push channel for calendar {calendar.id} not renewed; opening a new one")
        return False
    if renewed is None:
        return False
    await record_renewal(calendar.id, current.row_id, renewed.expires_at)
    return True


async def stop_channels(connection_id: int, channels: list[ChannelToStop], provider: CalendarProvider,
                        now: datetime) -> int:
    """Stop each channel at the provider and mark it stopped; one the provider no longer knows counts as stopped.
    A channel that could not be stopped stays recorded as live until it expires (its notifications only make a
    pull due). Returns how many were stopped."""
    stopped: list[int] = []
    for channel in channels:
        try:
            await provider.unwatch(Subscription(channel.channel_id, channel.resource_id, channel.expires_at))
        except NotFound:
            pass
        except ProviderError as exc:
            await log_action(connection_id, "import", "unwatch", "failed", error=str(exc),
                             detail="a push channel could not be stopped; it lapses when it expires")
            continue
        stopped.append(channel.row_id)
    await mark_stopped(stopped, now)
    return len(stopped)


async def stop_connection_channels(connection_id: int, provider: CalendarProvider, now: datetime) -> int:
    """Stop every live channel of the connection (on disconnect). Returns how many were stopped."""
    return await stop_channels(connection_id, await channels_of_connection(connection_id, now), provider, now)
