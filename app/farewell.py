"""The farewell to a connection's provider when it is disconnected (services/farewell.py), as its registry entry
says: its push channels are stopped with the connection's own access, then the grant is revoked at the provider's
revocation endpoint where it has one (Microsoft has none). A provider with neither (CalDAV) is told nothing. A
connection holding a personal access token instead of OAuth tokens (Calendly) has its channels stopped with that
token, whether or not the deployment configures the provider's OAuth app, and nothing revoked: the token is its
owner's, not a grant to Lockstep's app."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from app.oauth_accounts import provider_setups
from app.settings import Settings
from jobs.watch import stop_connection_channels
from models import CalendarConnection
from providers.base import ProviderError
from providers.entry import ClientParts, ProviderEntry, ProviderSetup
from providers.oauth import OAuthClient, refresh_tokens, revoke_token
from providers.registry import entry_for
from providers.tokens import AccessTokens
from services.credentials import CredentialsUnreadable, CredentialVault
from services.sync_health import log_action


class _LastTokens:
    """The connection's tokens for its last calls: refreshed in memory on a 401 (the credentials are about to be
    deleted, so nothing is stored). A rotated refresh token replaces the spent one, so the grant is revoked with a
    token the provider still knows."""

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
            fresh = await refresh_tokens(self.client, self.refresh_token, datetime.now(UTC))
            self.access_token, self.refresh_token = fresh.access_token, fresh.refresh_token
        return self.access_token


class ProviderFarewells:
    """The farewell of every provider this deployment configures (`setups`, by provider value)."""

    def __init__(self, setups: Mapping[str, ProviderSetup], vault: CredentialVault, timeout: float) -> None:
        self.setups = dict(setups)
        self.vault = vault
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"ProviderFarewells({sorted(self.setups)})"

    async def __call__(self, connection: CalendarConnection, now: datetime) -> None:
        entry = entry_for(connection.provider)
        setup = self.setups.get(str(connection.provider))
        if entry is None or setup is None:
            return  # nothing to say (CalDAV), or nothing this deployment can say
        if not (entry.farewell.stop_channels or entry.farewell.revoke_grant):
            return
        try:
            stored = self.vault.unseal(connection.credentials)
        except CredentialsUnreadable:
            await log_action(connection.id, "none", "revoke", "failed",
                             error="the stored credentials could not be read; access was not revoked")
            return
        if entry.personal_tokens and stored.get(entry.personal_tokens):
            # A personal access token (Calendly): its channels are stopped with it, with or without the
            # deployment's OAuth app; it is no grant of that app, so there is nothing to revoke.
            stopped = await self._stop_channels(entry, setup, connection, stored, None, now)
            if stopped:
                await log_action(connection.id, "import", "unwatch", "ok",
                                 detail=f"push channels stopped: {stopped}; a personal access token has no grant "
                                        f"to revoke: its owner deletes it in {entry.label}")
            return
        if setup.oauth is None:
            return  # OAuth tokens of an app this deployment does not configure: it can neither use nor revoke them
        tokens = _LastTokens(setup.oauth, str(stored.get("access_token", "")), str(stored.get("refresh_token", "")))
        stopped = await self._stop_channels(entry, setup, connection, stored, tokens, now)
        if not entry.farewell.revoke_grant:
            if stopped:  # a provider without revocation (Microsoft): the account removes the app's access itself
                await log_action(connection.id, "import", "unwatch", "ok",
                                 detail=f"push channels stopped: {stopped}; {entry.label} has no revocation, the "
                                        "account's grant stays until its owner removes the app")
            return
        try:
            # Revoking the refresh token revokes the whole grant, its access tokens included.
            await revoke_token(setup.oauth, tokens.refresh_token or tokens.access_token)
        except ProviderError as exc:
            await log_action(connection.id, "none", "revoke", "failed", error=str(exc),
                             detail=f"{entry.label}'s access could not be revoked; the credentials are deleted anyway")
            return
        await log_action(connection.id, "none", "revoke", "ok",
                         detail=f"access revoked at {entry.label}; push channels stopped: {stopped}")

    async def _stop_channels(self, entry: ProviderEntry, setup: ProviderSetup, connection: CalendarConnection,
                             stored: dict[str, Any], tokens: AccessTokens | None, now: datetime) -> int:
        if not entry.farewell.stop_channels or entry.open_client is None:
            return 0
        try:
            parts = ClientParts(stored, tokens, setup.api_url, self.timeout, mailbox=connection.account_label)
            async with entry.open_client(parts) as client:
                return await stop_connection_channels(connection.id, client, now)
        except ProviderError as exc:  # the channels lapse when they expire; their notifications are refused
            await log_action(connection.id, "import", "unwatch", "failed", error=str(exc))
            return 0


def configured_farewell(settings: Settings, vault: CredentialVault) -> ProviderFarewells | None:
    """The farewell for the providers the settings configure, or None when none has anything to say."""
    setups = provider_setups(settings)
    if not setups:
        return None
    return ProviderFarewells(setups, vault, settings.caldav_timeout_seconds)
