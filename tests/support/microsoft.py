"""Tokens, a provider and events for tests against the fake Microsoft Graph (tests/fakes/microsoft.py).

`FakeMicrosoftTokens` is an AccessTokens source as a connection's would be (tests/support/tokens.py), granted by the
fake.
`microsoft_provider` makes a MicrosoftProvider on a fake; `connected` runs a fake inside `conforming_microsoft()` (which
fails the test when any request or answer did not conform to the Graph description) with a provider on it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from providers.base import OutgoingEvent
from providers.microsoft import MicrosoftProvider
from providers.oauth import OAuthClient
from providers.registry import MICROSOFT_OAUTH_SCOPES
from tests.fakes.microsoft import FakeMicrosoft
from tests.fakes.microsoft_render import View, event_resource, occurrence_resource, occurrences_in
from tests.support.graph_contract import conforming_microsoft
from tests.support.tokens import RefreshingTokens

SCOPES = MICROSOFT_OAUTH_SCOPES  # what Lockstep asks for
# With the master category list's scope too, which Lockstep does not ask for: categories get their colour.
SCOPES_WITH_CATEGORIES = (*SCOPES, "MailboxSettings.ReadWrite")
ACCOUNT = "tech@contoso.example"
START = datetime(2030, 1, 7, 9, tzinfo=UTC)


class FakeMicrosoftTokens(RefreshingTokens):
    def __init__(self, microsoft: FakeMicrosoft, account: str = ACCOUNT, scopes: tuple[str, ...] = SCOPES) -> None:
        client = OAuthClient(authorize_url=microsoft.authorize_url, token_url=microsoft.token_url,
                             revoke_url="", client_id=microsoft.client_id, client_secret=microsoft.client_secret,
                             redirect_uri="http://127.0.0.1/cb", scopes=scopes)
        issued = microsoft.oauth.issue_tokens(account=account, scope=" ".join(scopes))
        super().__init__(client, str(issued["access_token"]), str(issued["refresh_token"]))


@dataclass(frozen=True)
class Graph:
    """A provider connected to a fake, and the fake's default calendar (the one a test writes to)."""

    fake: FakeMicrosoft
    provider: MicrosoftProvider
    tokens: FakeMicrosoftTokens
    calendar_id: str


@asynccontextmanager
async def connected(scopes: tuple[str, ...] = SCOPES) -> AsyncIterator[Graph]:
    """A conforming fake and a provider on it, granted `scopes`."""
    async with conforming_microsoft() as fake, microsoft_provider(fake, scopes=scopes) as (provider, tokens):
        yield Graph(fake, provider, tokens, fake.default_calendar_id())


@asynccontextmanager
async def microsoft_provider(microsoft: FakeMicrosoft, *, mailbox: str = ACCOUNT, account: str = ACCOUNT,
                             scopes: tuple[str, ...] = SCOPES
                             ) -> AsyncIterator[tuple[MicrosoftProvider, FakeMicrosoftTokens]]:
    tokens = FakeMicrosoftTokens(microsoft, account, scopes)
    async with MicrosoftProvider(tokens, api_url=microsoft.api_url, mailbox=mailbox) as provider:
        yield provider, tokens


def booking(marker: str = "booking-1@lockstep", hour: int = 9, colour: str = "") -> OutgoingEvent:
    return OutgoingEvent(marker=marker, summary="Boiler check – Cleo", description="Side door",
                         starts_at=START.replace(hour=hour), ends_at=START.replace(hour=hour) + timedelta(hours=1),
                         time_zone="Europe/Berlin", colour=colour)


def by_hand(subject: str, day: int, hour: int = 14) -> dict[str, object]:
    """An event as the staff member enters it in Outlook (times in Berlin, UTC+1 in January)."""
    return {"subject": subject,
            "start": {"dateTime": f"2030-01-{day:02d}T{hour:02d}:00:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": f"2030-01-{day:02d}T{hour + 1:02d}:00:00", "timeZone": "Europe/Berlin"}}


def read_event(microsoft: FakeMicrosoft, event_id: str) -> dict[str, Any]:
    """An event as Lockstep reads it (immutable ids, times in UTC) with its extended properties, straight from the
    fake's store, so that looking leaves no trace in the fake's log."""
    mailbox = microsoft.mailbox()
    event, original = mailbox.find(event_id)
    view = View("UTC", immutable=True)
    resource = (occurrence_resource(mailbox, event, original, view) if original is not None
                else event_resource(mailbox, event, view))
    return {**resource, "singleValueExtendedProperties": event.extended}


def read_instances(microsoft: FakeMicrosoft, series_id: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The live instances of a series taking place in [start, end), as its instances listing would give them."""
    mailbox = microsoft.mailbox()
    event, _ = mailbox.find(series_id)
    view = View("UTC", immutable=True)
    return [occurrence_resource(mailbox, event, original, view) for original in occurrences_in(event, (start, end))]
