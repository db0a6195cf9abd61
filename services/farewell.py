"""Disconnecting a calendar account tells its provider first: stop the push channels, revoke Lockstep's access.

Terms:
- *farewell*: that last word to the provider. Services may not call providers, so the app injects one (a
  `ProviderFarewell`). It is best effort: whatever fails is written to the sync log, and the disconnect (the
  credentials deleted at once, services.connections.disconnect_calendar) goes ahead regardless.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

from models import CalendarConnection, ConnectionHealth
from services.auth import Viewer
from services.connections import disconnect_calendar
from services.sync_health import log_action
from services.sync_queries import managed_connection

log = logging.getLogger("lockstep.farewell")


class ProviderFarewell(Protocol):
    async def __call__(self, connection: CalendarConnection, now: datetime) -> None:
        """Stop the connection's push channels and revoke its grant at the provider (nothing for a provider without
        either). Records failures in the sync log instead of raising."""
        ...


async def disconnect_with_farewell(viewer: Viewer, connection_id: int, remove_imported_blocks: bool,
                                   farewell: ProviderFarewell | None, now: datetime) -> CalendarConnection:
    """Disconnect as services.connections.disconnect_calendar does, after the farewell (only for a connection that
    still holds credentials, and only for a viewer who may manage it)."""
    connection = await managed_connection(viewer, connection_id, ["input", "connectionId"])
    try:
        if farewell is not None and connection.credentials and connection.health != ConnectionHealth.DISCONNECTED:
            try:
                await farewell(connection, now)
            except Exception as exc:  # never blocks the disconnect: the credentials are deleted below either way
                log.exception("the farewell to the provider of connection %s failed", connection.id)
                await log_action(connection.id, "none", "revoke", "failed", error=type(exc).__name__)
    finally:
        # Even when the request is cancelled mid-farewell (a client gone, a timeout), the credentials go.
        disconnected = await disconnect_calendar(viewer, connection.id, remove_imported_blocks, now)
    return disconnected
