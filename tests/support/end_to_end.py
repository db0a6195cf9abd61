"""What the end-to-end tests of every OAuth calendar provider share (tests/app/test_<provider>_end_to_end.py): the
web app's landing page, waiting for what the sync processes do, and the GraphQL calls a technician's app makes to
connect and to look at free time.

Terms: the *service* is one test's running deployment (a real API, scheduler and worker against a provider's fake)
as seen by the test: the GraphQL client, the shop built through it, and the return and landing URLs it allows.
"""

from __future__ import annotations

import asyncio
import html
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from tests.support.graphql import GraphQLClient, Shop

T = TypeVar("T")
BERLIN = ZoneInfo("Europe/Berlin")
START = """mutation($input: StartCalendarConnectionInput!) { startCalendarConnection(input: $input) { __typename
  ... on CalendarAuthorization { authorizationUrl } } }"""
CONFIRM = """mutation($input: ConfirmCalendarConnectionInput!) { confirmCalendarConnection(input: $input) {
  __typename ... on CalendarConnection { id accountLabel } } }"""
SLOTS = """query($s: ID!, $from: DateTime!, $to: DateTime!) { availableSlots(serviceId: $s, from: $from, to: $to,
  timeZone: "UTC") { ... on AvailableSlots { slots { start } } } }"""
BOOKING = """query($id: ID!) { booking(id: $id) { ... on Booking { startsAt status } } }"""


class Service(Protocol):
    api: GraphQLClient
    shop: Shop
    return_url: str


class _Landing(BaseHTTPRequestHandler):
    """The web app's landing page after connecting: it shows the address it was opened with."""

    def do_GET(self) -> None:
        body = f"<!doctype html><html><body><p id='landed'>{html.escape(self.path)}</p></body></html>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def landing_page() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Landing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/landing"
    finally:
        server.shutdown()
        server.server_close()


async def eventually(check: Callable[[], Awaitable[T | None]], what: str, within: float = 15.0) -> T:
    """The first truthy answer of `check`, asked every 20 ms; the deadline is generous, the polling fast."""
    deadline = time.monotonic() + within
    while True:
        answer = await check()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened within {within} s: {what}")
        await asyncio.sleep(0.02)


def berlin(days: int, hour: int) -> datetime:
    """`hour` o'clock in Berlin `days` days from today, in UTC."""
    day = datetime.now(BERLIN).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, tzinfo=BERLIN).astimezone(UTC)


async def authorization_url(service: Service, provider: str, return_url: str | None = None) -> str:
    """Where the technician's app sends them to connect `provider` (GOOGLE, MICROSOFT)."""
    data = await service.api(START, {"input": {"provider": provider, "staffId": service.shop.staff_id,
                                               "returnUrl": return_url or service.return_url}},
                             service.shop.owner_token)
    url: str = data["startCalendarConnection"]["authorizationUrl"]
    return url


async def confirmed(service: Service, code: str) -> dict[str, Any]:
    """The technician's app, signed in as the one who started, confirms the grant the callback held."""
    data = await service.api(CONFIRM, {"input": {"code": code}}, service.shop.owner_token)
    result: dict[str, Any] = data["confirmCalendarConnection"]
    return result


async def free_starts(service: Service, start: datetime, end: datetime) -> list[datetime]:
    data = await service.api(SLOTS, {"s": service.shop.service_id, "from": start.isoformat(),
                                     "to": end.isoformat()})
    return [datetime.fromisoformat(slot["start"]) for slot in data["availableSlots"]["slots"]]
