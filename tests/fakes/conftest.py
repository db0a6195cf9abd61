"""Fixtures of the tests of the fake Calendly itself: the fake (whose traffic must conform to the contract when the
test ends, retries compressed to milliseconds), an HTTP client of its API holding a personal access token of its
user, and a webhook receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.fakes.calendly import FakeCalendly
from tests.support.calendly import REDIRECT_URI, Receiver


@pytest.fixture
async def calendly() -> AsyncIterator[FakeCalendly]:
    async with FakeCalendly(redirect_uris=(REDIRECT_URI,)) as fake:
        fake.webhooks.retry_delays = (0.01, 0.02, 0.04)
        yield fake


@pytest.fixture
async def rest(calendly: FakeCalendly) -> AsyncIterator[httpx.AsyncClient]:
    token = calendly.personal_token()
    async with httpx.AsyncClient(base_url=calendly.api_url, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as endpoint:
        yield endpoint
