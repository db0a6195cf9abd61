"""Refreshing an OAuth connection's access token (DESIGN.md: tokens refreshed ahead of expiry and on any 401), with
the connection's provider's OAuth client (from the provider registry, handed in by the caller).

The job takes the connection's ID and is idempotent: a refresh that runs twice just gets a second fresh token. Two
refreshes of one connection at the same time (the scheduled one and one after a 401) take turns under the
connection's refresh lock (services/oauth_tokens.py); the one that comes second re-reads the credentials and, when
the first renewed them meanwhile, uses those instead of spending the refresh token again (a provider that rotates
refresh tokens makes each one single use).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from models import CalendarConnection, ConnectionHealth
from providers.base import AuthFailed, ProviderError, Unavailable
from providers.oauth import AppRejected, GrantRevoked, OAuthClient, refresh_tokens
from services.credentials import CredentialsUnreadable, CredentialVault
from services.oauth_tokens import (
    record_refresh_failure,
    release_refresh_lock,
    save_refreshed_tokens,
    sealed_credentials,
    take_refresh_lock,
)

log = logging.getLogger("lockstep.jobs.tokens")
LOCK_WAIT = timedelta(seconds=20)  # the longest a refresh waits for another one of the same connection to finish
_LOCK_POLL = 0.05  # seconds between tries to take a held lock


@asynccontextmanager
async def refresh_lock(connection_id: int, wait: timedelta = LOCK_WAIT) -> AsyncIterator[bool]:
    """Hold the connection's refresh lock for the block, waiting up to `wait` for it; yields whether it was taken."""
    owner = uuid.uuid4().hex
    deadline = datetime.now(UTC) + wait
    while not await take_refresh_lock(connection_id, owner, datetime.now(UTC)):
        if datetime.now(UTC) >= deadline:
            yield False
            return
        await asyncio.sleep(_LOCK_POLL)
    try:
        yield True
    finally:
        await release_refresh_lock(connection_id, owner)


async def refresh_access(connection_id: int, client: OAuthClient, vault: CredentialVault, now: datetime, *,
                         record_failures: bool = True) -> str:
    """Refresh and store the connection's tokens. Returns done (refreshed, here or by another refresh meanwhile),
    skipped (nothing to refresh), busy (another refresh held the lock too long), retry (a transient failure,
    counted), reauthorize (the grant is gone, or too many failures) or app_rejected (the provider refuses this
    server's registration: logged as an error for the operator, retried, the connection not blamed).
    Without `record_failures` (a look that must write no health: the connection preview) a failed refresh is
    raised as it came (GrantRevoked, or the token endpoint's ProviderError) and nothing of it is recorded."""
    connection = await CalendarConnection.get_or_none(id=connection_id)
    live = (ConnectionHealth.ACTIVE, ConnectionHealth.DEGRADED)
    if connection is None or not connection.credentials or connection.health not in live:
        return "skipped"
    async with refresh_lock(connection_id) as held:
        if not held:
            return "busy"
        if await sealed_credentials(connection_id) != connection.credentials:
            return "done"  # refreshed (or reconnected, or disconnected) while this one waited for the lock
        return await _refresh_held(connection, client, vault, now, record_failures)


async def _refresh_held(connection: CalendarConnection, client: OAuthClient, vault: CredentialVault,
                        now: datetime, record_failures: bool) -> str:
    try:
        stored = vault.unseal(connection.credentials)
        refresh_token = str(stored["refresh_token"])
    except (CredentialsUnreadable, KeyError):
        await record_refresh_failure(connection.id, "the stored credentials hold no usable grant", now, refused=True)
        return "reauthorize"
    try:
        tokens = await refresh_tokens(client, refresh_token, now)
    except ProviderError as exc:
        if not record_failures:
            raise
        return await _record_refresh_failure(connection, exc, now)
    # One UPDATE stores the new access token with the refresh token it came with (a rotated one replaces the old).
    saved = await save_refreshed_tokens(connection.id, vault, connection.credentials, {
        **stored, "access_token": tokens.access_token, "refresh_token": tokens.refresh_token,
        "scope": tokens.scope or stored.get("scope", "")}, tokens.expires_at)
    return "done" if saved else "skipped"


async def _record_refresh_failure(connection: CalendarConnection, error: ProviderError, now: datetime) -> str:
    """Record a failed refresh and say what became of the connection."""
    if isinstance(error, GrantRevoked):
        if await _credentials_changed(connection):
            return "done"  # refreshed or reconnected meanwhile: the grant this job held is simply outdated
        await record_refresh_failure(connection.id, str(error), now, refused=True)
        return "reauthorize"
    if isinstance(error, AppRejected):
        log.error("the %s token endpoint refuses this server's client registration (connection %s): renew the "
                  "client secret or registration in the provider's console", connection.provider, connection.id)
        await record_refresh_failure(connection.id, str(error), now, refused=False, servers_fault=True)
        return "app_rejected"
    health = await record_refresh_failure(connection.id, str(error), now, refused=False,
                                          retry_after=getattr(error, "retry_after", None))
    return "reauthorize" if health == ConnectionHealth.REAUTHORIZATION_REQUIRED else "retry"


async def _credentials_changed(connection: CalendarConnection) -> bool:
    return await sealed_credentials(connection.id) != connection.credentials


class ConnectionTokens:
    """The access tokens of one stored OAuth connection (providers.tokens.AccessTokens): the current one from its
    sealed credentials; on a 401, a refresh through `refresh_access` (stored, and counted when it fails, unless
    `record_failures` is off: then a failed refresh is raised and nothing of it recorded). `label` names the
    provider in the errors it raises."""

    def __init__(self, connection_id: int, client: OAuthClient, vault: CredentialVault,
                 label: str = "The provider", *, record_failures: bool = True) -> None:
        self.connection_id = connection_id
        self.client = client
        self.vault = vault
        self.label = label
        self.record_failures = record_failures

    def __repr__(self) -> str:
        return f"ConnectionTokens(connection {self.connection_id})"

    async def current(self) -> str:
        connection = await CalendarConnection.get(id=self.connection_id)
        if not connection.credentials:
            raise AuthFailed("the connection holds no credentials (it was disconnected)")
        return str(self.vault.unseal(connection.credentials)["access_token"])

    async def refreshed(self, rejected: str) -> str:
        current = await self.current()
        if current != rejected:
            return current  # refreshed meanwhile by another request of this connection
        try:
            status = await refresh_access(self.connection_id, self.client, self.vault, datetime.now(UTC),
                                          record_failures=self.record_failures)
        except GrantRevoked:  # only without recording: the grant is gone, and nothing was written of it
            raise AuthFailed(f"{self.label} no longer accepts this connection's access") from None
        if status == "reauthorize":
            raise AuthFailed(f"{self.label} no longer accepts this connection's access: reconnect the calendar")
        if status != "done":
            raise Unavailable(f"{self.label}'s token endpoint could not refresh access now")
        return await self.current()
