"""Fixtures of the tests of the fake Microsoft Graph itself: the fake (whose traffic must conform to the contract when
the test ends) and an HTTP client of its Graph root holding a fresh access token of its default account. A module
that needs another fake (other redirect URIs) or means a provider by `graph` defines its own fixture of that name."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.fakes.microsoft import FakeMicrosoft
from tests.support.graph_contract import conforming_microsoft, graph_client


@pytest.fixture
async def ms() -> AsyncIterator[FakeMicrosoft]:
    async with conforming_microsoft() as fake:
        yield fake


@pytest.fixture
async def graph(ms: FakeMicrosoft) -> AsyncIterator[httpx.AsyncClient]:
    async with graph_client(ms) as client:
        yield client
