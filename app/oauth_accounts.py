"""The provider side of connecting a calendar by OAuth, handed to the services as their `OAuthGateway`: the
authorisation URL, the code exchange, and the account's calendars (read with the new access token)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from app.settings import Settings
from providers.base import AuthFailed, ProviderError, RemoteCalendar
from providers.google import GoogleProvider
from providers.oauth import OAuthClient, authorization_url, exchange_code
from services.connections import ProbedCalendar
from services.oauth_connections import GrantedAccount, OAuthGateway, OAuthGrantError

# Least privilege for what Lockstep does: read the calendar list, and read, watch and write events.
GOOGLE_SCOPES = ("https://www.googleapis.com/auth/calendar.events",
                 "https://www.googleapis.com/auth/calendar.calendarlist.readonly")
# Offline access for a refresh token; the consent prompt so that one is granted again on every connect.
GOOGLE_EXTRA = (("access_type", "offline"), ("prompt", "consent"), ("include_granted_scopes", "true"))

CalendarLister = Callable[[str], Awaitable[list[RemoteCalendar]]]  # access token -> the account's calendars


class OAuthAccountGateway:
    def __init__(self, provider: str, client: OAuthClient, list_calendars: CalendarLister) -> None:
        self.provider = provider
        self.client = client
        self.list_calendars = list_calendars

    def __repr__(self) -> str:
        return f"OAuthAccountGateway({self.provider})"

    def authorization_url(self, state: str, code_verifier: str) -> str:
        return authorization_url(self.client, state, code_verifier)

    async def grant(self, code: str, code_verifier: str, now: datetime) -> GrantedAccount:
        try:
            tokens = await exchange_code(self.client, code, code_verifier, now)
            calendars = await self.list_calendars(tokens.access_token)
        except ProviderError as exc:
            raise OAuthGrantError(f"The provider did not grant access: {exc}") from None
        if not tokens.refresh_token:
            raise OAuthGrantError("The provider granted no offline access; connect the calendar again")
        missing = set(self.client.scopes) - set(tokens.scope.split())
        if tokens.scope and missing:
            # Granular consent lets the user untick a permission; without it every sync would be refused.
            raise OAuthGrantError("Access to the calendar's events and list is needed; connect again and allow both")
        primary = next((calendar for calendar in calendars if calendar.primary), None)
        if primary is None:
            raise OAuthGrantError("The account has no primary calendar")
        return GrantedAccount(
            account_label=primary.calendar_id,  # Google names the primary calendar by the account's address
            credentials={"access_token": tokens.access_token, "refresh_token": tokens.refresh_token,
                         "scope": tokens.scope},
            token_expires_at=tokens.expires_at,
            calendars=tuple(ProbedCalendar(calendar.calendar_id, calendar.name, calendar.colour, calendar.time_zone,
                                           calendar.writable, calendar.primary) for calendar in calendars))


def google_client(settings: Settings) -> OAuthClient | None:
    """Lockstep's OAuth client at Google, or None when Google connections are not configured."""
    google = settings.google
    if google is None:
        return None
    return OAuthClient(authorize_url=google.authorize_url, token_url=google.token_url, revoke_url=google.revoke_url,
                       client_id=google.client_id, client_secret=google.client_secret,
                       redirect_uri=f"{settings.public_url}/oauth/google/callback", scopes=GOOGLE_SCOPES,
                       extra=GOOGLE_EXTRA)


def oauth_gateways_from(settings: Settings, google_calendars: CalendarLister | None) -> dict[str, OAuthGateway]:
    """The OAuth providers the settings configure (and a calendar reader exists for), by provider value."""
    gateways: dict[str, OAuthGateway] = {}
    client = google_client(settings)
    if client is not None and google_calendars is not None:
        gateways["google"] = OAuthAccountGateway("google", client, google_calendars)
    return gateways


class _JustGranted:
    """The access token of a grant being completed: fresh, so it is never refreshed here."""

    def __init__(self, access_token: str) -> None:
        self.access_token = access_token

    async def current(self) -> str:
        return self.access_token

    async def refreshed(self, rejected: str) -> str:
        raise AuthFailed("Google refused the access token it had just granted")


def google_calendar_lister(api_url: str, timeout: float) -> CalendarLister:
    """Reads the account's calendars with the access token of the grant."""

    async def list_calendars(access_token: str) -> list[RemoteCalendar]:
        async with GoogleProvider(_JustGranted(access_token), api_url=api_url, timeout=timeout) as google:
            return await google.list_calendars()

    return list_calendars


def configured_gateways(settings: Settings) -> dict[str, OAuthGateway]:
    """The OAuth providers the settings configure, with their real clients."""
    lister = google_calendar_lister(settings.google.api_url, settings.caldav_timeout_seconds) \
        if settings.google is not None else None
    return oauth_gateways_from(settings, lister)
