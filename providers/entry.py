"""What the registry (providers/registry.py) says about one provider: the shape of a registry entry.

Terms:
- *entry*: everything Lockstep needs to know to sync with one provider, keyed by the provider's value
  (`models.Provider`, a string). An entry may be *unavailable* on this server (built in a later release): it then
  says why, and every caller answers with that reason instead of trying.
- *capabilities*: `push` (the provider notifies a webhook of changes), `incremental` (a cursor asks for what changed
  since), `writable` (Lockstep writes bookings there; an import-only provider is read, never written).
- *app*: Lockstep's registration at an OAuth provider and the provider's addresses, as this deployment's settings
  give them (a fake's addresses in tests).
- *client parts*: what building one connection's client takes: its decrypted credentials, the source of its access
  tokens (refresh wired in by the caller, which owns storage), the API's address, a time-out and the account's
  name.
- *notification*: what a webhook delivery asks for once its sender is verified: a channel id, the channel's secret
  token (services/watch_channels.py checks both before anything changes) and its kind: the calendar changed, the
  provider missed telling some changes, the channel was removed, or it needs renewing (Graph's lifecycle events).
- *handshake*: a delivery that only proves the webhook is ours (Graph's validation request, sent before a
  subscription is created): answered with the text the provider asks to see echoed, and nothing else happens.
- *farewell*: what is said to the provider when a connection is disconnected: stop its push channels, revoke the
  grant (each only when the provider has them).
- *appointments*: for an import-and-cancel provider (Calendly), whose account holds appointments rather than a
  calendar's events: how its webhook deliveries are verified (a signature over the raw body, with the keys the
  caller gives: the connection's own and the app's) and read, and what makes two deliveries the same one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from domain.calendly import CalendlyDelivery
from providers.base import CalendarProvider, RemoteCalendar, Unavailable
from providers.oauth import OAuthClient
from providers.readers import EventReader, ZoneRule
from providers.tokens import AccessTokens


@dataclass(frozen=True)
class Capabilities:
    push: bool
    incremental: bool
    writable: bool


@dataclass(frozen=True)
class ProviderApp:
    """Lockstep's OAuth client registration at a provider, and the provider's addresses (from settings)."""

    client_id: str
    client_secret: str = field(repr=False)
    authorize_url: str
    token_url: str
    revoke_url: str
    api_url: str


AccountLabel = Callable[[CalendarProvider, list[RemoteCalendar]], Awaitable[str]]


@dataclass(frozen=True)
class OAuthDescription:
    """How Lockstep is granted access: the scopes it asks, the provider's own addresses (settings may point them
    elsewhere, at a fake say), extra authorisation parameters, PKCE (always S256 in providers.oauth), and whether
    the token endpoint rotates refresh tokens (each one single use)."""

    scopes: tuple[str, ...]
    authorize_url: str
    token_url: str
    revoke_url: str
    api_url: str
    extra: tuple[tuple[str, str], ...] = ()
    pkce: bool = True
    rotates_refresh_tokens: bool = False
    scopes_at_token_endpoint: bool = False
    revoke_with_client: bool = False  # the revocation endpoint authenticates the client too (Calendly)
    default_tenant: str = ""  # what fills `{tenant}` in the addresses unless the deployment names one
    # The account's name for people (its email address), read with a client of the new grant and its calendars.
    account_label: AccountLabel | None = None
    # What the return URL is told when the user or their organisation refused at the provider: the provider's
    # `error` and `error_description` -> the outcome's fields (default: {"error": error}).
    refusal: Callable[[str, str], dict[str, str]] | None = None

    def client(self, app: ProviderApp, redirect_uri: str) -> OAuthClient:
        return OAuthClient(authorize_url=app.authorize_url, token_url=app.token_url, revoke_url=app.revoke_url,
                           client_id=app.client_id, client_secret=app.client_secret, redirect_uri=redirect_uri,
                           scopes=self.scopes, extra=self.extra,
                           scopes_at_token_endpoint=self.scopes_at_token_endpoint,
                           revoke_with_client=self.revoke_with_client)

    def refusal_outcome(self, error: str, description: str) -> dict[str, str]:
        return self.refusal(error, description) if self.refusal is not None else {"error": error}


@dataclass(frozen=True)
class ProviderSetup:
    """What this deployment configures for one provider, as the sync workers need it: Lockstep's OAuth client there
    (None for a provider without OAuth) and the API's address ("" for the provider's default, or none)."""

    oauth: OAuthClient | None = None
    api_url: str = ""


@dataclass(frozen=True)
class ClientParts:
    credentials: Mapping[str, Any] = field(repr=False)
    tokens: AccessTokens | None
    api_url: str
    timeout: float
    # The account's name (the connection's label): a provider that limits requests per mailbox (Graph) is kept
    # within the limit across this process's clients of one account; "" while connecting.
    mailbox: str = ""


ClientFactory = Callable[[ClientParts], AbstractAsyncContextManager[CalendarProvider]]


@dataclass(frozen=True)
class Inbound:
    """One webhook delivery as it arrived: headers (lower-case names), query parameters and body."""

    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes


class NotificationKind(StrEnum):
    CHANGED = "changed"  # something in the calendar changed: pull it
    MISSED = "missed"  # the provider dropped some notifications: pull it (the incremental pull reads them all)
    REMOVED = "removed"  # the provider removed the channel: open a new one, and pull meanwhile
    RENEW = "renew"  # the channel must be renewed (re-authorised) or it stops notifying


@dataclass(frozen=True)
class Notification:
    channel_id: str
    token: str
    kind: NotificationKind = NotificationKind.CHANGED


@dataclass(frozen=True)
class PushDescription:
    """How a pushing provider's webhook deliveries are read (its verifier's first half: the second checks the
    channel and token against the database), and how its channels live: opened with a requested lifetime through
    CalendarProvider.watch, renewed ahead of expiry through CalendarProvider.renew where the provider can (Graph),
    else by opening a new one first (Google), stopped through CalendarProvider.unwatch. `read` returns the
    deliveries' notifications; anything else (a channel's first `sync` message, a malformed delivery) yields none."""

    read: Callable[[Inbound], list[Notification]]
    # The text to answer a handshake with (None for a delivery that is not one); None for a provider without one.
    handshake: Callable[[Inbound], str | None] | None = None
    # The status a delivery is answered with: what the provider counts as received (Google 200, Graph 202).
    accepted_status: int = 200


@dataclass(frozen=True)
class AppointmentDescription:
    """How an appointment provider's webhook deliveries are checked and read (see the terms above). `verify`
    takes the signature header's value, the raw body, the keys to try and the time now (Unix seconds), and never
    raises; `read` raises domain.calendly.UnreadableDelivery for anything but a delivery Lockstep applies."""

    signature_header: str
    verify: Callable[[str, bytes, Sequence[str], float], bool]
    read: Callable[[bytes], CalendlyDelivery]

    @staticmethod
    def delivery_key(delivery: CalendlyDelivery) -> str:
        """The same for every copy of one delivery (a retry, a replay): its kind and its invitee."""
        return hashlib.sha256(f"{delivery.kind} {delivery.appointment.invitee_uri}".encode()).hexdigest()


@dataclass(frozen=True)
class Farewell:
    stop_channels: bool = False
    revoke_grant: bool = False


class ProviderNotAvailable(Unavailable):
    """The connection's provider is not available on this server, or not configured in this deployment: retried
    with backoff, so a deployment that is configured later heals by itself."""


@dataclass(frozen=True)
class ProviderEntry:
    name: str  # the provider's value (models.Provider)
    label: str  # for people: "Google"
    capabilities: Capabilities
    open_client: ClientFactory | None
    read_event: EventReader
    reading_zone: ZoneRule
    oauth: OAuthDescription | None = None
    push: PushDescription | None = None
    farewell: Farewell = Farewell()
    appointments: AppointmentDescription | None = None  # an import-and-cancel provider's (Calendly)
    # The credentials' field of a personal access token, which a connection may hold instead of OAuth tokens, so it
    # syncs without the deployment's OAuth app (Calendly); "" for a provider without them.
    personal_tokens: str = ""
    # How often the import window moves on: 1 (daily) or 7 (weekly: a provider whose incremental cursor is bound to
    # the window it began with, so every move costs a full listing).
    window_roll_days: int = 1
    unavailable: str = ""  # why the provider is not available on this server; empty when it is

    @property
    def available(self) -> bool:
        return not self.unavailable

    @property
    def refreshes_tokens(self) -> bool:
        """Whether its connections hold OAuth tokens that Lockstep refreshes."""
        return self.available and self.oauth is not None

    def oauth_refusal(self, error: str, description: str) -> dict[str, str]:
        """What the return URL is told of a refusal at the provider's authorisation page."""
        return self.oauth.refusal_outcome(error, description) if self.oauth is not None else {"error": error}

    def not_available(self) -> ProviderNotAvailable:
        return ProviderNotAvailable(f"{self.label} connections are not available on this server: {self.unavailable}")

    def not_configured(self) -> ProviderNotAvailable:
        return ProviderNotAvailable(f"{self.label} connections are not configured on this server")
