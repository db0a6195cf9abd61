"""No double booking, whatever the concurrency: proven through a real server and at the database itself."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from tortoise.exceptions import IntegrityError

from models import Booking, BookingStatus, Business, OutboxEntry, Service, Staff, User
from models.database import is_postgres
from tests.resolvers.test_bookings import at
from tests.support.graphql import CREATE_BOOKING, GraphQLClient, given_shop, sign_up
from tests.support.server import live_server


async def test_fifty_concurrent_overlapping_bookings_exactly_one_wins(db: str, tmp_path: Path) -> None:
    # Two server processes: the races cross processes, so only the database can serialise them.
    with live_server(db, tmp_path, workers=2) as base:
        limits = httpx.Limits(max_connections=60)
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
            # given a shop and five customers, over real HTTP
            api = GraphQLClient(http)
            shop = await given_shop(api)
            tokens = [(await sign_up(api, f"c{n}@example.com"))["accessToken"] for n in range(5)]
            starts = [at(10), at(10, 15), at(10, 30), at(10, 45)]  # pairwise overlapping 60-minute services

            # when 50 requests race for overlapping times
            async def attempt(n: int) -> str:
                data = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id,
                                                            "startsAt": starts[n % len(starts)]}}, tokens[n % 5])
                return str(data["createBooking"]["__typename"])

            outcomes = await asyncio.gather(*(attempt(n) for n in range(50)))

    # then exactly one succeeds and every other one is told the slot is unavailable
    assert sorted(set(outcomes)) == ["BookingPayload", "SlotUnavailable"]
    assert outcomes.count("BookingPayload") == 1
    assert outcomes.count("SlotUnavailable") == 49
    assert await Booking.filter(status=BookingStatus.CONFIRMED).count() == 1
    assert await OutboxEntry.all().count() == 1


async def test_database_rejects_an_overlap_even_past_the_service_layer(db: str) -> None:
    if not is_postgres(db):
        pytest.skip("the exclusion constraint is PostgreSQL's; SQLite relies on the serialised transaction")
    # given a confirmed booking 10:00-11:00 with a 15-minute buffer after, written straight to the table
    owner = await User.create(email="o@example.com", name="O", password_hash="x", role="owner")

    business = await Business.create(name="B", time_zone="UTC", owner=owner)
    staff = await Staff.create(business=business, name="S", email="s@example.com", time_zone="UTC")
    service = await Service.create(business=business, name="Svc", duration_minutes=60)
    start = datetime(2030, 1, 7, 10, tzinfo=UTC)

    def row(begin: datetime, status: BookingStatus = BookingStatus.CONFIRMED) -> dict[str, Any]:
        return dict(business=business, staff=staff, service=service, customer_name="C", starts_at=begin,
                    ends_at=begin + timedelta(hours=1), buffered_start=begin,
                    buffered_end=begin + timedelta(hours=1, minutes=15), status=status, created_by=owner)

    await Booking.create(**row(start))
    # when an overlapping confirmed row is inserted directly, it is refused
    with pytest.raises(IntegrityError):
        await Booking.create(**row(start + timedelta(minutes=70)))
    # while a back-to-back booking and an overlapping cancelled one are allowed
    await Booking.create(**row(start + timedelta(minutes=75)))
    await Booking.create(**row(start + timedelta(minutes=30), BookingStatus.CANCELLED))
    assert await Booking.filter(status=BookingStatus.CONFIRMED).count() == 2


async def test_racing_creates_and_reschedules_never_leave_two_confirmed_bookings_overlapping(
    db: str, tmp_path: Path
) -> None:
    with live_server(db, tmp_path, workers=2) as base:
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=httpx.Limits(max_connections=60)) as http:
            # given two bookings (09:00 and 14:00) and a crowd of customers
            api = GraphQLClient(http)
            shop = await given_shop(api)
            token = (await sign_up(api, "c@example.com"))["accessToken"]
            existing = []
            for hour in (9, 14):
                data = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(hour)}}, token)
                existing.append(data["createBooking"]["booking"]["id"])
            targets = [at(11), at(11, 30), at(12)]
            reschedule = """mutation($input: RescheduleBookingInput!) { rescheduleBooking(input: $input) {
                __typename } }"""

            # when both bookings are moved towards 11:00-13:00 while new bookings race for the same hours
            async def move(n: int) -> str:
                data = await api(reschedule, {"input": {"id": existing[n % 2], "startsAt": targets[n % 3]}}, token)
                return str(data["rescheduleBooking"]["__typename"])

            async def book(n: int) -> str:
                data = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id,
                                                            "startsAt": targets[n % 3]}}, token)
                return str(data["createBooking"]["__typename"])

            outcomes = await asyncio.gather(*(move(n) for n in range(20)), *(book(n) for n in range(20)))

    # then every request got a definite answer and no two confirmed bookings overlap
    assert set(outcomes) <= {"BookingPayload", "SlotUnavailable"}
    rows = await Booking.filter(status=BookingStatus.CONFIRMED).order_by("buffered_start")
    assert len(rows) >= 2
    for earlier, later in itertools.pairwise(rows):
        assert earlier.buffered_end <= later.buffered_start, (earlier.id, later.id)
