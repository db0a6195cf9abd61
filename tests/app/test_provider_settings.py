"""Each OAuth provider of the registry is configured from the environment the same way: LOCKSTEP_<NAME>_CLIENT_ID and
_CLIENT_SECRET turn it on, its addresses default to the provider's own and can be pointed at a fake."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.oauth_accounts import configured_gateways, provider_setups
from app.settings import Settings
from providers.entry import ProviderApp, ProviderSetup


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOCKSTEP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LOCKSTEP_PUBLIC_URL", "https://lockstep.test/")
    for name in ("CLIENT_ID", "CLIENT_SECRET", "AUTHORIZE_URL", "TOKEN_URL", "REVOKE_URL", "API_URL", "TENANT"):
        for provider in ("GOOGLE", "MICROSOFT", "CALENDLY", "CALDAV"):
            monkeypatch.delenv(f"LOCKSTEP_{provider}_{name}", raising=False)


def test_a_provider_with_its_client_is_configured_at_its_own_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCKSTEP_GOOGLE_CLIENT_ID", "id-1")
    monkeypatch.setenv("LOCKSTEP_GOOGLE_CLIENT_SECRET", "secret-1")
    settings = Settings.from_env()
    assert settings.provider_apps == {"google": ProviderApp(
        "id-1", "secret-1", authorize_url="https://accounts.google.com/o/oauth2/v2/auth",
        token_url="https://oauth2.googleapis.com/token", revoke_url="https://oauth2.googleapis.com/revoke",
        api_url="https://www.googleapis.com/calendar/v3")}
    # and its OAuth client comes back to its own callback route (Calendly's personal tokens need no client)
    setups = provider_setups(settings)
    assert sorted(setups) == ["calendly", "google"] and setups["calendly"] == ProviderSetup(api_url="")
    setup = setups["google"]
    assert setup.oauth is not None
    assert setup.oauth.redirect_uri == "https://lockstep.test/oauth/google/callback"
    assert list(configured_gateways(settings)) == ["google"]


def test_addresses_can_point_at_a_fake(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCKSTEP_GOOGLE_CLIENT_ID", "id-1")
    monkeypatch.setenv("LOCKSTEP_GOOGLE_CLIENT_SECRET", "secret-1")
    for name in ("AUTHORIZE", "TOKEN", "REVOKE"):
        monkeypatch.setenv(f"LOCKSTEP_GOOGLE_{name}_URL", f"http://127.0.0.1:9/{name.lower()}")
    monkeypatch.setenv("LOCKSTEP_GOOGLE_API_URL", "http://127.0.0.1:9/calendar/v3/")
    app = Settings.from_env().provider_apps["google"]
    assert (app.authorize_url, app.token_url, app.revoke_url, app.api_url) == (
        "http://127.0.0.1:9/authorize", "http://127.0.0.1:9/token", "http://127.0.0.1:9/revoke",
        "http://127.0.0.1:9/calendar/v3")


def test_without_both_client_values_no_oauth_is_configured_and_calendly_takes_personal_tokens(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCKSTEP_GOOGLE_CLIENT_ID", "id-1")
    monkeypatch.setenv("LOCKSTEP_CALENDLY_CLIENT_ID", "id-2")
    monkeypatch.setenv("LOCKSTEP_CALENDLY_API_URL", "http://127.0.0.1:9/calendly/")
    settings = Settings.from_env()
    assert settings.provider_apps == {}
    assert (provider_setups(settings), configured_gateways(settings)) == (
        {"calendly": ProviderSetup(api_url="http://127.0.0.1:9/calendly")}, {})


def test_microsoft_is_at_the_common_tenant_unless_one_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    # given Microsoft's client configured
    monkeypatch.setenv("LOCKSTEP_MICROSOFT_CLIENT_ID", "id-3")
    monkeypatch.setenv("LOCKSTEP_MICROSOFT_CLIENT_SECRET", "secret-3")
    # then its addresses are the identity platform's at the common tenant, with Graph v1.0
    assert Settings.from_env().provider_apps == {"microsoft": ProviderApp(
        "id-3", "secret-3", authorize_url="https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        token_url="https://login.microsoftonline.com/common/oauth2/v2.0/token", revoke_url="",
        api_url="https://graph.microsoft.com/v1.0")}
    # when a tenant is named, it is that tenant's
    monkeypatch.setenv("LOCKSTEP_MICROSOFT_TENANT", "contoso.onmicrosoft.com")
    app = Settings.from_env().provider_apps["microsoft"]
    assert (app.authorize_url, app.token_url) == (
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize",
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token")
    setup = provider_setups(Settings.from_env())["microsoft"]
    assert setup.oauth is not None
    assert (setup.oauth.redirect_uri, setup.oauth.scopes, setup.oauth.scopes_at_token_endpoint) == (
        "https://lockstep.test/oauth/microsoft/callback", ("offline_access", "Calendars.ReadWrite", "User.Read"),
        True)


def test_the_tenant_fills_addresses_that_point_elsewhere_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCKSTEP_MICROSOFT_CLIENT_ID", "id-3")
    monkeypatch.setenv("LOCKSTEP_MICROSOFT_CLIENT_SECRET", "secret-3")
    monkeypatch.setenv("LOCKSTEP_MICROSOFT_AUTHORIZE_URL", "https://login.example.cn/{tenant}/oauth2/v2.0/authorize")
    monkeypatch.setenv("LOCKSTEP_MICROSOFT_TENANT", "organizations")
    app = Settings.from_env().provider_apps["microsoft"]
    assert (app.authorize_url, app.token_url) == (
        "https://login.example.cn/organizations/oauth2/v2.0/authorize",
        "https://login.microsoftonline.com/organizations/oauth2/v2.0/token")
