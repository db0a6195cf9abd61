"""Connecting a calendar by OAuth through the real app: `startCalendarConnection` over GraphQL, then the provider's
redirect to `/oauth/google/callback`, then `confirmCalendarConnection` by the user who started. The provider side
is a stand-in gateway (the dependency the app injects); the flow against a fake of Google's servers is tested with
the Google provider."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from models import CalendarConnection, ExternalCalendar, OAuthState
from schema.ids import encode_id
from services.connections import ProbedCalendar
from services.credentials import CredentialVault
from services.oauth_connections import GrantedAccount, OAuthGrantError
from tests.support.calendar_api import KEY
from tests.support.graphql import GraphQLClient, Shop, given_shop, sign_up

START = """mutation($input: StartCalendarConnectionInput!) { startCalendarConnection(input: $input) { __typename
  ... on CalendarAuthorization { authorizationUrl expiresAt }
  ... on ValidationError { message path } ... on NotAuthorized { message } } }"""
CONFIRM = """mutation($input: ConfirmCalendarConnectionInput!) { confirmCalendarConnection(input: $input) {
  __typename ... on CalendarConnection { id accountLabel } ... on NotFound { message path }
  ... on NotAuthorized { message } } }"""
RETURN = "lockstep://calendars?from=settings"
PRIMARY = ProbedCalendar("sam@example.com", "Sam", "#9fe1e7", "Europe/Berlin", writable=True, primary=True)


class Gateway:
    """Google as far as the app is concerned: a consent URL carrying the state, and a grant for a code."""

    provider = "google"

    def __init__(self) -> None:
        self.refuse = False
        self.granted: list[tuple[str, str]] = []

    def authorization_url(self, state: str, code_verifier: str) -> str:
        return f"https://accounts.example/auth?state={state}&v={code_verifier}"

    async def grant(self, code: str, code_verifier: str, now: datetime) -> GrantedAccount:
        if self.refuse:
            raise OAuthGrantError("The provider did not grant access: invalid_grant")
        self.granted.append((code, code_verifier))
        return GrantedAccount("sam@example.com", {"access_token": "a", "refresh_token": "r", "scope": "s"},
                              now + timedelta(hours=1), (PRIMARY,))


@dataclasses.dataclass
class Api:
    graphql: GraphQLClient
    http: httpx.AsyncClient
    gateway: Gateway
    shop: Shop


@pytest.fixture
async def api(db: str) -> AsyncIterator[Api]:
    settings = dataclasses.replace(Settings.from_env(), secret_keys=(KEY,), oauth_return_urls=("lockstep://calendars",))
    gateway = Gateway()
    transport = httpx.ASGITransport(app=create_app(settings, oauth_gateways={"google": gateway}))
    async with httpx.AsyncClient(transport=transport, base_url="http://lockstep.test") as http:
        graphql = GraphQLClient(http)
        yield Api(graphql, http, gateway, await given_shop(graphql))


async def started(api: Api, return_url: str = RETURN) -> tuple[str, str]:
    """Start connecting the shop's staff member; returns the state and the PKCE verifier the consent URL carries."""
    data = await api.graphql(START, {"input": {"provider": "GOOGLE", "staffId": api.shop.staff_id,
                                               "returnUrl": return_url}}, api.shop.owner_token)
    result = data["startCalendarConnection"]
    assert result["__typename"] == "CalendarAuthorization", result
    query = parse_qs(urlsplit(result["authorizationUrl"]).query)
    return query["state"][0], query["v"][0]


async def callback(api: Api, **params: str) -> httpx.Response:
    return await api.http.get("/oauth/google/callback", params=params)


def outcome(response: httpx.Response) -> dict[str, list[str]]:
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == "lockstep://calendars"
    return parse_qs(location.query)


def confirmation_code(response: httpx.Response) -> str:
    back = outcome(response)
    assert (back["from"], back["calendarConnection"]) == (["settings"], ["confirm"])
    return back["confirmationCode"][0]


async def confirm(api: Api, code: str, token: str | None) -> dict[str, object]:
    data = await api.graphql(CONFIRM, {"input": {"code": code}}, token)
    return data["confirmCalendarConnection"]  # type: ignore[no-any-return]


async def test_granting_access_then_confirming_connects_the_calendar(api: Api) -> None:
    # given a connection started from the app
    state, verifier = await started(api)
    # when Google sends the browser back with a code
    response = await callback(api, state=state, code="code-1")
    # then the code was exchanged with the verifier, and the app is asked to confirm; nothing is connected yet
    code = confirmation_code(response)
    assert api.gateway.granted == [("code-1", verifier)]
    assert await CalendarConnection.all().count() == 0
    # when the app, signed in as the user who started, confirms
    confirmed = await confirm(api, code, api.shop.owner_token)
    # then it sees the account, and the account is connected
    connection = await CalendarConnection.get()
    assert confirmed == {"__typename": "CalendarConnection", "id": encode_id("CalendarConnection", connection.id),
                         "accountLabel": "sam@example.com"}
    assert CredentialVault([KEY]).unseal(connection.credentials)["refresh_token"] == "r"
    calendar = await ExternalCalendar.get(connection_id=connection.id)
    assert (calendar.import_busy, calendar.is_destination) == (True, True)
    # and the held grant is gone: the code works once
    assert (await OAuthState.get()).granted_account is None
    again = await confirm(api, code, api.shop.owner_token)
    assert again["__typename"] == "NotFound"
    assert await CalendarConnection.all().count() == 1


