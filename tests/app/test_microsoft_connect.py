"""A technician connects Microsoft 365 / Outlook by following the OAuth redirects with a real HTTP client, against
the fake identity platform and Graph: the account picker and consent with PKCE, the code exchanged for rotating
tokens, the account read from /me and its calendars listed, and back to the app. Refusals (the user's, the
organisation's, a consent withdrawn before the code is redeemed) connect nothing; a state works once and for ten
minutes. Every request to Graph and the token endpoint conforms to Graph's description."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from models import CalendarConnection, ConnectionHealth, ExternalCalendar, OAuthState, Provider
from providers.registry import ADMIN_APPROVAL_HELP
from schema.ids import encode_id
from services.credentials import CredentialVault
from tests.fakes.microsoft import FakeMicrosoft
from tests.support.calendar_api import KEY
from tests.support.graph_contract import conforming_microsoft
from tests.support.graphql import GraphQLClient, Shop, given_shop
from tests.support.microsoft_service import answer_consent, settings_for

PUBLIC = "http://lockstep.test"
CALLBACK = f"{PUBLIC}/oauth/microsoft/callback"
RETURN = "lockstep://calendars"
ACCOUNT = "tech@contoso.example"
START = """mutation($input: StartCalendarConnectionInput!) { startCalendarConnection(input: $input) { __typename
  ... on CalendarAuthorization { authorizationUrl expiresAt } } }"""
CONFIRM = """mutation($input: ConfirmCalendarConnectionInput!) { confirmCalendarConnection(input: $input) {
  __typename ... on CalendarConnection { id accountLabel } } }"""


@dataclass
class Phone:
    microsoft: FakeMicrosoft
    app: httpx.AsyncClient  # Lockstep, through the real ASGI app
    browser: httpx.AsyncClient  # the phone's browser, at the fake
    api: GraphQLClient
    shop: Shop


@pytest.fixture
async def phone(db: str) -> AsyncIterator[Phone]:
    async with conforming_microsoft(account=ACCOUNT, display_name="Tess Tech",
                                    redirect_uris=(CALLBACK,)) as microsoft:
        microsoft.add_calendar("Family", can_edit=False, color="lightGreen")
        transport = httpx.ASGITransport(app=create_app(settings_for(microsoft, PUBLIC, KEY, (RETURN,))))
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as app, httpx.AsyncClient() as browser:
            api = GraphQLClient(app)
            yield Phone(microsoft, app, browser, api, await given_shop(api))


async def started(phone: Phone) -> dict[str, str]:
    """The technician's app starts connecting Microsoft and gets the URL to open."""
    data = await phone.api(START, {"input": {"provider": "MICROSOFT", "staffId": phone.shop.staff_id,
                                             "returnUrl": RETURN}}, phone.shop.owner_token)
    result: dict[str, str] = data["startCalendarConnection"]
    assert result["__typename"] == "CalendarAuthorization", result
    return result


async def back_at_lockstep(phone: Phone, at_microsoft: httpx.Response) -> dict[str, list[str]]:
    """The fake's redirect followed to Lockstep's callback; what the app is told on its return URL."""
    assert at_microsoft.status_code == 302, at_microsoft.text
    callback = urlsplit(at_microsoft.headers["location"])
    assert f"{callback.scheme}://{callback.netloc}{callback.path}" == CALLBACK
    back = await phone.app.get(f"{callback.path}?{callback.query}")
    assert back.status_code == 302, back.text
    returned = urlsplit(back.headers["location"])
    assert f"{returned.scheme}://{returned.netloc}" == RETURN
    return parse_qs(returned.query)


