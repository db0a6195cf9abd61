"""Google Calendar end to end: a real uvicorn API whose public URL is its own loopback address, a real scheduler and
worker process, Redis, and the fake Google served from a thread. A technician connects by following the OAuth
redirects, a booking reaches Google, an event added in Google blocks its slot and is heard live, and moving the
booking's event in Google moves the booking. Every request to the fake must conform to Google's discovery document.
"""

from __future__ import annotations

import asyncio
import html
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from models import CalendarConnection, WatchChannel
from schema.ids import encode_id
from services.credentials import new_key
from tests.fakes.google import FakeGoogle
from tests.support.end_to_end import (
    BOOKING,
    authorization_url,
    berlin,
    confirmed,
    eventually,
    free_starts,
    landing_page,
)
from tests.support.google_discovery import log_problems
from tests.support.google_service import google_env, sync_processes
from tests.support.graphql import CREATE_BOOKING, GraphQLClient, Shop, given_shop
from tests.support.live import AVAILABILITY_CHANGED, new_channel, socket, wait_for_health
from tests.support.server import free_port, live_server_on

USER = "tech@example.com"


@dataclass
class Service:
    base: str
    google: FakeGoogle
    api: GraphQLClient
    shop: Shop
    return_url: str
    landing_url: str


def timed(start: datetime, minutes: int = 60) -> dict[str, Any]:
    return {"start": {"dateTime": start.isoformat()}, "end": {"dateTime": (start + timedelta(minutes=minutes))
                                                              .isoformat()}}


@pytest.fixture
async def service(db: str, redis_url: str, tmp_path: Path) -> AsyncIterator[Service]:
    """The API, scheduler and worker against the fake Google, and a business built through the API."""
    port = free_port()  # known before anything starts: it is the public URL that Google redirects and notifies to
    base = f"http://127.0.0.1:{port}"
    # Any page of the server stands in for the web app's landing page after connecting.
    return_url = f"{base}/health"
    google = FakeGoogle(user_email=USER, redirect_uris=(f"{base}/oauth/google/callback",))
    with google.running_in_thread(), landing_page() as landing_url:
        env = google_env(google, base, redis_url, new_channel(), new_key(), (return_url, landing_url))
        with live_server_on(port, db, tmp_path, 1, env), sync_processes(db, tmp_path, env):
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                api = GraphQLClient(http)
                yield Service(base, google, api, await given_shop(api), return_url, landing_url)
        problems = log_problems(google.log)
    # every request Lockstep sent to Google, and every answer, is one Google's discovery document describes
    assert problems == []


