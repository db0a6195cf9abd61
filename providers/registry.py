"""The provider registry: one entry per provider value (models.Provider), the one place that says what a provider
is (providers/entry.py defines the fields). Everything outside providers/ asks here instead of naming a provider:
jobs build clients, read payloads and refresh tokens through an entry; the app wires OAuth, webhooks and farewells
for every entry the deployment configures; services get the facts they need (which providers push, which refresh
tokens) as arguments from their callers.

How to add a provider: docs/providers.md.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from domain.calendly import read_delivery, signature_valid
from providers.base import AuthFailed, CalendarProvider, RemoteCalendar
from providers.caldav import CaldavCredentials, CaldavProvider
from providers.calendly import CalendlyClient, PersonalAccessToken
from providers.calendly_account import CalendlyAccount
from providers.calendly_http import DEFAULT_API_URL as CALENDLY_API_URL
from providers.entry import (
    AppointmentDescription,
    Capabilities,
    ClientParts,
    Farewell,
    Inbound,
    Notification,
    OAuthDescription,
    ProviderEntry,
    PushDescription,
)
from providers.google import DEFAULT_API_URL, GoogleProvider
from providers.graph_notifications import graph_notifications, validation_answer
from providers.microsoft import DEFAULT_API_URL as GRAPH_API_URL, MicrosoftProvider
from providers.readers import (
    calendar_zone_first,
    nothing_readable,
    read_caldav,
    read_google,
    read_microsoft,
    staff_zone_always,
)

# Google: least privilege for what Lockstep does (read the calendar list; read, watch and write events), offline
# access for a refresh token, and the consent prompt so that one is granted again on every connect.
GOOGLE_OAUTH = OAuthDescription(
    scopes=("https://www.googleapis.com/auth/calendar.events",
            "https://www.googleapis.com/auth/calendar.calendarlist.readonly"),
    authorize_url="https://accounts.google.com/o/oauth2/v2/auth", token_url="https://oauth2.googleapis.com/token",
    revoke_url="https://oauth2.googleapis.com/revoke", api_url="https://www.googleapis.com/calendar/v3",
    extra=(("access_type", "offline"), ("prompt", "consent"), ("include_granted_scopes", "true")))
_GOOGLE_CHANGED = {"exists", "not_exists"}  # `sync` only confirms a new channel: nothing changed

# Microsoft identity platform v2 (docs/providers.md, "Microsoft identity platform"): the least scopes that read and
# write the user's own calendars, read their name, and grant a refresh token; the account picker on every connect;
# no revocation endpoint (a grant is removed by the user or their administrator). Refresh tokens rotate: each
# refresh returns a new one, which replaces the stored one.
MICROSOFT_OAUTH_SCOPES = ("offline_access", "Calendars.ReadWrite", "User.Read")
# AADSTS codes on a refused authorisation that mean the organisation must approve the app first (the user cannot).
_ADMIN_APPROVAL = ("AADSTS90094", "AADSTS900941", "AADSTS65001", "AADSTS90008")
ADMIN_APPROVAL_HELP = (
    "Your organisation lets only an administrator approve apps that read calendars. Ask your Microsoft 365 "
    "administrator to open the Microsoft Entra admin center, go to Enterprise applications, choose Lockstep, "
    "open Permissions and select Grant admin consent (for Calendars.ReadWrite and User.Read), then connect again.")


@asynccontextmanager
async def _google_client(parts: ClientParts) -> AsyncIterator[CalendarProvider]:
    if parts.tokens is None:
        raise AuthFailed("a Google connection needs its access tokens")
    async with GoogleProvider(parts.tokens, api_url=parts.api_url or DEFAULT_API_URL,
                              timeout=parts.timeout) as google:
        yield google


@asynccontextmanager
async def _microsoft_client(parts: ClientParts) -> AsyncIterator[CalendarProvider]:
    if parts.tokens is None:
        raise AuthFailed("a Microsoft connection needs its access tokens")
    async with MicrosoftProvider(parts.tokens, api_url=parts.api_url or GRAPH_API_URL, timeout=parts.timeout,
                                 mailbox=parts.mailbox) as graph:
        yield graph


async def _microsoft_account(client: CalendarProvider, calendars: list[RemoteCalendar]) -> str:
    """The account's address from `/me` (Graph's calendars are not named by it, unlike Google's primary)."""
    assert isinstance(client, MicrosoftProvider)
    return await client.account_label()


def _microsoft_refusal(error: str, description: str) -> dict[str, str]:
    """A refusal the user can do nothing about alone (admin approval, consent blocked) says so, and how to get
    past it; others pass on the provider's error code."""
    if error in ("consent_required", "interaction_required") or any(code in description for code in _ADMIN_APPROVAL):
        return {"error": "admin_approval_required", "message": ADMIN_APPROVAL_HELP}
    return {"error": error}


@asynccontextmanager
async def _caldav_client(parts: ClientParts) -> AsyncIterator[CalendarProvider]:
    secrets = parts.credentials
    credentials = CaldavCredentials(secrets["server_url"], secrets["username"], secrets["password"])
    async with CaldavProvider(credentials, secrets["home_url"], timeout=parts.timeout) as client:
        yield client