async def test_connecting_microsoft_from_a_phone_follows_the_redirects_back_to_the_app(phone: Phone) -> None:
    # given the technician's app asked where to send them
    consent = (await started(phone))["authorizationUrl"]
    url = urlsplit(consent)
    query = parse_qs(url.query)
    assert f"{url.scheme}://{url.netloc}{url.path}" == phone.microsoft.authorize_url
    assert url.path == "/common/oauth2/v2.0/authorize"
    assert (query["response_type"], query["prompt"], query["code_challenge_method"], query["redirect_uri"]) == (
        ["code"], ["select_account"], ["S256"], [CALLBACK])
    assert query["scope"] == ["offline_access Calendars.ReadWrite User.Read"]
    assert len(query["code_challenge"][0]) == 43 and query["client_id"] == [phone.microsoft.client_id]
    # when the phone's browser opens it, the technician accepts, and Microsoft sends it to Lockstep's callback
    outcome = await back_at_lockstep(phone, await answer_consent(phone.browser, consent))
    # then the browser goes back to the app with a code to confirm, and nothing is connected yet
    assert (sorted(outcome), outcome["calendarConnection"]) == (["calendarConnection", "confirmationCode"],
                                                                ["confirm"])
    assert await CalendarConnection.all().count() == 0
    # when the app, signed in as the technician's manager who started, confirms
    shown = await phone.api(CONFIRM, {"input": {"code": outcome["confirmationCode"][0]}}, phone.shop.owner_token)
    # then it sees the account by its address from /me, now connected
    connection = await CalendarConnection.get()
    assert shown["confirmCalendarConnection"] == {
        "__typename": "CalendarConnection", "id": encode_id("CalendarConnection", connection.id),
        "accountLabel": ACCOUNT}
    assert (connection.provider, connection.account_label, connection.health) == (
        Provider.MICROSOFT, ACCOUNT, ConnectionHealth.ACTIVE)
    # and the tokens are sealed: the row never holds the access token in plain text
    stored = CredentialVault([KEY]).unseal(connection.credentials)
    assert set(stored) == {"access_token", "refresh_token", "scope"}
    assert stored["access_token"] in phone.microsoft.oauth.access_tokens
    assert stored["refresh_token"] in phone.microsoft.oauth.refresh_tokens
    row = (await CalendarConnection.filter(id=connection.id).values("credentials"))[0]["credentials"]
    assert stored["access_token"] not in row and stored["refresh_token"] not in row
    assert connection.token_expires_at is not None
    assert datetime.now(UTC) + timedelta(minutes=55) < connection.token_expires_at <= datetime.now(UTC) + timedelta(
        hours=1)
    # and the calendars are listed: the default one imports busy time, takes bookings, and is due its first import
    calendars = await ExternalCalendar.filter(connection_id=connection.id).order_by("id").values_list(
        "provider_calendar_id", "name", "import_busy", "is_destination", "writable", "primary")
    family = next(calendar_id for calendar_id, calendar in phone.microsoft.mailbox().calendars.items()
                  if calendar.name == "Family")
    assert calendars == [(phone.microsoft.default_calendar_id(), "Calendar", True, True, True, True),
                         (family, "Family", False, False, False, False)]
    due = [calendar.next_pull_at for calendar in await ExternalCalendar.filter(connection_id=connection.id)]
    assert all(at is not None and at <= datetime.now(UTC) for at in due)
    assert (await OAuthState.get()).used_at is not None
    assert phone.microsoft.oauth.tenants == ["common", "common"]


@pytest.mark.parametrize(("tenant", "path"), [(None, "common"), ("contoso.onmicrosoft.com", "contoso.onmicrosoft.com")])
def test_the_tenant_is_common_unless_the_deployment_names_one(
        monkeypatch: pytest.MonkeyPatch, tenant: str | None, path: str) -> None:
    # given a deployment configured with Microsoft's own addresses, and perhaps its organisation's tenant
    monkeypatch.setenv("LOCKSTEP_MICROSOFT_CLIENT_ID", "app-id")
    monkeypatch.setenv("LOCKSTEP_MICROSOFT_CLIENT_SECRET", "app-secret")
    for setting in ("AUTHORIZE_URL", "TOKEN_URL", "API_URL"):
        monkeypatch.delenv(f"LOCKSTEP_MICROSOFT_{setting}", raising=False)
    if tenant is None:
        monkeypatch.delenv("LOCKSTEP_MICROSOFT_TENANT", raising=False)
    else:
        monkeypatch.setenv("LOCKSTEP_MICROSOFT_TENANT", tenant)
    # then sign-in and tokens go to that tenant's endpoints, and Graph is Graph
    app = Settings.from_env().provider_apps["microsoft"]
    assert (app.authorize_url, app.token_url, app.api_url, app.revoke_url) == (
        f"https://login.microsoftonline.com/{path}/oauth2/v2.0/authorize",
        f"https://login.microsoftonline.com/{path}/oauth2/v2.0/token", "https://graph.microsoft.com/v1.0", "")


