"""Fixtures shared by the provider tests."""

from tests.providers.google_fixtures import connected, google, provider, tokens

__all__ = ["connected", "google", "provider", "tokens"]
