"""What connecting an appointment provider's account (Calendly) takes from the providers, for
services.appointment_connections: the probe that checks a personal access token and reads the account, and the
subscriber that opens its webhook subscription at once (the watch step the sync engine would run later).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any, cast

from app.settings import Settings
from models import CalendarConnection, ExternalCalendar
from providers.base import AppointmentSource, AuthFailed, CalendarProvider, ProviderError, RateLimited, Unavailable
from providers.entry import ClientParts
from providers.registry import available, entry_of
from services.appointment_connections import ProbedAppointmentAccount
from services.connections import ConnectionCheckError
from services.credentials import CredentialVault
from services.watch_channels import record_channel


def _client(settings: Settings, provider: str, credentials: dict[str, Any]
            ) -> AbstractAsyncContextManager[CalendarProvider]:
    entry = entry_of(provider)
    if entry.open_client is None or entry.appointments is None:
        raise ConnectionCheckError("unreachable", f"{entry.label} accounts cannot be connected on this server")
    parts = ClientParts(credentials, None, settings.api_urls.get(provider, ""), settings.caldav_timeout_seconds)
    return entry.open_client(parts)


def _refused(error: ProviderError, label: str) -> ConnectionCheckError:
    if isinstance(error, AuthFailed):
        if "revoked" in str(error).lower():
            return ConnectionCheckError("revoked", f"{label} no longer accepts this token: create a new one")
        return ConnectionCheckError("bad_token", f"{label} does not know this token: copy it again, whole")
    if isinstance(error, RateLimited | Unavailable):
        return ConnectionCheckError("unreachable", f"{label} could not be reached; try again in a minute")
    return ConnectionCheckError("bad_token", f"{label} refused the token: {error}")


class AppointmentAccounts:
    """The probe and subscriber of services.appointment_connections, for this deployment's settings."""

    def __init__(self, settings: Settings, vault: CredentialVault) -> None:
        self.settings = settings
        self.vault = vault
        # The registry's appointment provider whose accounts connect with a personal access token ("" for none).
        self.provider = next((entry.name for entry in available() if entry.appointments is not None
                              and entry.personal_tokens), "")

    def webhook_address(self, provider: str) -> str:
        return f"{self.settings.public_url}/webhooks/{provider}"

    async def probe(self, provider: str, token: str) -> ProbedAppointmentAccount:
        label = entry_of(provider).label
        try:
            async with _client(self.settings, provider, {"personal_access_token": token}) as client:
                user, types = await cast(AppointmentSource, client).account()
        except ProviderError as exc:
            raise _refused(exc, label) from exc
        return ProbedAppointmentAccount(
            provider, user.uri, user.organization, user.name, user.email, user.time_zone,
            tuple(types))

    async def subscribe(self, calendar_id: int) -> str:
        """Open the account calendar's webhook subscription; "" when it stands, else the provider's refusal."""
        calendar = await ExternalCalendar.get(id=calendar_id)
        connection = await CalendarConnection.get(id=calendar.connection_id)
        credentials = self.vault.unseal(connection.credentials)
        try:
            async with _client(self.settings, connection.provider, credentials) as client:
                opened = await client.watch(calendar.provider_calendar_id, self.webhook_address(connection.provider),
                                            "")
        except ProviderError as exc:
            return str(exc)
        if opened is None:
            return "the provider cannot deliver appointments"
        await record_channel(calendar_id, opened.subscription_id, opened.resource_id, "", opened.expires_at)
        return ""