async def test_declining_at_microsoft_connects_nothing(phone: Phone) -> None:
    outcome = await back_at_lockstep(phone, await answer_consent(phone.browser, (await started(phone))[
        "authorizationUrl"], "cancel"))
    assert outcome == {"calendarConnection": ["failed"], "error": ["access_denied"]}
    assert (await CalendarConnection.all().count(), await ExternalCalendar.all().count()) == (0, 0)


async def test_an_organisation_that_lets_only_admins_consent_is_explained_and_connects_nothing(phone: Phone) -> None:
    # given a tenant whose users may not consent to apps themselves
    phone.microsoft.oauth.require_admin_consent = True
    # when the technician opens the consent URL
    outcome = await back_at_lockstep(phone, await answer_consent(phone.browser, (await started(phone))[
        "authorizationUrl"]))
    # then the app is told an administrator must approve, and how
    assert outcome == {"calendarConnection": ["failed"], "error": ["admin_approval_required"],
                       "message": [ADMIN_APPROVAL_HELP]}
    assert "Grant admin consent" in ADMIN_APPROVAL_HELP
    assert await CalendarConnection.all().count() == 0
    assert not [entry for entry in phone.microsoft.log if entry.path.endswith("/token")]


async def test_a_consent_missing_when_the_code_is_redeemed_asks_for_the_administrator(phone: Phone) -> None:
    # given a technician who accepts, and no consent on record when Lockstep redeems the code (AADSTS65001)
    at_microsoft = await answer_consent(phone.browser, (await started(phone))["authorizationUrl"])
    phone.microsoft.oauth.missing_consent = True
    # when the browser reaches Lockstep's callback
    outcome = await back_at_lockstep(phone, at_microsoft)
    # then the app hears that an administrator must approve, and how; nothing is stored
    assert outcome == {"calendarConnection": ["failed"], "error": ["admin_approval_required"],
                       "message": [ADMIN_APPROVAL_HELP]}
    assert await CalendarConnection.all().count() == 0
    (redeemed,) = [entry for entry in phone.microsoft.log if entry.path.endswith("/token")]
    assert (redeemed.status, redeemed.response["error_codes"]) == (400, [65001])


async def test_a_callback_works_once(phone: Phone) -> None:
    # given a technician who connected
    at_microsoft = await answer_consent(phone.browser, (await started(phone))["authorizationUrl"])
    location = urlsplit(at_microsoft.headers["location"])
    first = await phone.app.get(f"{location.path}?{location.query}")
    assert first.status_code == 302
    # when the same callback arrives again (a reload, or someone replaying it)
    again = await phone.app.get(f"{location.path}?{location.query}")
    # then it is refused with a page, and the code was redeemed only once
    assert again.status_code == 400 and "already used" in again.text
    assert len([entry for entry in phone.microsoft.log if entry.path.endswith("/token")]) == 1
    assert await OAuthState.all().count() == 1


async def test_a_state_lasts_ten_minutes(phone: Phone) -> None:
    # given a connection started ten minutes and a second ago
    started_at = datetime.now(UTC)
    start = await started(phone)
    expires_at = datetime.fromisoformat(start["expiresAt"])
    assert started_at + timedelta(minutes=10) - timedelta(seconds=1) <= expires_at <= datetime.now(
        UTC) + timedelta(minutes=10)
    at_microsoft = await answer_consent(phone.browser, start["authorizationUrl"])
    await OAuthState.all().update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    # when the browser comes back
    location = urlsplit(at_microsoft.headers["location"])
    late = await phone.app.get(f"{location.path}?{location.query}")
    # then it is refused, the code is not redeemed and nothing is stored
    assert late.status_code == 400 and "expired" in late.text
    assert not [entry for entry in phone.microsoft.log if entry.path.endswith("/token")]
    assert await CalendarConnection.all().count() == 0
