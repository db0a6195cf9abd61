"""The provider side of connecting a calendar by OAuth, handed to the services as their `OAuthGateway`: the
authorisation URL, the code exchange, and the account's calendars (read with the new access token). One gateway per
provider whose registry entry has an OAuth description and that this deployment configures (Settings.provider_apps).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime

from app.settings import Settings
from providers.base import AuthFailed, ProviderError, RemoteCalendar
from providers.entry import ClientParts, ProviderEntry, ProviderSetup
from providers.oauth import GrantRevoked, OAuthClient, authorization_url, exchange_code
from providers.registry import available, entry_of
from services.connections import ProbedCalendar
from services.oauth_connections import GrantedAccount, OAuthGateway, OAuthGrantError

# access token -> the account's name (its email address) and calendars
AccountReader = Callable[[str], Awaitable[tuple[str, list[RemoteCalendar]]]]


def _short_scopes(scopes: Iterable[str]) -> set[str]:
    """Scopes as a token endpoint may echo them: Microsoft's drop the resource prefix and vary in case, and need not
    repeat `offline_access` (the refresh token granted is its proof)."""
    return {scope.rsplit("/", 1)[-1].lower() for scope in scopes} - {"offline_access"}


class OAuthAccountGateway:
    def __init__(self, provider: str, client: OAuthClient, read_account: AccountReader) -> None:
        self.provider = provider
        self.client = client
        self.read_account = read_account

    def __repr__(self) -> str:
        return f"OAuthAccountGateway({self.provider})"

    def authorization_url(self, state: str, code_verifier: str) -> str:
        return authorization_url(self.client, state, code_verifier)

    async def grant(self, code: str, code_verifier: str, now: datetime) -> GrantedAccount:
        try:
            tokens = await exchange_code(self.client, code, code_verifier, now)
            label, calendars = await self.read_account(tokens.access_token)
        except GrantRevoked as exc:
            # A refusal that needs a person (Microsoft's consent missing, AADSTS65001) says so; others fail plainly.
            told = entry_of(self.provider).oauth_refusal("invalid_grant", exc.description)
            raise OAuthGrantError(f"The provider did not grant access: {exc}",
                                  None if told == {"error": "invalid_grant"} else told) from None
        except ProviderError as exc:
            raise OAuthGrantError(f"The provider did not grant access: {exc}") from None
        if not tokens.refresh_token:
            raise OAuthGrantError("The provider granted no offline access; connect the calendar again")
        missing = _short_scopes(self.client.scopes) - _short_scopes(tokens.scope.split())
        if tokens.scope and missing:
            # Granular consent lets the user untick a permission; without it every sync would be refused.
            raise OAuthGrantError("Access to the calendar's events and list is needed; connect again and allow both")
        primary = next((calendar for calendar in calendars if calendar.primary), None)
        if primary is None:
            raise OAuthGrantError("The account has no primary calendar")
        return GrantedAccount(
            account_label=label,
            credentials={"access_token": tokens.access_token, "refresh_token": tokens.refresh_token,
                         "scope": tokens.scope},
            token_expires_at=tokens.expires_at,
            calendars=tuple(ProbedCalendar(calendar.calendar_id, calendar.name, calendar.colour, calendar.time_zone,
                                           calendar.writable, calendar.primary) for calendar in calendars))


def callback_url(settings: Settings, provider: str) -> str:
    """Where the provider sends the user's browser back: the route `GET /oauth/{provider}/callback`."""
    return f"{settings.public_url}/oauth/{provider}/callback"


def oauth_client(settings: Settings, entry: ProviderEntry) -> OAuthClient | None:
    """Lockstep's OAuth client at the entry's provider, or None when it has no OAuth or is not configured."""
    app = settings.provider_apps.get(entry.name)
    if app is None or entry.oauth is None or not entry.available:
        return None
    return entry.oauth.client(app, callback_url(settings, entry.name))


def provider_setups(settings: Settings) -> dict[str, ProviderSetup]:
    """What the sync workers need of each configured OAuth provider: its client and its API's address; and of a
    provider whose connections may hold personal tokens instead (Calendly), its API's address even without one."""
    apps = settings.provider_apps
    setups: dict[str, ProviderSetup] = {}
    for entry in available():
        client = oauth_client(settings, entry)
        if client is not None:
            setups[entry.name] = ProviderSetup(oauth=client, api_url=apps[entry.name].api_url)
        elif entry.personal_tokens:
            setups[entry.name] = ProviderSetup(api_url=settings.api_urls.get(entry.name, ""))
    return setups


class _JustGranted:
    """The access token of a grant being completed: fresh, so it is never refreshed here."""

    def __init__(self, access_token: str, label: str) -> None:
        self.access_token = access_token
        self.label = label

    async def current(self) -> str:
        return self.access_token

    async def refreshed(self, rejected: str) -> str:
        raise AuthFailed(f"{self.label} refused the access token it had just granted")


def account_reader(entry: ProviderEntry, api_url: str, timeout: float) -> AccountReader:
    """Reads the account's name and calendars with the access token of the grant, through the entry's client (the
    name as the entry's OAuth description says; without one, the primary calendar's id, which is the account's
    address at Google)."""

    async def read_account(access_token: str) -> tuple[str, list[RemoteCalendar]]:
        if entry.open_client is None:
            raise entry.not_available()
        parts = ClientParts({}, _JustGranted(access_token, entry.label), api_url, timeout, mailbox="")
        async with entry.open_client(parts) as client:
            calendars = await client.list_calendars()
            describe = entry.oauth.account_label if entry.oauth is not None else None
            if describe is not None:
                return await describe(client, calendars), calendars
        primary = next((calendar.calendar_id for calendar in calendars if calendar.primary), "")
        return primary, calendars

    return read_account


def configured_gateways(settings: Settings) -> dict[str, OAuthGateway]:
    """The OAuth providers the settings configure, with their real clients, by provider value."""
    gateways: dict[str, OAuthGateway] = {}
    for name, setup in provider_setups(settings).items():
        if setup.oauth is None:  # a provider of personal tokens only, here (no OAuth app configured)
            continue
        gateways[name] = OAuthAccountGateway(
            name, setup.oauth, account_reader(entry_of(name), setup.api_url, settings.caldav_timeout_seconds))
    return gateways