def _google_notifications(inbound: Inbound) -> list[Notification]:
    """Google's push notification (docs/providers.md, Google: push channels): no body, the X-Goog-* headers."""
    if inbound.headers.get("x-goog-resource-state", "") not in _GOOGLE_CHANGED:
        return []
    return [Notification(inbound.headers.get("x-goog-channel-id", ""),
                         inbound.headers.get("x-goog-channel-token", ""))]


GOOGLE = ProviderEntry(
    name="google", label="Google",
    capabilities=Capabilities(push=True, incremental=True, writable=True),
    open_client=_google_client, read_event=read_google, reading_zone=calendar_zone_first,
    oauth=GOOGLE_OAUTH, push=PushDescription(read=_google_notifications),
    farewell=Farewell(stop_channels=True, revoke_grant=True))

CALDAV = ProviderEntry(
    name="caldav", label="CalDAV",
    capabilities=Capabilities(push=False, incremental=True, writable=True),
    open_client=_caldav_client, read_event=read_caldav, reading_zone=staff_zone_always)

MICROSOFT_OAUTH = OAuthDescription(
    scopes=MICROSOFT_OAUTH_SCOPES,
    authorize_url="https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
    token_url="https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token", revoke_url="",
    api_url=GRAPH_API_URL, extra=(("prompt", "select_account"),), rotates_refresh_tokens=True,
    scopes_at_token_endpoint=True, default_tenant="common", account_label=_microsoft_account,
    refusal=_microsoft_refusal)

MICROSOFT = ProviderEntry(
    name="microsoft", label="Microsoft",
    capabilities=Capabilities(push=True, incremental=True, writable=True),
    open_client=_microsoft_client, read_event=read_microsoft, reading_zone=staff_zone_always,
    oauth=MICROSOFT_OAUTH,
    push=PushDescription(read=graph_notifications, handshake=validation_answer, accepted_status=202),
    farewell=Farewell(stop_channels=True, revoke_grant=False), window_roll_days=7)

@asynccontextmanager
async def _calendly_client(parts: ClientParts) -> AsyncIterator[CalendarProvider]:
    token = parts.credentials.get("personal_access_token")
    tokens = PersonalAccessToken(str(token)) if token else parts.tokens
    if tokens is None:
        raise AuthFailed("a Calendly connection needs a personal access token or its OAuth tokens")
    account = str(parts.credentials.get("user_uri") or parts.mailbox)
    async with CalendlyClient(tokens, api_url=parts.api_url or CALENDLY_API_URL, timeout=parts.timeout,
                              account=account) as client:
        yield CalendlyAccount(client, parts.credentials)


async def _calendly_account(client: CalendarProvider, calendars: list[RemoteCalendar]) -> str:
    """The user's URI (the account calendar's id): the key the connection's deliveries and listings share."""
    return calendars[0].calendar_id if calendars else ""


# Calendly (docs/calendly.md): PKCE, single-use rotating refresh tokens (2 h access tokens), revocation (with the
# client's id and secret beside the token, as at its token endpoint); the least scopes for reading appointments and
# event types, cancelling appointments and managing the webhook.
CALENDLY_OAUTH = OAuthDescription(
    scopes=("scheduled_events:write", "event_types:read", "webhooks:write"),
    authorize_url="https://auth.calendly.com/oauth/authorize", token_url="https://auth.calendly.com/oauth/token",
    revoke_url="https://auth.calendly.com/oauth/revoke", api_url=CALENDLY_API_URL, rotates_refresh_tokens=True,
    revoke_with_client=True, account_label=_calendly_account)

CALENDLY = ProviderEntry(
    name="calendly", label="Calendly",
    capabilities=Capabilities(push=True, incremental=False, writable=False),
    open_client=_calendly_client, read_event=nothing_readable, reading_zone=staff_zone_always,
    oauth=CALENDLY_OAUTH, farewell=Farewell(stop_channels=True, revoke_grant=True),
    appointments=AppointmentDescription(signature_header="calendly-webhook-signature", verify=signature_valid,
                                        read=read_delivery),
    personal_tokens="personal_access_token")

REGISTRY: dict[str, ProviderEntry] = {entry.name: entry for entry in (GOOGLE, CALDAV, MICROSOFT, CALENDLY)}


def entry_for(provider: str) -> ProviderEntry | None:
    """The entry of a provider value; None for a value no entry has (an unknown name in a URL, say)."""
    return REGISTRY.get(str(provider))


def entry_of(provider: str) -> ProviderEntry:
    """The entry of a provider value that must have one (a stored connection's provider)."""
    found = entry_for(provider)
    if found is None:
        raise LookupError(f"no registry entry for the provider {provider!r}")
    return found


def available() -> list[ProviderEntry]:
    return [entry for entry in REGISTRY.values() if entry.available]


def pushing(names: Iterable[str] | None = None) -> frozenset[str]:
    """The available providers that push (among `names` when given, e.g. those the deployment configures)."""
    chosen = REGISTRY.values() if names is None else [entry_of(name) for name in names]
    return frozenset(entry.name for entry in chosen if entry.available and entry.capabilities.push)


def refreshing(names: Iterable[str]) -> frozenset[str]:
    """Among `names` (the providers the deployment configures), those whose connections' OAuth tokens are
    refreshed."""
    return frozenset(name for name in names if entry_of(name).refreshes_tokens)
