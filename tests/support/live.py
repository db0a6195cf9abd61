"""Live-update tests: real uvicorn servers with Redis, and the Python `gql` client over websockets.

`Socket` is one client connection (graphql-transport-ws, token in connection_init); each `subscribe` runs in the
background and collects what arrives, so a test can wait for the next message or check that none came.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from services import live
from tests.support.server import ROOT, live_server

COMPLETED = "completed"

_ERRORS = "... on NotAuthorized { message } ... on NotFound { message path } ... on ValidationError { message path }"
_MISSED = "... on MissedEvents { reason message }"
BOOKING_CHANGED = f"""subscription($businessId: ID, $staffId: ID) {{
  bookingChanged(businessId: $businessId, staffId: $staffId) {{ __typename
    ... on BookingChanged {{ kind businessId staffIds bookings {{ id status startsAt customerName }} }}
    {_MISSED} {_ERRORS} }} }}"""
AVAILABILITY_CHANGED = f"""subscription($staffId: ID, $serviceId: ID) {{
  availabilityChanged(staffId: $staffId, serviceId: $serviceId) {{ __typename
    ... on AvailabilityChanged {{ staffId spans {{ start end }} }}
    {_MISSED} ... on NotFound {{ message path }} ... on ValidationError {{ message path }} }} }}"""
SYNC_HEALTH_CHANGED = f"""subscription($staffId: ID, $businessId: ID) {{
  syncHealthChanged(staffId: $staffId, businessId: $businessId) {{ __typename
    ... on SyncHealthChanged {{ connectionId staffId status connection {{ health {{ status lastError }} }} }}
    {_MISSED} {_ERRORS} }} }}"""
NOTIFICATIONS = f"""subscription {{ notifications {{ __typename
    ... on NotificationReceived {{ notification {{ kind message readAt }} }}
    {_MISSED} ... on NotAuthorized {{ message }} }} }}"""


def new_channel() -> str:
    """A pub/sub channel of the test's own: Redis channels are shared by every database of a server, so concurrent
    runs on one Redis must not hear each other."""
    return f"lockstep-test:{uuid.uuid4().hex}"


@contextmanager
def live_api(database_url: str, data_dir: Path, redis_url: str, channel: str, **extra_env: str) -> Iterator[str]:
    env = {"LOCKSTEP_REDIS_URL": redis_url, "LOCKSTEP_LIVE_CHANNEL": channel, **extra_env}
    with live_server(database_url, data_dir, 1, **env) as base:
        yield base


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/graphql"


async def health(base: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        body: dict[str, Any] = (await http.get(f"{base}/health", timeout=2)).json()
        return body


async def wait_for_health(base: str, *, subscribers: int | None = None, live: str = "ok",
                          within: float = 10.0) -> None:
    """Wait until the server's live feed is in state `live` with exactly `subscribers` subscribers (when given):
    a subscription is registered only once its permission check has run."""
    deadline = time.monotonic() + within
    while True:
        body = await health(base)
        if body["live"] == live and (subscribers is None or body["subscribers"] == subscribers):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"server never reached live={live} subscribers={subscribers}: {body}")
        await asyncio.sleep(0.05)


class Subscription:
    def __init__(self) -> None:
        self.received: asyncio.Queue[Any] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def next(self, within: float = 10.0) -> Any:
        """The next message: a result's data, an exception the client raised, or COMPLETED."""
        return await asyncio.wait_for(self.received.get(), within)

    async def nothing_within(self, seconds: float) -> bool:
        try:
            extra = await asyncio.wait_for(self.received.get(), seconds)
        except TimeoutError:
            return True
        raise AssertionError(f"expected nothing, received {extra!r}")


class Socket:
    def __init__(self, session: Any) -> None:
        self.session = session
        self.subscriptions: list[Subscription] = []

    async def execute(self, document: str, variables: dict[str, Any] | None = None) -> Any:
        return await self.session.execute(GraphQLRequest(document, variable_values=variables or {}))

    def subscribe(self, document: str, variables: dict[str, Any] | None = None) -> Subscription:
        subscription = Subscription()

        async def collect() -> None:
            try:
                async for data in self.session.subscribe(GraphQLRequest(document, variable_values=variables or {})):
                    subscription.received.put_nowait(data)
                subscription.received.put_nowait(COMPLETED)
            except Exception as error:  # handed to the test, which asserts on it
                subscription.received.put_nowait(error)

        subscription.task = asyncio.create_task(collect())
        self.subscriptions.append(subscription)
        return subscription


@asynccontextmanager
async def socket(base: str, token: str | None = None, payload: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> AsyncIterator[Socket]:
    init = payload if payload is not None else ({"authorization": f"Bearer {token}"} if token else {})
    transport = WebsocketsTransport(url=ws_url(base), init_payload=init, headers=headers)
    client = Client(transport=transport, execute_timeout=15)
    session = await client.connect_async()
    connection = Socket(session)
    try:
        yield connection
    finally:
        for subscription in connection.subscriptions:
            if subscription.task is not None:
                subscription.task.cancel()
        await client.close_async()


_PUBLISHER = """
import asyncio, sys
from datetime import datetime
from domain.intervals import Span
from services import live

async def main() -> None:
    publisher = live.configure(sys.argv[1], sys.argv[2])
    span = Span(datetime.fromisoformat(sys.argv[4]), datetime.fromisoformat(sys.argv[5]))
    await live.publish_availability_changed(int(sys.argv[3]), [span])
    await publisher.close()

asyncio.run(main())
"""


def publish_from_another_process(redis_url: str, channel: str, staff_id: int, start: str, end: str) -> None:
    """A separate Python process publishes availabilityChanged for the staff member, as the pull job of a worker
    does after importing busy time."""
    subprocess.run([sys.executable, "-c", _PUBLISHER, redis_url, channel, str(staff_id), start, end], cwd=ROOT,
                   check=True, timeout=30)


@asynccontextmanager
async def hearing(redis_url: str) -> AsyncIterator[PubSub]:
    """This process publishes live events on a channel of its own (services.live), which the caller listens to."""
    channel = new_channel()
    publisher = live.configure(redis_url, channel)
    client = Redis.from_url(redis_url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(channel)
    try:
        yield pubsub
    finally:
        await pubsub.aclose()
        await client.aclose()
        if publisher is not None:
            await publisher.close()
        live.configure(None)


async def next_event(pubsub: PubSub, wait: float = 5.0) -> live.LiveEvent | None:
    """The next event published, or None when none came within `wait` seconds (get_message returns None for the
    subscription confirmation too, which does not count)."""
    deadline = asyncio.get_running_loop().time() + wait
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        message = await pubsub.get_message(timeout=left)
        if message is not None:
            return live.decode(message["data"])
    return None
