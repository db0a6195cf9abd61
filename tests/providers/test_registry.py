"""The provider registry's entries: what each provider can do, how its webhook deliveries and payload zones are read,
its OAuth description, its farewell, and what a provider not available on this server says."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from providers.entry import Farewell, Inbound, Notification, ProviderApp
from providers.oauth import authorization_url
from providers.readers import read_caldav, read_google
from providers.registry import (
    ADMIN_APPROVAL_HELP,
    CALDAV,
    CALENDLY,
    GOOGLE,
    MICROSOFT,
    REGISTRY,
    entry_for,
    entry_of,
    pushing,
    refreshing,
)

APP = ProviderApp("client-1", "secret-1", authorize_url="https://auth.test/authorize",
                  token_url="https://auth.test/token", revoke_url="https://auth.test/revoke",
                  api_url="https://api.test/v3")


def google_delivery(state: str, channel: str = "chan-1", token: str = "tok") -> Inbound:
    return Inbound({"x-goog-resource-state": state, "x-goog-channel-id": channel, "x-goog-channel-token": token},
                   {}, b"")


def test_what_each_provider_can_do() -> None:
    assert {name: (entry.capabilities.push, entry.capabilities.incremental, entry.capabilities.writable)
            for name, entry in REGISTRY.items()} == {
        "google": (True, True, True), "caldav": (False, True, True), "microsoft": (True, True, True),
        "calendly": (True, False, False)}


def test_every_provider_is_available_and_calendly_imports_and_cancels_appointments() -> None:
    assert [entry.name for entry in REGISTRY.values() if entry.available] == [
        "google", "caldav", "microsoft", "calendly"]
    oauth = CALENDLY.oauth
    assert oauth is not None and CALENDLY.appointments is not None
    assert (oauth.scopes, oauth.authorize_url, oauth.token_url, oauth.revoke_url) == (
        ("users:read", "scheduled_events:write", "event_types:read", "webhooks:write"),
        "https://auth.calendly.com/oauth/authorize", "https://auth.calendly.com/oauth/token",
        "https://auth.calendly.com/oauth/revoke")
    assert (oauth.pkce, oauth.rotates_refresh_tokens, oauth.basic_auth, CALENDLY.personal_tokens) == (
        True, True, True, "personal_access_token")
    assert CALENDLY.farewell == Farewell(stop_channels=True, revoke_grant=True)
    assert CALENDLY.appointments.signature_header == "calendly-webhook-signature"


def test_microsofts_oauth_is_the_identity_platform_v2_with_the_least_scopes() -> None:
    oauth = MICROSOFT.oauth
    assert oauth is not None
    assert (oauth.scopes, oauth.authorize_url, oauth.token_url, oauth.revoke_url, oauth.extra) == (
        ("offline_access", "Calendars.ReadWrite", "User.Read"),
        "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
        "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token", "", (("prompt", "select_account"),))
    assert (oauth.pkce, oauth.rotates_refresh_tokens, oauth.default_tenant) == (True, True, "common")
    assert MICROSOFT.farewell == Farewell(stop_channels=True, revoke_grant=False)


def test_an_admin_approval_wall_tells_the_user_how_to_get_past_it() -> None:
    walled = MICROSOFT.oauth_refusal("access_denied", "AADSTS90094: Admin consent is required for the permissions")
    assert walled == {"error": "admin_approval_required", "message": ADMIN_APPROVAL_HELP}
    assert MICROSOFT.oauth_refusal("consent_required", "") == walled
    assert MICROSOFT.oauth_refusal("access_denied", "AADSTS65004: User declined to consent") == {
        "error": "access_denied"}
    assert GOOGLE.oauth_refusal("access_denied", "AADSTS90094") == {"error": "access_denied"}


def test_push_and_refresh_are_for_available_providers_that_have_them() -> None:
    assert pushing() == {"google", "microsoft", "calendly"}
    assert pushing(["caldav"]) == frozenset()
    assert refreshing(["google", "caldav", "microsoft", "calendly"]) == {"google", "microsoft", "calendly"}
    assert refreshing(["caldav"]) == frozenset()


def test_a_name_the_registry_does_not_know() -> None:
    assert entry_for("myspace") is None
    with pytest.raises(LookupError):
        entry_of("myspace")


def test_google_change_notifications_carry_the_channel_and_its_token() -> None:
    assert GOOGLE.push is not None
    assert GOOGLE.push.read(google_delivery("exists")) == [Notification("chan-1", "tok")]
    assert GOOGLE.push.read(google_delivery("not_exists")) == [Notification("chan-1", "tok")]
    # a new channel's first message says nothing changed; a delivery without the headers is nothing
    assert GOOGLE.push.read(google_delivery("sync")) == []
    assert GOOGLE.push.read(Inbound({}, {}, b"")) == []


def test_all_day_times_are_read_in_the_calendars_zone_at_google_and_the_staff_members_at_caldav() -> None:
    assert GOOGLE.reading_zone("America/New_York", "Europe/Berlin") == "America/New_York"
    assert GOOGLE.reading_zone("Not/AZone", "Europe/Berlin") == "Europe/Berlin"
    assert CALDAV.reading_zone("America/New_York", "Europe/Berlin") == "Europe/Berlin"
    assert (GOOGLE.read_event, CALDAV.read_event) == (read_google, read_caldav)


def test_googles_oauth_asks_offline_access_with_consent_and_pkce() -> None:
    assert GOOGLE.oauth is not None and CALDAV.oauth is None
    client = GOOGLE.oauth.client(APP, "https://lockstep.test/oauth/google/callback")
    query = parse_qs(urlsplit(authorization_url(client, "state-1", "v" * 64)).query)
    assert {key: values[0] for key, values in query.items() if key != "code_challenge"} == {
        "response_type": "code", "client_id": "client-1", "redirect_uri": "https://lockstep.test/oauth/google/callback",
        "scope": "https://www.googleapis.com/auth/calendar.events "
                 "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
        "state": "state-1", "code_challenge_method": "S256", "access_type": "offline", "prompt": "consent",
        "include_granted_scopes": "true"}
    assert (client.token_url, client.revoke_url) == (APP.token_url, APP.revoke_url)
    assert not GOOGLE.oauth.rotates_refresh_tokens


def test_the_farewell_is_said_only_where_there_is_something_to_say() -> None:
    assert (GOOGLE.farewell.stop_channels, GOOGLE.farewell.revoke_grant) == (True, True)
    assert (CALDAV.farewell.stop_channels, CALDAV.farewell.revoke_grant) == (False, False)
