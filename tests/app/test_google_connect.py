"""A technician connects Google Calendar by following the OAuth redirects with a real HTTP client, against the fake
of Google's servers: consent with PKCE, the code exchanged, the calendars read, and back to the app."""

from __future__ import annotations

import dataclasses
from urllib.parse import parse_qs, urlsplit

import httpx

from app.main import create_app
from app.settings import Settings
from models import CalendarConnection, ConnectionHealth, ExternalCalendar, OAuthState, Provider
from providers.entry import ProviderApp
from schema.ids import encode_id
from services.credentials import CredentialVault
from tests.fakes.google import FakeGoogle
from tests.support.calendar_api import KEY
from tests.support.google_discovery import log_problems
from tests.support.graphql import GraphQLClient, Shop, given_shop

PUBLIC = "http://lockstep.test"
START = """mutation($input: StartCalendarConnectionInput!) { startCalendarConnection(input: $input) { __typename
  ... on CalendarAuthorization { authorizationUrl } } }"""
CONFIRM = """mutation($input: ConfirmCalendarConnectionInput!) { confirmCalendarConnection(input: $input) {
  __typename ... on CalendarConnection { id accountLabel } } }"""


def settings_for(google: FakeGoogle) -> Settings:
    """The app's settings with Google's addresses at the fake, our public URL, and the app's return URL allowed."""
    return dataclasses.replace(
        Settings.from_env(), secret_keys=(KEY,), public_url=PUBLIC, oauth_return_urls=("lockstep://calendars",),
        provider_apps={"google": ProviderApp(google.oauth.client_id, google.oauth.client_secret,
                                             authorize_url=google.authorize_url, token_url=google.token_url,
                                             revoke_url=google.revoke_url, api_url=google.api_url)})


async def consent_url(api: GraphQLClient, shop: Shop) -> str:
    """The technician's app starts connecting Google and gets the URL to open."""
    data = await api(START, {"input": {"provider": "GOOGLE", "staffId": shop.staff_id,
                                       "returnUrl": "lockstep://calendars"}}, shop.owner_token)
    return str(data["startCalendarConnection"]["authorizationUrl"])


async def test_connecting_google_from_a_phone_follows_the_redirects_back_to_the_app(db: str) -> None:
    async with FakeGoogle(user_email="tech@example.com",
                          redirect_uris=(f"{PUBLIC}/oauth/google/callback",)) as google:
        google.add_calendar("family@group.calendar.google.com", "Family", access_role="reader")
        transport = httpx.ASGITransport(app=create_app(settings_for(google)))
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as app, httpx.AsyncClient() as browser:
            api = GraphQLClient(app)
            shop = await given_shop(api)
            # given the technician's app asked where to send them
            consent = await consent_url(api, shop)
            query = parse_qs(urlsplit(consent).query)
            assert (query["access_type"], query["prompt"], query["code_challenge_method"]) == (
                ["offline"], ["consent"], ["S256"])
            assert query["scope"] == ["https://www.googleapis.com/auth/calendar.events "
                                      "https://www.googleapis.com/auth/calendar.calendarlist.readonly"]
            # when the phone's browser opens it and Google (consenting) sends it to Lockstep's callback
            at_google = await browser.get(consent)
            assert at_google.status_code == 302
            callback = urlsplit(at_google.headers["location"])
            assert f"{callback.scheme}://{callback.netloc}{callback.path}" == f"{PUBLIC}/oauth/google/callback"
            back = await app.get(f"{callback.path}?{callback.query}")
            # then the browser goes back to the app with a code to confirm, and nothing is connected yet
            assert back.status_code == 302
            returned = urlsplit(back.headers["location"])
            outcome = parse_qs(returned.query)
            assert (f"{returned.scheme}://{returned.netloc}", outcome["calendarConnection"]) == (
                "lockstep://calendars", ["confirm"])
            assert await CalendarConnection.all().count() == 0
            # when the app, signed in as the technician's manager who started, confirms
            shown = await api(CONFIRM, {"input": {"code": outcome["confirmationCode"][0]}}, shop.owner_token)
        # and every request to Google was one its discovery document allows
        assert log_problems(google.log) == []
        # then it sees the account, now connected
        connection = await CalendarConnection.get()
        assert shown["confirmCalendarConnection"] == {
            "__typename": "CalendarConnection", "id": encode_id("CalendarConnection", connection.id),
            "accountLabel": "tech@example.com"}
        assert (connection.provider, connection.account_label, connection.health) == (
            Provider.GOOGLE, "tech@example.com", ConnectionHealth.ACTIVE)
        stored = CredentialVault([KEY]).unseal(connection.credentials)
        assert set(stored) == {"access_token", "refresh_token", "scope"}
        assert stored["refresh_token"] in google.oauth.grants
        calendars = await ExternalCalendar.filter(connection_id=connection.id).order_by("id").values_list(
            "provider_calendar_id", "import_busy", "is_destination", "writable")
        assert calendars == [("tech@example.com", True, True, True),
                             ("family@group.calendar.google.com", False, False, False)]
        assert (await OAuthState.get()).used_at is not None


async def test_a_grant_without_the_events_permission_connects_nothing(db: str) -> None:
    async with FakeGoogle(user_email="tech@example.com",
                          redirect_uris=(f"{PUBLIC}/oauth/google/callback",)) as google:
        # given a technician who unticks "see and edit events" on Google's consent screen
        google.oauth.withheld_scopes = {"https://www.googleapis.com/auth/calendar.events"}
        transport = httpx.ASGITransport(app=create_app(settings_for(google)))
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as app, httpx.AsyncClient() as browser:
            api = GraphQLClient(app)
            shop = await given_shop(api)
            callback = urlsplit((await browser.get(await consent_url(api, shop))).headers["location"])
            back = await app.get(f"{callback.path}?{callback.query}")
    # then the app hears it failed, and nothing is stored
    assert back.headers["location"] == "lockstep://calendars?calendarConnection=failed&error=grant_failed"
    assert await CalendarConnection.all().count() == 0