async def test_a_technician_connects_google_and_both_calendars_stay_in_lockstep(service: Service) -> None:
    google = service.google
    # when the technician opens the consent page with a real HTTP client and follows every redirect
    async with httpx.AsyncClient(follow_redirects=True, timeout=10) as browser:
        landed = await browser.get(await authorization_url(service, "GOOGLE"))
    # then Google sent them to Lockstep's callback, and Lockstep back to the app asking it to confirm
    assert [str(hop.url).split("?")[0] for hop in landed.history] == [
        google.authorize_url, f"{service.base}/oauth/google/callback"]
    assert (landed.status_code, str(landed.url).split("?")[0]) == (200, service.return_url)
    back = parse_qs(urlsplit(str(landed.url)).query)
    assert (sorted(back), back["calendarConnection"]) == (["calendarConnection", "confirmationCode"], ["confirm"])
    assert await CalendarConnection.all().count() == 0
    # when the app confirms, then it sees the account and the connection exists
    shown = await confirmed(service, back["confirmationCode"][0])
    connection = await CalendarConnection.get()
    assert shown == {"__typename": "CalendarConnection", "id": encode_id("CalendarConnection", connection.id),
                     "accountLabel": USER}

    # and the scheduler has a worker open a push channel to the server's own webhook
    async def channel_opened() -> bool:
        return bool(google.channels.watching(USER)) and await WatchChannel.filter(stopped_at=None).exists()

    await eventually(channel_opened, "a push channel of the primary calendar")
    assert [channel.address for channel in google.channels.watching(USER)] == [f"{service.base}/webhooks/google"]

    async with socket(service.base) as visitor:
        feed = visitor.subscribe(AVAILABILITY_CHANGED, {"staffId": service.shop.staff_id})
        await wait_for_health(service.base, subscribers=1)

        # when a walk-in is booked over GraphQL for 10:00 the day after tomorrow
        booked_at = berlin(2, 10)
        data = await service.api(CREATE_BOOKING, {"input": {
            "serviceId": service.shop.service_id, "staffId": service.shop.staff_id,
            "startsAt": booked_at.isoformat(), "walkIn": True}}, service.shop.owner_token)
        booking_id = data["createBooking"]["booking"]["id"]

        # then it appears in the technician's Google calendar
        async def written() -> list[dict[str, Any]]:
            return google.live_events(USER)

        (event,) = await eventually(written, "the booking's event in Google")
        assert (datetime.fromisoformat(event["start"]["dateTime"]),
                datetime.fromisoformat(event["end"]["dateTime"])) == (booked_at, booked_at + timedelta(hours=1))

        # when the technician adds a dentist appointment at 14:00 in Google (the fake notifies the webhook)
        dentist_at = berlin(2, 14)
        assert dentist_at in await free_starts(service, dentist_at, dentist_at + timedelta(hours=1))
        google.insert_by_hand(USER, {"summary": "Dentist", **timed(dentist_at)})

        # then the slot is no longer offered
        async def slot_taken() -> bool:
            return dentist_at not in await free_starts(service, dentist_at, dentist_at + timedelta(hours=1))

        await eventually(slot_taken, "the dentist's slot taken")
        # and the visitor heard exactly where the time was taken (after the booking's own change)
        expected = {"availabilityChanged": {"__typename": "AvailabilityChanged", "staffId": service.shop.staff_id,
                                            "spans": [{"start": dentist_at.isoformat(),
                                                       "end": (dentist_at + timedelta(hours=1)).isoformat()}]}}
        heard = [await feed.next(within=15)]
        while heard[-1] != expected and len(heard) < 5:
            heard.append(await feed.next(within=15))
        assert heard[-1] == expected, heard

    # when the technician drags the booking's event to 16:00 in Google
    moved_to = berlin(2, 16)
    google.update_by_hand(USER, event["id"], timed(moved_to))

    # then the booking follows
    async def booking_moved() -> bool:
        data = await service.api(BOOKING, {"id": booking_id}, service.shop.owner_token)
        return datetime.fromisoformat(data["booking"]["startsAt"]) == moved_to

    await eventually(booking_moved, "the booking moved to 16:00")
    data = await service.api(BOOKING, {"id": booking_id}, service.shop.owner_token)
    assert data["booking"]["status"] == "CONFIRMED"


@pytest.mark.skipif(shutil.which("chromium") is None, reason="headless Chromium is not installed on this machine")
async def test_a_technician_connects_google_in_headless_chromium(service: Service) -> None:
    # when Chromium opens the consent page and follows the redirects (it prints the page it ends on)
    consent_url = await authorization_url(service, "GOOGLE", service.landing_url)
    chromium = shutil.which("chromium")
    assert chromium is not None
    shown = await asyncio.to_thread(subprocess.run, [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", consent_url],
        capture_output=True, text=True, timeout=60, check=True)
    # then it landed on the web app's page with a code to confirm, and nothing is connected yet
    landed = re.search(r"<p id=[\"']?landed[\"']?>([^<]*)</p>", shown.stdout)
    assert landed is not None, shown.stdout
    back = parse_qs(urlsplit(html.unescape(landed.group(1))).query)
    assert back["calendarConnection"] == ["confirm"]
    assert await CalendarConnection.all().count() == 0
    # when the web app confirms, then the connection exists
    assert (await confirmed(service, back["confirmationCode"][0]))["accountLabel"] == USER
    connection = await CalendarConnection.get()
    assert connection.account_label == USER
