"""Refreshing an OAuth connection's access token (DESIGN.md: tokens refreshed ahead of expiry and on any 401).

The job takes the connection's ID and is idempotent: a refresh that runs twice just gets a second fresh token.
"""

from __future__ import annotations

from datetime import UTC, datetime

from models import CalendarConnection, ConnectionHealth
from providers.base import AuthFailed, ProviderError, Unavailable
from providers.oauth import GrantRevoked, OAuthClient, refresh_tokens
from services.credentials import CredentialsUnreadable, CredentialVault
from services.oauth_tokens import record_refresh_failure, save_refreshed_tokens


async def refresh_access(connection_id: int, client: OAuthClient, vault: CredentialVault, now: datetime) -> str:
    """Refresh and store the connection's tokens. Returns done, skipped (nothing to refresh), retry (a transient
    failure, counted) or reauthorize (the grant is gone, or too many failures)."""
    connection = await CalendarConnection.get_or_none(id=connection_id)
    live = (ConnectionHealth.ACTIVE, ConnectionHealth.DEGRADED)
    if connection is None or not connection.credentials or connection.health not in live:
        return "skipped"
    try:
        stored = vault.unseal(connection.credentials)
        refresh_token = str(stored["refresh_token"])
    except (CredentialsUnreadable, KeyError):
        await record_refresh_failure(connection.id, "the stored credentials hold no usable grant", now, refused=True)
        return "reauthorize"
    try:
        tokens = await refresh_tokens(client, refresh_token, now)
    except GrantRevoked as exc:
        if await _credentials_changed(connection):
            return "done"  # refreshed or reconnected meanwhile: the grant this job held is simply outdated
        await record_refresh_failure(connection.id, str(exc), now, refused=True)
        return "reauthorize"
    except ProviderError as exc:
        health = await record_refresh_failure(connection.id, str(exc), now, refused=False,
                                              retry_after=getattr(exc, "retry_after", None))
        return "reauthorize" if health == ConnectionHealth.REAUTHORIZATION_REQUIRED else "retry"
    saved = await save_refreshed_tokens(connection.id, vault, connection.credentials, {
        **stored, "access_token": tokens.access_token, "refresh_token": tokens.refresh_token,
        "scope": tokens.scope or stored.get("scope", "")}, tokens.expires_at)
    return "done" if saved else "skipped"


async def _credentials_changed(connection: CalendarConnection) -> bool:
    current = await CalendarConnection.filter(id=connection.id).values_list("credentials", flat=True)
    return list(current) != [connection.credentials]


class ConnectionTokens:
    """The access tokens of one stored OAuth connection (providers.tokens.AccessTokens): the current one from its
    sealed credentials; on a 401, a refresh through `refresh_access` (stored, and counted when it fails)."""

    def __init__(self, connection_id: int, client: OAuthClient, vault: CredentialVault) -> None:
        self.connection_id = connection_id
        self.client = client
        self.vault = vault

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
        status = await refresh_access(self.connection_id, self.client, self.vault, datetime.now(UTC))
        if status == "reauthorize":
            raise AuthFailed("Google no longer accepts this connection's access: reconnect the calendar")
        if status != "done":
            raise Unavailable("Google's token endpoint could not refresh access now")
        return await self.current()
