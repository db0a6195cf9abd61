"""Microsoft 365 / Outlook end to end: a real uvicorn API whose public URL is its own loopback address, a real
scheduler and worker process, Redis, and the fake identity platform and Graph served from a thread. A technician
connects by following the OAuth redirects, the worker subscribes the calendar (Graph validating the API's webhook), a
booking reaches Outlook with Lockstep's marker and transaction id, an event added in Outlook blocks its slot and is
heard live, moving the booking's event in Outlook moves the booking, and a revoked grant asks for reauthorisation
while the busy time stays. Every request to the fake, every answer and everything it POSTed conforms to Graph's
description.
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
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest

from domain.graph_events import MARKER_PROPERTY_ID
from models import BusyBlock, CalendarConnection, ConnectionHealth, WatchChannel
from providers.microsoft_export import transaction_id_for
from schema.ids import decode_id, encode_id
from services.credentials import new_key
from tests.fakes.microsoft import FakeMicrosoft
from tests.support.end_to_end import (
    BERLIN,
    BOOKING,
    authorization_url,
    berlin,
    confirmed,
    eventually,
    free_starts,
    landing_page,
)
from tests.support.google_service import sync_processes
from tests.support.graph_contract import check_graph_traffic
from tests.support.graphql import CREATE_BOOKING, GraphQLClient, Shop, given_shop
from tests.support.live import AVAILABILITY_CHANGED, new_channel, socket, wait_for_health
from tests.support.microsoft_service import answer_consent, microsoft_env
from tests.support.server import free_port, live_server_on

USER = "tech@contoso.example"
_ACCEPT = re.compile(r'id="accept" href="([^"]+)"')


@dataclass
class Service:
    base: str
    microsoft: FakeMicrosoft
    api: GraphQLClient
    shop: Shop
    return_url: str
    landing_url: str


def timed(start: datetime, minutes: int = 60, subject: str = "Dentist") -> dict[str, Any]:
    """An event as Outlook writes it, in UTC wall-clock times."""
    def wall(moment: datetime) -> dict[str, str]:
        return {"dateTime": moment.replace(tzinfo=None).isoformat(), "timeZone": "UTC"}
    return {"subject": subject, "start": wall(start), "end": wall(start + timedelta(minutes=minutes))}


@pytest.fixture
async def service(db: str, redis_url: str, tmp_path: Path) -> AsyncIterator[Service]:
    """The API, scheduler and worker against the fake Microsoft, and a business built through the API."""
    port = free_port()  # known before anything starts: it is the public URL Microsoft redirects and notifies to
    base = f"http://127.0.0.1:{port}"
    return_url = f"{base}/health"  # any page of the server stands in for the web app's page after connecting
    microsoft = FakeMicrosoft(account=USER, redirect_uris=(f"{base}/oauth/microsoft/callback",))
    with microsoft.running_in_thread(), landing_page() as landing_url:
        env = microsoft_env(microsoft, base, redis_url, new_channel(), new_key(), (return_url, landing_url))
        with live_server_on(port, db, tmp_path, 1, env), sync_processes(db, tmp_path, env):
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                api = GraphQLClient(http)
                yield Service(base, microsoft, api, await given_shop(api), return_url, landing_url)
            await microsoft.notifications_sent()
        problems = check_graph_traffic([*microsoft.log, *microsoft.subscriptions.deliveries])
    # every request Lockstep sent to Microsoft, every answer and every POST of Graph's is one the description allows
    assert problems == [], "\n".join(problems)


async def connect(service: Service) -> CalendarConnection:
    """The technician follows every redirect with a real HTTP client, accepting on Microsoft's consent page."""
    async with httpx.AsyncClient(follow_redirects=True, timeout=10) as browser:
        landed = await answer_consent(browser, await authorization_url(service, "MICROSOFT"))
    # then Microsoft sent them to Lockstep's callback, and Lockstep back to the app asking it to confirm
    assert [str(hop.url).split("?")[0] for hop in landed.history] == [
        service.microsoft.url + "/common/oauth2/v2.0/consent", f"{service.base}/oauth/microsoft/callback"]
    assert (landed.status_code, str(landed.url).split("?")[0]) == (200, service.return_url)
    back = parse_qs(urlsplit(str(landed.url)).query)
    assert (sorted(back), back["calendarConnection"]) == (["calendarConnection", "confirmationCode"], ["confirm"])
    assert await CalendarConnection.all().count() == 0
    shown = await confirmed(service, back["confirmationCode"][0])
    connection = await CalendarConnection.get()
    assert shown == {"__typename": "CalendarConnection", "id": encode_id("CalendarConnection", connection.id),
                     "accountLabel": USER}
    return connection


