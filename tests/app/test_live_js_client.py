"""The JavaScript graphql-ws client, the one Apollo, urql and Relay subscribe with, against a real uvicorn server:
what a web front end does is proven with the front end's own client, not only with Python's."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.app.test_live_subscriptions import book
from tests.support.graphql import GraphQLClient, given_shop
from tests.support.live import BOOKING_CHANGED, health, live_api, new_channel, wait_for_health, ws_url
from tests.support.server import ROOT

CLIENT_DIR = ROOT / "tests" / "js"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(
    NODE is None or not (CLIENT_DIR / "node_modules" / "graphql-ws").is_dir(),
    reason="needs Node.js and the graphql-ws client (`./lockstep test` installs it when npm is present)")


class JsClient:
    """One `node subscribe.mjs` process; its JSON lines, read as they come."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def next_line(self, within: float = 15.0) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), within)
        assert line, "the client ended without saying more"
        parsed: dict[str, Any] = json.loads(line)
        return parsed


@asynccontextmanager
async def js_client(server: str, params: dict[str, Any], operation: str, variables: dict[str, Any],
                    wanted: int) -> AsyncIterator[JsClient]:
    assert NODE is not None
    process = await asyncio.create_subprocess_exec(
        NODE, str(CLIENT_DIR / "subscribe.mjs"), ws_url(server), json.dumps(params), operation,
        json.dumps(variables), str(wanted), cwd=CLIENT_DIR, stdout=asyncio.subprocess.PIPE)
    try:
        yield JsClient(process)
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


@pytest.fixture
def server(db: str, redis_url: str, tmp_path: Path) -> Iterator[str]:
    with live_api(db, tmp_path, redis_url, new_channel()) as base:
        yield base


@pytest.fixture
async def http(server: str) -> AsyncIterator[GraphQLClient]:
    async with httpx.AsyncClient(base_url=server, timeout=15) as client:
        yield GraphQLClient(client)


async def test_the_front_end_client_subscribes_to_bookings_with_the_token_in_connection_init(
        server: str, http: GraphQLClient) -> None:
    # given the owner's web app subscribed to the business's bookings with graphql-ws
    shop = await given_shop(http)
    async with js_client(server, {"authorization": f"Bearer {shop.owner_token}"}, BOOKING_CHANGED,
                         {"businessId": shop.business_id}, wanted=1) as app:
        assert await app.next_line() == {"type": "connected"}
        await wait_for_health(server, subscribers=1)
        # when a booking is made over HTTP
        booking_id = await book(http, shop)
        # then the app receives it, and its client ends cleanly after the one result it wanted
        message = await app.next_line()
        assert message["type"] == "next"
        changed = message["value"]["data"]["bookingChanged"]
        assert (changed["__typename"], changed["kind"], [b["id"] for b in changed["bookings"]]) == (
            "BookingChanged", "CREATED", [booking_id])
        assert await asyncio.wait_for(app.process.wait(), 15) == 0


async def test_the_front_end_client_runs_a_query_over_the_socket(server: str, http: GraphQLClient) -> None:
    shop = await given_shop(http)
    async with js_client(server, {"authorization": shop.owner_token}, "query { viewer { role } }", {},
                         wanted=1) as app:
        assert await app.next_line() == {"type": "connected"}
        assert await app.next_line() == {"type": "next", "value": {"data": {"viewer": {"role": "OWNER"}}}}


async def test_an_anonymous_front_end_is_refused_bookings_and_hears_nothing_more(server: str,
                                                                                 http: GraphQLClient) -> None:
    # given an app with no token subscribing to a business's bookings
    shop = await given_shop(http)
    async with js_client(server, {}, BOOKING_CHANGED, {"businessId": shop.business_id}, wanted=2) as app:
        assert await app.next_line() == {"type": "connected"}
        # then it gets one typed refusal, and the subscription completes
        refused = await app.next_line()
        assert refused["value"]["data"]["bookingChanged"]["__typename"] == "NotAuthorized"
        assert await app.next_line() == {"type": "complete"}
        # and no subscriber was ever registered for it
        assert (await health(server))["subscribers"] == 0
