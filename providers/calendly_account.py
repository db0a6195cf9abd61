"""A Calendly account as the sync engine sees it (providers.base: CalendarProvider and AppointmentSource).

Terms:
- *account calendar*: the one calendar a Calendly connection has in Lockstep. It stands for the user's scheduled
  events; its id is the user's URI. Lockstep never writes to it (Calendly has no API to block time or move an
  appointment): it reads appointments from it, and cancels them.
- *signing key*: the secret Calendly signs deliveries with. A personal access token's subscription is created with
  a key Lockstep generates (kept sealed with the token, `signing_keys`); an OAuth app's subscriptions are signed
  with the app's one key (a setting), so none is sent.
- *channel*: the webhook subscription; its URL carries the channel id (`?channel=...`) that names the connection.

The credentials are the connection's sealed ones: a personal access token (`personal_access_token`) or the OAuth
tokens (through `tokens`), and what connecting learnt (`user_uri`, `organization_uri`, `user_name`, `time_zone`).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from domain.calendly import CalendlyEventType, CalendlyUser
from domain.intervals import Span
from providers.base import (
    AppointmentListing,
    Changes,
    NotFound,
    OutgoingEvent,
    ProviderError,
    RemoteCalendar,
    Subscription,
    SubscriptionRepair,
    Written,
)
from providers.calendly import CalendlyClient, WebhookSubscription

# A subscription does not expire; its channel is recorded as living until then.
NEVER_EXPIRES = datetime(2100, 1, 1, tzinfo=UTC)
CALENDLY_BLUE = "#006bff"
DEFAULT_REASON = "Cancelled by the business"


def channel_url(address: str, channel_id: str) -> str:
    return f"{address}?channel={channel_id}"


class CalendlyAccount:
    """One connection's Calendly account (see the terms above)."""

    def __init__(self, client: CalendlyClient, credentials: Mapping[str, Any]) -> None:
        self._client = client
        self._credentials = credentials
        self._user_uri = str(credentials.get("user_uri") or "")
        self._organization = str(credentials.get("organization_uri") or "")
        # An organization-wide connection (an admin's token) reads and subscribes to every member's appointments.
        self._organization_wide = credentials.get("scope") == "organization"

    async def _who(self) -> tuple[str, str]:
        """The user's and organization's URIs (asked of Calendly once when connecting did not store them)."""
        if not (self._user_uri and self._organization):
            user = await self._client.me()
            self._user_uri, self._organization = user.uri, user.organization
        return self._user_uri, self._organization

    def _own_key(self) -> str | None:
        """The key a personal access token's subscription is created with; None for an OAuth app (its own key)."""
        keys = self._credentials.get("signing_keys") or []
        return str(keys[0]) if keys and self._credentials.get("personal_access_token") else None

    # -- CalendarProvider ------------------------------------------------------------------------------------

    async def list_calendars(self) -> list[RemoteCalendar]:
        user, organization = await self._who()
        name = str(self._credentials.get("user_name") or "Calendly")
        return [RemoteCalendar(calendar_id=organization if self._organization_wide else user,
                               name=f"Calendly: {name}", colour=CALENDLY_BLUE,
                               time_zone=str(self._credentials.get("time_zone") or "UTC"), writable=False,
                               primary=True)]

    async def fetch_changes(self, calendar_id: str, cursor: str | None, window: Span) -> Changes:
        raise ProviderError("a Calendly account holds appointments, not events: its backstop lists them")

    async def put_event(self, calendar_id: str, event: OutgoingEvent, *, event_id: str | None = None,
                        etag: str | None = None) -> Written:
        raise ProviderError("Calendly cannot be written to: its availability follows the calendar it checks")

    async def delete_event(self, calendar_id: str, event_id: str, *, etag: str | None = None,
                           reason: str = "") -> None:
        """Cancel the appointment (its scheduled event's URI) as its host; Calendly tells the invitee."""
        await self._client.cancel(event_id, reason or DEFAULT_REASON)

    async def watch(self, calendar_id: str, address: str, token: str) -> Subscription | None:
        """Subscribe to the user's invitee.created and invitee.canceled, signed with the connection's own key (a
        personal access token) or the app's (OAuth). The channel id is made here and carried in the URL."""
        channel_id = secrets.token_hex(16)
        created = await self._subscribe(channel_url(address, channel_id))
        return Subscription(channel_id, created.uri, NEVER_EXPIRES)

    async def renew(self, subscription: Subscription) -> Subscription | None:
        return Subscription(subscription.subscription_id, subscription.resource_id, NEVER_EXPIRES)

    async def unwatch(self, subscription: Subscription) -> None:
        if subscription.resource_id:
            await self._client.delete_webhook(subscription.resource_id)

    # -- AppointmentSource -----------------------------------------------------------------------------------

    async def account(self) -> tuple[CalendlyUser, list[CalendlyEventType]]:
        user = await self._client.me()
        self._user_uri, self._organization = user.uri, user.organization
        return user, await self._client.event_types(user.uri)

    async def appointments(self, window: Span) -> AppointmentListing:
        user, organization = await self._who()
        if self._organization_wide:
            listed = await self._client.appointments(organization=organization, min_start=window.start,
                                                     max_start=window.end)
        else:
            listed = await self._client.appointments(user=user, min_start=window.start, max_start=window.end)
        return AppointmentListing(tuple(listed.appointments), tuple(listed.unreadable))

    async def repair_subscription(self, subscription: Subscription, address: str) -> SubscriptionRepair:
        user, organization = await self._who()
        url = channel_url(address, subscription.subscription_id)
        listed = await self._client.webhooks(organization=organization, scope=self._scope,
                                             user=None if self._organization_wide else user)
        ours = [each for each in listed if each.uri == subscription.resource_id or each.callback_url == url]
        live = [each for each in ours if each.state == "active"]
        if live:
            return SubscriptionRepair(live[0].uri, recreated=live[0].uri != subscription.resource_id)
        for disabled in ours:  # its URL cannot be used again while it exists
            with contextlib.suppress(NotFound):
                await self._client.delete_webhook(disabled.uri)
        created = await self._subscribe(url)
        return SubscriptionRepair(created.uri, recreated=True, reason="disabled by Calendly" if ours else "gone")

    async def _subscribe(self, url: str) -> WebhookSubscription:
        user, organization = await self._who()
        return await self._client.create_webhook(url=url, organization=organization,
                                                 user=None if self._organization_wide else user, scope=self._scope,
                                                 signing_key=self._own_key())

    @property
    def _scope(self) -> str:
        return "organization" if self._organization_wide else "user"