async def test_a_consent_link_sent_to_someone_else_connects_nothing(api: Api) -> None:
    # given a manager who starts connecting their staff member and sends the consent link to another person
    state, _ = await started(api)
    # when that person grants access to their own calendar and their browser comes back with the code
    code = confirmation_code(await callback(api, state=state, code="their-code"))
    # then nothing is connected
    assert await CalendarConnection.all().count() == 0
    # when that person, signed in as themselves, or anyone signed out, tries to confirm
    someone = await sign_up(api.graphql, "someone@example.com", "OWNER", "Someone Else")
    by_someone = await confirm(api, code, someone["accessToken"])
    signed_out = await confirm(api, code, None)
    # then they are told nothing, and still nothing is connected; the grant still waits for its starter alone
    assert by_someone == {"__typename": "NotFound", "message": "Calendar connection to confirm not found",
                          "path": ["input", "code"]}
    assert signed_out["__typename"] == "NotAuthorized"
    assert await CalendarConnection.all().count() == 0
    assert (await OAuthState.get()).confirmed_at is None


async def test_a_confirmation_code_expires_after_ten_minutes(api: Api) -> None:
    state, _ = await started(api)
    code = confirmation_code(await callback(api, state=state, code="code-1"))
    await OAuthState.all().update(confirm_by=datetime.now(UTC) - timedelta(seconds=1))
    expired = await confirm(api, code, api.shop.owner_token)
    assert (expired["__typename"], await CalendarConnection.all().count()) == ("NotFound", 0)
    assert (await confirm(api, "made-up", api.shop.owner_token))["__typename"] == "NotFound"


async def test_a_replayed_callback_is_refused_and_changes_nothing(api: Api) -> None:
    state, _ = await started(api)
    await confirm(api, confirmation_code(await callback(api, state=state, code="code-1")), api.shop.owner_token)
    again = await callback(api, state=state, code="code-1")
    assert again.status_code == 400 and "already used" in again.text
    assert (await CalendarConnection.all().count(), len(api.gateway.granted)) == (1, 1)


@pytest.mark.parametrize("state", ["forged-state", ""])
async def test_an_unknown_state_is_refused_and_nothing_is_stored(api: Api, state: str) -> None:
    await started(api)
    response = await callback(api, state=state, code="code-1")
    assert response.status_code == 400 and "not valid" in response.text
    assert (await CalendarConnection.all().count(), api.gateway.granted) == (0, [])
    assert (await OAuthState.get()).used_at is None


async def test_an_expired_state_is_refused_and_nothing_is_stored(api: Api) -> None:
    state, _ = await started(api)
    await OAuthState.all().update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    response = await callback(api, state=state, code="code-1")
    assert response.status_code == 400 and "expired" in response.text
    assert (await CalendarConnection.all().count(), api.gateway.granted) == (0, [])


async def test_refusing_at_google_or_a_failed_exchange_returns_to_the_app_saying_so(api: Api) -> None:
    state, _ = await started(api)
    assert outcome(await callback(api, state=state, error="access_denied")) == {
        "from": ["settings"], "calendarConnection": ["failed"], "error": ["access_denied"]}
    api.gateway.refuse = True
    state, _ = await started(api)
    assert outcome(await callback(api, state=state, code="code-1")) == {
        "from": ["settings"], "calendarConnection": ["failed"], "error": ["grant_failed"]}
    assert await CalendarConnection.all().count() == 0


async def test_starting_refuses_a_return_url_off_the_list_and_providers_without_oauth(api: Api) -> None:
    for provider, return_url, path in (("GOOGLE", "https://evil.example/x", ["input", "returnUrl"]),
                                       ("CALDAV", RETURN, ["input", "provider"])):
        data = await api.graphql(START, {"input": {"provider": provider, "staffId": api.shop.staff_id,
                                                   "returnUrl": return_url}}, api.shop.owner_token)
        assert data["startCalendarConnection"]["__typename"] == "ValidationError"
        assert data["startCalendarConnection"]["path"] == path
    anonymous = await api.graphql(START, {"input": {"provider": "GOOGLE", "staffId": api.shop.staff_id,
                                                    "returnUrl": RETURN}})
    assert anonymous["startCalendarConnection"]["__typename"] == "NotAuthorized"
    assert await OAuthState.all().count() == 0
