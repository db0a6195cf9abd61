"""Calendly end to end: a real uvicorn API whose public URL is its own loopback address, a real scheduler and worker,
Redis, and the fake Calendly served from a thread, delivering signed webhooks to the API's real
`/webhooks/calendly`. A technician connects with a personal access token, maps an event type to a service; an
appointment booked at Calendly becomes a booking that takes the slot, a reschedule moves the same booking, a
cancellation frees it, a cancellation in Lockstep reaches Calendly with its reason, a lost delivery is repaired by
the backstop, and a forged delivery changes nothing. Every request to the fake, every answer and every delivery
conforms to Calendly's OpenAPI description.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from models import Booking, BookingStatus, BusyBlock, EventMapping, ImportedAppointment, SyncLogEntry
from schema.ids import decode_id
from services.connection_preview import NO_DESTINATION
from services.credentials import new_key
from tests.fakes.calendly import FakeCalendly
from tests.fakes.calendly_store import EventType
from tests.fakes.calendly_webhooks import signature
from tests.support.calendly import calendly_env
from tests.support.end_to_end import berlin, eventually, free_starts
from tests.support.google_service import sync_processes
from tests.support.graphql import GraphQLClient, Shop, given_shop
from tests.support.server import free_port, live_server_on

CONNECT = """mutation($input: ConnectCalendlyInput!) { connectCalendly(input: $input) { __typename
  ... on CalendlyConnected { webhookUrl webhookRefusal connection { id accountLabel }
                             eventTypes { uri name durationMinutes serviceId } }
  ... on ConnectionCheckFailed { problem message } ... on ValidationError { message path } } }"""
MAP = """mutation($input: MapCalendlyEventTypeInput!) { mapCalendlyEventType(input: $input) { __typename
  ... on CalendlyEventType { uri serviceId } } }"""
BOOKINGS = """query { bookings(first: 20) { ... on BookingConnection { edges { node { id startsAt endsAt status
  source customerName customerEmail customerNotes } } } } }"""
CANCEL = """mutation($input: CancelBookingInput!) { cancelBooking(input: $input) { __typename } }"""
RESCHEDULE = """mutation($input: RescheduleBookingInput!) { rescheduleBooking(input: $input) { __typename
  ... on MovedAtProviderOnly { message rescheduleUrl } } }"""
PREVIEW = """query($c: ID!) { connectionPreview(connectionId: $c) { __typename
  ... on ConnectionPreview { warnings events { startsAt title blocks } } } }"""
SYNC_NOW = """mutation($input: SyncNowInput!) { syncNow(input: $input) { __typename } }"""


@dataclass
class Service:
    base: str
    calendly: FakeCalendly
    api: GraphQLClient
    shop: Shop
    event_type: EventType
    return_url: str = ""  # no OAuth here: nothing to return to


@pytest.fixture
async def service(db: str, redis_url: str, tmp_path: Path) -> AsyncIterator[Service]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    calendly = FakeCalendly()
    calendly.webhooks.retry_delays = (0.05, 0.1, 0.2)
    event_type = calendly.add_event_type(calendly.user, "Boiler check", 60)
    with calendly.running_in_thread():
        env = calendly_env(calendly, base, redis_url, new_key())
        with live_server_on(port, db, tmp_path, 1, env), sync_processes(db, tmp_path, env):
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                api = GraphQLClient(http)
                yield Service(base, calendly, api, await given_shop(api), event_type)
        calendly.assert_conforming()


async def connected(service: Service) -> dict[str, Any]:
    data = await service.api(CONNECT, {"input": {"staffId": service.shop.staff_id,
                                                 "personalAccessToken": service.calendly.personal_token()}},
                             service.shop.owner_token)
    result: dict[str, Any] = data["connectCalendly"]
    return result


async def bookings(service: Service) -> list[dict[str, Any]]:
    data = await service.api(BOOKINGS, {}, service.shop.owner_token)
    return [edge["node"] for edge in data["bookings"]["edges"]]


async def snapshot() -> list[Any]:
    return [sorted(await Booking.all().values_list("id", "status", "starts_at", "version")),
            sorted(await BusyBlock.all().values_list("id", "starts_at")),
            sorted(await ImportedAppointment.all().values_list("id", "event_uri", "active", "booking_id")),
            await SyncLogEntry.exclude(action="backstop").count()]  # the backstop may run at any time


async def test_calendly_appointments_become_bookings_that_move_cancel_and_heal(service: Service) -> None:
    calendly = service.calendly
    # when the technician connects Calendly with a personal access token
    answer = await connected(service)
    # then Calendly delivers to the server's own webhook, and the event type is offered for mapping
    assert answer["__typename"] == "CalendlyConnected", answer
    assert answer["webhookRefusal"] == ""
    assert answer["webhookUrl"].startswith(f"{service.base}/webhooks/calendly?channel=")
    (offered,) = answer["eventTypes"]
    assert (offered["name"], offered["durationMinutes"], offered["serviceId"]) == ("Boiler check", 60, None)
    (subscription,) = calendly.store.subscriptions.values()
    assert subscription.callback_url == answer["webhookUrl"]
    # when the event type is mapped to the shop's service
    mapped = await service.api(MAP, {"input": {"connectionId": answer["connection"]["id"],
                                               "eventTypeUri": offered["uri"], "serviceId": service.shop.service_id}},
                               service.shop.owner_token)
    assert mapped["mapCalendlyEventType"] == {"__typename": "CalendlyEventType", "uri": offered["uri"],
                                              "serviceId": service.shop.service_id}

    # when a customer books it at Calendly for 10:00 the day after tomorrow
    ten = berlin(2, 10)
    booked = calendly.book(service.event_type, ten, {"name": "Ann Lee", "email": "ann@example.org",
                                                      "answers": [("Boiler make?", "Vaillant")]})

    # then it is a Lockstep booking of the service, from Calendly, and the slot is gone
    async def one_booking() -> list[dict[str, Any]]:
        return [row for row in await bookings(service) if row["status"] == "CONFIRMED"]

    (booking,) = await eventually(one_booking, "the Calendly appointment as a booking")
    assert (booking["source"], booking["customerName"], booking["customerEmail"], booking["customerNotes"]) == (
        "CALENDLY", "Ann Lee", "ann@example.org", "Boiler make?: Vaillant")
    assert datetime.fromisoformat(booking["startsAt"]) == ten
    day = (ten - timedelta(hours=2), ten + timedelta(hours=8))
    assert ten not in await free_starts(service, *day)
    # and the connection's preview lists the appointment (its title the staff member's alone) and warns that no
    # calendar Calendly could check holds Lockstep's bookings
    preview = await service.api(PREVIEW, {"c": answer["connection"]["id"]}, service.shop.owner_token)
    shown = preview["connectionPreview"]
    assert [(event["startsAt"], event["title"], event["blocks"]) for event in shown["events"]] == [
        (ten.isoformat(), "Busy", True)]
    assert shown["warnings"] == [NO_DESTINATION]

    # when Lockstep is asked to move it, it refuses with the invitee's reschedule link
    refused = await service.api(RESCHEDULE, {"input": {"id": booking["id"],
                                                       "startsAt": (ten + timedelta(hours=1)).isoformat()}},
                                service.shop.owner_token)
    assert refused["rescheduleBooking"]["__typename"] == "MovedAtProviderOnly"
    assert refused["rescheduleBooking"]["rescheduleUrl"].startswith("https://calendly.com/reschedulings/")

    # when the invitee reschedules to 14:00 at Calendly
    two = berlin(2, 14)
    moved = calendly.reschedule(booked.invitee_uri, two)

    async def at_two() -> list[dict[str, Any]]:
        rows = await one_booking()
        return rows if rows and datetime.fromisoformat(rows[0]["startsAt"]) == two else []

    # then the same booking is at 14:00 (never a cancellation plus a new one), and 10:00 is free again
    (rescheduled,) = await eventually(at_two, "the booking moved to 14:00")
    assert rescheduled["id"] == booking["id"]
    assert len(await bookings(service)) == 1
    free = await free_starts(service, *day)
    assert ten in free and two not in free

    # when the business cancels it in Lockstep, with a reason
    await service.api(CANCEL, {"input": {"id": booking["id"], "reason": "Technician is ill"}},
                      service.shop.owner_token)

    # then Calendly's appointment is cancelled by its host, with that reason
    async def cancelled_at_calendly() -> dict[str, Any] | None:
        event = calendly.store.events[moved.event_uri.rsplit("/", 1)[1]]
        return event.cancellation if event.status == "canceled" else None

    cancellation = await eventually(cancelled_at_calendly, "the cancellation at Calendly")
    assert (cancellation["reason"], cancellation["canceler_type"]) == ("Technician is ill", "host")
    assert two in await free_starts(service, *day)

    # when another appointment is booked and the invitee cancels it at Calendly
    noon = berlin(2, 12)
    second = calendly.book(service.event_type, noon, {"name": "Bo Bell", "email": "bo@example.org"})
    (held,) = await eventually(one_booking, "the second appointment as a booking")
    assert noon not in await free_starts(service, *day)
    calendly.cancel_by_invitee(second.invitee_uri, "Fixed it myself")

    # then the booking is cancelled and the slot free again
    async def second_cancelled() -> bool:
        return not await one_booking()

    await eventually(second_cancelled, "the invitee's cancellation")
    assert noon in await free_starts(service, *day)
    held_pk = decode_id(held["id"])
    assert held_pk is not None and held_pk.pk is not None
    assert (await Booking.get(id=held_pk.pk)).status == BookingStatus.CANCELLED
    # and Lockstep told Calendly nothing back about a cancellation Calendly made itself
    assert (await EventMapping.get(booking_id=held_pk.pk)).state == "unlinked"


async def test_a_lost_delivery_is_repaired_by_the_backstop(service: Service) -> None:
    # given a connected account, its event type not mapped (its appointments are busy time)
    answer = await connected(service)
    # when an appointment's delivery is lost on the way
    service.calendly.webhooks.inject("lost")
    ten = berlin(3, 10)
    service.calendly.book(service.event_type, ten)
    await service.calendly.deliveries_settled()
    assert await BusyBlock.all().count() == 0
    # and the backstop runs ("sync now" makes it due at once)
    await service.api(SYNC_NOW, {"input": {"connectionId": answer["connection"]["id"]}}, service.shop.owner_token)

    # then the appointment blocks its time, as a busy block of the staff member's
    async def blocked() -> list[BusyBlock]:
        return await BusyBlock.all()

    (block,) = await eventually(blocked, "the backstop's repair")
    assert (block.starts_at, block.ends_at) == (ten, ten + timedelta(hours=1))
    assert ten not in await free_starts(service, ten - timedelta(hours=1), ten + timedelta(hours=3))
    assert await SyncLogEntry.filter(action="backstop", outcome="ok").exists()


async def test_a_forged_stale_or_replayed_delivery_changes_nothing(service: Service) -> None:
    # given a connected account whose first appointment was delivered and applied
    answer = await connected(service)
    calendly = service.calendly
    calendly.book(service.event_type, berlin(3, 10))

    async def applied() -> bool:
        return await Booking.exists() or await BusyBlock.exists()

    await eventually(applied, "the first appointment applied")
    await calendly.deliveries_settled()
    (accepted,) = [attempt for attempt in calendly.webhooks.attempts if attempt.status == 200]
    key = next(iter(calendly.store.subscriptions.values())).signing_key
    before = await snapshot()
    url = answer["webhookUrl"]
    moved_body = accepted.body.replace(b'"invitee.created"', b'"invitee.canceled"')
    async with httpx.AsyncClient(timeout=5) as outsider:
        def post(body: bytes, signed: str) -> Any:
            return outsider.post(url, content=body, headers={"Calendly-Webhook-Signature": signed,
                                                              "Content-Type": "application/json"})

        # when the same delivery is replayed at once, then tampered with under its signature, then signed with a
        # key nobody was given, then signed right but 200 seconds ago
        replayed = await post(accepted.body, accepted.signature)
        tampered = await post(moved_body, accepted.signature)
        forged = await post(moved_body, signature("not-the-key", moved_body, int(time.time())))
        stale = await post(moved_body, signature(key, moved_body, int(time.time()) - 200))
    # then the replay is taken as the delivery it copies, the others are refused, and nothing changed
    assert [replayed.status_code, tampered.status_code, forged.status_code, stale.status_code] == [
        200, 401, 401, 401]
    assert await snapshot() == before


async def test_an_organization_wide_connection_books_each_appointment_for_its_host(service: Service) -> None:
    calendly = service.calendly
    # given an organization whose admin is not one of the business's staff and whose member Sam is (by email)
    sam = calendly.add_user("Sam Tech", "SAM@example.com")
    sams_visit = calendly.add_event_type(sam, "Sam's visit", 60)
    # when the admin's token is connected organization-wide on Sam's profile
    data = await service.api(CONNECT, {"input": {"staffId": service.shop.staff_id, "organizationWide": True,
                                                 "personalAccessToken": calendly.personal_token()}},
                             service.shop.owner_token)
    answer = data["connectCalendly"]
    assert answer["__typename"] == "CalendlyConnected", answer
    (subscription,) = calendly.store.subscriptions.values()
    assert (subscription.scope, subscription.user) == ("organization", None)
    # and an appointment of Sam's and one of the admin's are booked
    ten, noon = berlin(3, 10), berlin(3, 12)
    calendly.book(sams_visit, ten)
    calendly.book(service.event_type, noon)
    await calendly.deliveries_settled()

    # then Sam's time is taken by his, and the admin's takes nobody's (no host of it is on the staff)
    async def sams_block() -> list[BusyBlock]:
        return await BusyBlock.all()

    (block,) = await eventually(sams_block, "Sam's appointment as busy time")
    assert block.starts_at == ten
    async def skipped() -> bool:
        return await SyncLogEntry.filter(action="appointment", outcome="skipped").exists()

    await eventually(skipped, "the admin's appointment skipped")
    # when the admin is linked to Sam by hand, their next appointment takes Sam's time too
    linked = await service.api("""mutation($input: LinkCalendlyHostInput!) { linkCalendlyHost(input: $input) {
        __typename ... on CalendlyHostLink { hostUri staffId } } }""", {"input": {
        "connectionId": answer["connection"]["id"], "hostUri": calendly.user_uri,
        "staffId": service.shop.staff_id}}, service.shop.owner_token)
    assert linked["linkCalendlyHost"] == {"__typename": "CalendlyHostLink", "hostUri": calendly.user_uri,
                                          "staffId": service.shop.staff_id}
    later = berlin(3, 15)
    calendly.book(service.event_type, later)
    # and the backstop gives the admin's earlier appointment, skipped before the link, to Sam too
    await service.api(SYNC_NOW, {"input": {"connectionId": answer["connection"]["id"]}}, service.shop.owner_token)

    async def three_blocks() -> list[datetime]:
        starts = sorted(block.starts_at for block in await BusyBlock.all())
        return starts if len(starts) == 3 else []

    assert await eventually(three_blocks, "the admin's appointments on Sam's time") == [ten, noon, later]
