"""Refreshing an OAuth connection's access token (DESIGN.md: tokens refreshed ahead of expiry and on any 401).

The job takes the connection's ID and is idempotent: a refresh that runs twice just gets a second fresh token.
"""

from __future__ import annotations

from datetime import datetime

from models import CalendarConnection, ConnectionHealth
from providers.base import ProviderError
from providers.oauth import GrantRevoked, OAuthClient, refresh_tokens
from services.credentials import CredentialVault
from services.oauth_tokens import record_refresh_failure, save_refreshed_tokens


async def refresh_access(connection_id: int, client: OAuthClient, vault: CredentialVault, now: datetime) -> str:
    """Refresh and store the connection's tokens. Returns done, skipped (nothing to refresh), retry (a transient
    failure, counted) or reauthorize (the grant is gone, or too many failures)."""
    connection = await CalendarConnection.get_or_none(id=connection_id)
    live = (ConnectionHealth.ACTIVE, ConnectionHealth.DEGRADED)
    if connection is None or not connection.credentials or connection.health not in live:
        return "skipped"
    stored = vault.unseal(connection.credentials)
    try:
        tokens = await refresh_tokens(client, str(stored["refresh_token"]), now)
    except GrantRevoked as exc:
        await record_refresh_failure(connection.id, str(exc), now, refused=True)
        return "reauthorize"
    except ProviderError as exc:
        health = await record_refresh_failure(connection.id, str(exc), now, refused=False)
        return "reauthorize" if health == ConnectionHealth.REAUTHORIZATION_REQUIRED else "retry"
    await save_refreshed_tokens(connection.id, vault, {
        **stored, "access_token": tokens.access_token, "refresh_token": tokens.refresh_token,
        "scope": tokens.scope or stored.get("scope", "")}, tokens.expires_at)
    return "done"
