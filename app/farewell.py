"""The farewell to Google when a connection is disconnected (services/farewell.py): its push channels are stopped
with the connection's own access, then the grant is revoked at Google's revocation endpoint."""

from __future__ import annotations

from datetime import UTC, datetime

from app.oauth_accounts import google_client
from app.settings import Settings
from jobs.watch import stop_connection_channels
from models import CalendarConnection, Provider
from providers.base import ProviderError
from providers.google import GoogleProvider
from providers.oauth import OAuthClient, refresh_tokens, revoke_token
from services.credentials import CredentialsUnreadable, CredentialVault
from services.sync_health import log_action


class _LastTokens:
    """The connection's tokens for its last calls: refreshed in memory on a 401 (the credentials are about to be
    deleted, so nothing is stored)."""

    def __init__(self, client: OAuthClient, access_token: str, refresh_token: str) -> None:
        self.client = client
        self.access_token = access_token
        self.refresh_token = refresh_token

    def __repr__(self) -> str:
        return "_LastTokens()"

    async def current(self) -> str:
        return self.access_token

    async def refreshed(self, rejected: str) -> str:
        if self.access_token == rejected:
            self.access_token = (await refresh_tokens(self.client, self.refresh_token, datetime.now(UTC))
                                 ).access_token
        return self.access_token


class GoogleFarewell:
    def __init__(self, client: OAuthClient, api_url: str, vault: CredentialVault, timeout: float) -> None:
        self.client = client
        self.api_url = api_url
        self.vault = vault
        self.timeout = timeout

    def __repr__(self) -> str:
        return "GoogleFarewell()"

    async def __call__(self, connection: CalendarConnection, now: datetime) -> None:
        if connection.provider != Provider.GOOGLE:
            return
        try:
            stored = self.vault.unseal(connection.credentials)
        except CredentialsUnreadable:
            await log_action(connection.id, "none", "revoke", "failed",
                             error="the stored credentials could not be read; access was not revoked")
            return
        tokens = _LastTokens(self.client, str(stored.get("access_token", "")), str(stored.get("refresh_token", "")))
        stopped = 0
        try:
            async with GoogleProvider(tokens, api_url=self.api_url, timeout=self.timeout) as google:
                stopped = await stop_connection_channels(connection.id, google, now)
        except ProviderError as exc:  # the channels lapse when they expire; their notifications are refused
            await log_action(connection.id, "import", "unwatch", "failed", error=str(exc))
        try:
            # Revoking the refresh token revokes the whole grant, its access tokens included.
            await revoke_token(self.client, tokens.refresh_token or tokens.access_token)
        except ProviderError as exc:
            await log_action(connection.id, "none", "revoke", "failed", error=str(exc),
                             detail="Google's access could not be revoked; the credentials are deleted anyway")
            return
        await log_action(connection.id, "none", "revoke", "ok",
                         detail=f"access revoked at Google; push channels stopped: {stopped}")


def configured_farewell(settings: Settings, vault: CredentialVault) -> GoogleFarewell | None:
    """The farewell for the providers the settings configure (Google), or None."""
    client = google_client(settings)
    if client is None or settings.google is None:
        return None
    return GoogleFarewell(client, settings.google.api_url, vault, settings.caldav_timeout_seconds)