async def test_a_technician_connects_outlook_and_both_calendars_stay_in_lockstep(service: Service) -> None:
    microsoft = service.microsoft
    calendar_id = microsoft.default_calendar_id()
    connection = await connect(service)

    # and the scheduler has a worker subscribe the default calendar, Graph validating the server's own webhook
    async def subscribed() -> bool:
        return bool(microsoft.subscriptions.live) and await WatchChannel.filter(stopped_at=None).exists()

    await eventually(subscribed, "a subscription of the default calendar")
    (subscription,) = microsoft.subscriptions.live.values()
    assert (subscription.notification_url, subscription.calendar_id) == (f"{service.base}/webhooks/microsoft",
                                                                        calendar_id)

    async with socket(service.base) as visitor:
        feed = visitor.subscribe(AVAILABILITY_CHANGED, {"staffId": service.shop.staff_id})
        await wait_for_health(service.base, subscribers=1)

        # when a walk-in is booked over GraphQL for 10:00 the day after tomorrow
        booked_at = berlin(2, 10)
        data = await service.api(CREATE_BOOKING, {"input": {
            "serviceId": service.shop.service_id, "staffId": service.shop.staff_id,
            "startsAt": booked_at.isoformat(), "walkIn": True}}, service.shop.owner_token)
        booking_id = data["createBooking"]["booking"]["id"]

        # then it appears in the technician's Outlook calendar, with Lockstep's marker and transaction id
        async def written() -> list[Any]:
            return list(microsoft.mailbox().events.values())

        (event,) = await eventually(written, "the booking's event in Outlook")
        booking = decode_id(booking_id)
        assert booking is not None
        marker = f"booking-{booking.pk}@lockstep"
        assert event.extended == [{"id": MARKER_PROPERTY_ID, "value": marker}]
        assert microsoft.mailbox().transactions == {transaction_id_for(marker): event.immutable_id}
        assert (event.properties["start"]["dateTime"][:16], event.properties["end"]["dateTime"][:16]) == (
            booked_at.astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M"),
            (booked_at + timedelta(hours=1)).astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M"))

        # when the technician adds a dentist appointment at 14:00 in Outlook (Graph notifies the webhook)
        dentist_at = berlin(2, 14)
        assert dentist_at in await free_starts(service, dentist_at, dentist_at + timedelta(hours=1))
        microsoft.insert_by_hand(calendar_id, timed(dentist_at))

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

    # when the technician drags the booking's event to 16:00 in Outlook
    moved_to = berlin(2, 16)
    microsoft.update_by_hand(event.immutable_id, timed(moved_to, subject="Boiler check"))

    # then the booking follows
    async def booking_moved() -> bool:
        data = await service.api(BOOKING, {"id": booking_id}, service.shop.owner_token)
        return datetime.fromisoformat(data["booking"]["startsAt"]) == moved_to

    await eventually(booking_moved, "the booking moved to 16:00")
    data = await service.api(BOOKING, {"id": booking_id}, service.shop.owner_token)
    assert data["booking"]["status"] == "CONFIRMED"
    blocks = await BusyBlock.all().values_list("starts_at", "ends_at")
    assert blocks == [(dentist_at, dentist_at + timedelta(hours=1))]

    # when the technician's sessions are revoked, the access token runs out, and the next change is notified
    microsoft.oauth.revoke_all()
    microsoft.oauth.expire_access_tokens()
    microsoft.insert_by_hand(calendar_id, timed(berlin(3, 9), subject="Gym"))

    # then the connection waits for its technician, and the busy time it had stays in force
    async def reauthorization_required() -> bool:
        return (await CalendarConnection.get(id=connection.id)).health == ConnectionHealth.REAUTHORIZATION_REQUIRED

    await eventually(reauthorization_required, "the connection asking to be authorised again")
    assert await BusyBlock.all().values_list("starts_at", "ends_at") == blocks
    assert dentist_at not in await free_starts(service, dentist_at, dentist_at + timedelta(hours=1))


@pytest.mark.skipif(shutil.which("chromium") is None, reason="headless Chromium is not installed on this machine")
async def test_a_technician_connects_outlook_in_headless_chromium(service: Service) -> None:
    # given the consent page the technician signed in to (its Accept button is a link Chromium opens)
    async with httpx.AsyncClient() as http:
        page = await http.get(await authorization_url(service, "MICROSOFT", service.landing_url))
    accept = _ACCEPT.search(page.text)
    assert accept is not None, page.text
    # when Chromium accepts and follows the redirects (it prints the page it ends on)
    chromium = shutil.which("chromium")
    assert chromium is not None
    shown = await asyncio.to_thread(subprocess.run, [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
        urljoin(str(page.url), html.unescape(accept.group(1)))], capture_output=True, text=True, timeout=60,
        check=True)
    # then it landed on the web app's page with a code to confirm, and nothing is connected yet
    landed = re.search(r"<p id=[\"']?landed[\"']?>([^<]*)</p>", shown.stdout)
    assert landed is not None, shown.stdout
    back = parse_qs(urlsplit(html.unescape(landed.group(1))).query)
    assert back["calendarConnection"] == ["confirm"]
    assert await CalendarConnection.all().count() == 0
    # when the web app confirms, then the connection exists
    assert (await confirmed(service, back["confirmationCode"][0]))["accountLabel"] == USER
    assert (await CalendarConnection.get()).account_label == USER
