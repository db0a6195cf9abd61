"""Fixtures shared by the provider tests."""

from tests.providers.calendly_fixtures import calendly, client
from tests.providers.google_fixtures import connected, google, provider, tokens
from tests.providers.microsoft_fixtures import graph, ms

__all__ = ["calendly", "client", "connected", "google", "graph", "ms", "provider", "tokens"]
