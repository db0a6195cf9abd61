"""Return URLs after connecting a calendar: only within the allow-list, never an open redirect."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from domain.redirects import return_url_allowed

ALLOWED = ["https://app.example.com/settings", "lockstep://calendars", "http://127.0.0.1:5173"]


@pytest.mark.parametrize("url", [
    "https://app.example.com/settings",
    "https://app.example.com/settings/calendars?tab=google",
    "https://APP.example.com/settings#done",
    "lockstep://calendars",
    "lockstep://calendars/connected",
    "http://127.0.0.1:5173/anything",
])
def test_addresses_within_an_entry_are_allowed(url: str) -> None:
    assert return_url_allowed(url, ALLOWED)


@pytest.mark.parametrize("url", [
    "https://app.example.com/settingsevil",  # a path that only starts with the entry's
    "https://app.example.com/other",
    "https://app.example.com.evil.example/settings",
    "https://app.example.com@evil.example/settings",
    "http://app.example.com/settings",  # another scheme
    "https://app.example.com:8443/settings",  # another port
    "lockstep://other",
    "http://127.0.0.1:5174/",
    "javascript:alert(1)",
    "/settings",
    "",
    "https://[::1/",  # unparseable
    "https://app.example.com/settings/../admin",
    "https://app.example.com/settings/%2e%2e/admin",
    "https://app.example.com/settings/" + "x" * 2000,
])
def test_anything_else_is_refused(url: str) -> None:
    assert not return_url_allowed(url, ALLOWED)


def test_an_empty_allow_list_allows_nothing() -> None:
    assert not return_url_allowed("https://app.example.com/settings", [])


@given(st.text(max_size=60))
def test_no_address_outside_the_hosts_of_the_list_is_allowed(suffix: str) -> None:
    url = "https://evil.example/" + suffix
    assert not return_url_allowed(url, ALLOWED)
