"""Helpers for tests of connecting calendars and settling sync conflicts.

`FakeProbe` stands in for the account check the app injects into the services (a fake of an injected dependency,
not of our own code): it answers with fixed calendars, or with the failure a test sets. `sync_api` builds the real
ASGI app with it. The engine helpers push bookings to a MemoryProvider and play the staff member's hand edits, so
conflicts arise exactly as the pull opens them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
import icalendar

from app.main import create_app
from app.settings import Settings
from jobs.pull import pull_calendar
from jobs.push import push_mapping
from models import Provider
from providers.base import RemoteCalendar
from services.connections import ProbedAccount, ProbedCalendar
from services.sync_dispatch import dispatch_outbox
from tests.fakes.memory import MemoryProvider
from tests.support.graphql import GraphQLClient, Shop

SERVER = "https://dav.example.com/"
WORK = ProbedCalendar("work", "Work", "#3366cc", "Europe/Berlin", writable=True, primary=True)
FAMILY = ProbedCalendar("family", "Family", "#ff8800", "Europe/Berlin", writable=True, primary=False)
HOLIDAYS = ProbedCalendar("holidays", "Holidays", "", "UTC", writable=False, primary=False)


def probed(*calendars: ProbedCalendar, server_url: str = SERVER) -> ProbedAccount:
    return ProbedAccount(provider=Provider.CALDAV.value, server_url=server_url,
                         principal_url=f"{server_url}principals/sam/", home_url=f"{server_url}calendars/sam/",
                         own_addresses=("sam@example.com",), calendars=calendars)


class FakeProbe:
    """Answers every check with `account`, or raises `failure` when a test sets one; remembers what it was asked
    (the password too, so a test can see what reached the server)."""

    def __init__(self, account: ProbedAccount | None = None) -> None:
        self.account = account or probed(WORK, FAMILY, HOLIDAYS)
        self.failure: Exception | None = None
        self.calls: list[tuple[str, str | None, str, str]] = []

    async def __call__(self, server_type: str, server_url: str | None, username: str, password: str
                       ) -> ProbedAccount:
        self.calls.append((server_type, server_url, username, password))
        if self.failure is not None:
            raise self.failure
        return self.account


@asynccontextmanager
async def sync_api(probe: FakeProbe | None, secret_key: str) -> AsyncIterator[GraphQLClient]:
    """The real app with `probe` as its account check (None: the app's own CalDAV one) and `secret_key` as its only
    credential key."""
    settings = dataclasses.replace(Settings.from_env(), secret_keys=(secret_key,))
    transport = httpx.ASGITransport(app=create_app(settings, account_probe=probe))
    async with httpx.AsyncClient(transport=transport, base_url="http://lockstep.test") as http:
        yield GraphQLClient(http)


async def staff_token(api: GraphQLClient, shop: Shop) -> str:
    """The shop's staff member signs in through their invitation."""
    data = await api("""mutation($input: AcceptStaffInviteInput!) { acceptStaffInvite(input: $input) {
        ... on AuthPayload { accessToken } } }""", {"input": {"code": shop.staff_invite,
                                                              "password": "staff horse battery"}})
    return str(data["acceptStaffInvite"]["accessToken"])


def memory_calendar(calendar_id: str = "work") -> MemoryProvider:
    return MemoryProvider([RemoteCalendar(calendar_id, "Work", "", "Europe/Berlin", writable=True, primary=True)])


async def push_and_pull(provider: MemoryProvider, calendar_id: int, now: datetime) -> None:
    """Run what the scheduler would: owed pushes, then a pull of the calendar."""
    for mapping_id in await dispatch_outbox(now):
        await push_mapping(mapping_id, provider, now)
    await pull_calendar(calendar_id, provider, now)


def move_by_hand(provider: MemoryProvider, calendar_id: str, event_id: str, start: datetime) -> None:
    """The staff member drags the event to `start` in their calendar app (keeping its length)."""
    parsed: Any = icalendar.Calendar.from_ical(provider.calendars[calendar_id].events[event_id].payload)
    for event in parsed.walk("VEVENT"):
        length = event["DTEND"].dt - event["DTSTART"].dt
        for name, value in (("DTSTART", start), ("DTEND", start + length)):
            event.pop(name)
            event.add(name, value)
    provider.write_by_hand(calendar_id, event_id, parsed.to_ical().decode())
