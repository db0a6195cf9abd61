"""Fixtures of the tests of the Calendly client: a fake Calendly (whose traffic must conform to the contract when the
test ends) and a client of it holding a personal access token of its user."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from providers.calendly import CalendlyClient, PersonalAccessToken
from tests.fakes.calendly import FakeCalendly
from tests.support.calendly import calendly_client


@pytest.fixture
async def calendly() -> AsyncIterator[FakeCalendly]:
    async with FakeCalendly() as fake:
        yield fake


@pytest.fixture
async def client(calendly: FakeCalendly) -> AsyncIterator[CalendlyClient]:
    """A client holding a personal access token."""
    async with calendly_client(calendly, PersonalAccessToken(calendly.personal_token())) as made:
        yield made
