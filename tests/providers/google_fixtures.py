"""Fixtures of the Google provider tests: the fake (whose whole request log must conform to Google's discovery
document when the test ends), a provider on it, and events to write."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from providers.base import OutgoingEvent
from providers.google import GoogleProvider
from tests.fakes.google import FakeGoogle
from tests.support.google import FakeGoogleTokens, conforming_google, google_provider

CALENDAR = "tech@example.com"  # the fake user's primary calendar
START = datetime(2030, 1, 7, 9, tzinfo=UTC)
WINDOW_DAYS = 365


@pytest.fixture
async def google() -> AsyncIterator[FakeGoogle]:
    async with conforming_google() as fake:
        yield fake


@pytest.fixture
async def connected(google: FakeGoogle) -> AsyncIterator[tuple[GoogleProvider, FakeGoogleTokens]]:
    async with google_provider(google) as made:
        yield made


@pytest.fixture
def provider(connected: tuple[GoogleProvider, FakeGoogleTokens]) -> GoogleProvider:
    return connected[0]


@pytest.fixture
def tokens(connected: tuple[GoogleProvider, FakeGoogleTokens]) -> FakeGoogleTokens:
    return connected[1]


def booking(marker: str = "booking-1@lockstep", hour: int = 9, colour: str = "") -> OutgoingEvent:
    return OutgoingEvent(marker=marker, summary="Boiler check – Cleo", description="Side door",
                         starts_at=START.replace(hour=hour), ends_at=START.replace(hour=hour) + timedelta(hours=1),
                         time_zone="Europe/Berlin", colour=colour)


def by_hand(summary: str, day: int, hour: int = 14) -> dict[str, object]:
    """An event as the staff member enters it in Google Calendar (times in Berlin, UTC+1 in January)."""
    return {"summary": summary, "start": {"dateTime": f"2030-01-{day:02d}T{hour:02d}:00:00+01:00"},
            "end": {"dateTime": f"2030-01-{day:02d}T{hour + 1:02d}:00:00+01:00"}}
