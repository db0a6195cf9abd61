"""Cached slot answers through the API: every change to a schedule shows in the very next answer."""

from __future__ import annotations

from typing import Any

from tests.resolvers.test_availability import MORNING, SLOTS, starts
from tests.resolvers.test_bookings import CANCEL, MONDAY, RESCHEDULE, at, utc
from tests.support.graphql import CREATE_BOOKING, GraphQLClient, Shop, api_with, given_shop

BLOCK = """mutation($input: BlockTimeInput!) { blockTime(input: $input) { __typename ... on BusyBlock { id } } }"""
UNBLOCK = """mutation($input: RemoveBlockedTimeInput!) { removeBlockedTime(input: $input) { __typename } }"""
HOURS = """mutation($input: SetWorkingHoursInput!) { setWorkingHours(input: $input) { __typename } }"""
OVERRIDE = """mutation($input: AddScheduleOverrideInput!) { addScheduleOverride(input: $input) { __typename
  ... on ScheduleOverride { id } } }"""
UNOVERRIDE = """mutation($input: RemoveScheduleOverrideInput!) { removeScheduleOverride(input: $input) {
  __typename } }"""
MORNING_STARTS = [utc(9), utc(9, 30), utc(10), utc(10, 30), utc(11)]


async def monday(api: GraphQLClient, shop: Shop) -> list[str]:
    return starts(await api(SLOTS, {"service": shop.service_id, "from": at(0), "to": at(0, day=1), "zone": "UTC"}))


async def cached_morning(api: GraphQLClient) -> Shop:
    """A 09:00-12:00 morning (60-minute service, 30-minute step) whose Monday answer is already cached."""
    shop = await given_shop(api, hours=MORNING)
    assert await monday(api, shop) == MORNING_STARTS
    return shop


async def mutate(api: GraphQLClient, document: str, values: dict[str, Any], token: str) -> dict[str, Any]:
    data: dict[str, Any] = await api(document, {"input": values}, token)
    return next(iter(data.values()))


async def test_a_repeated_query_is_answered_from_the_cache(db: str) -> None:
    async with api_with() as (api, app):
        shop = await cached_morning(api)
        again = await monday(api, shop)
    # then the second answer is the cached whole answer: the first missed it and the staff member's starts
    assert again == MORNING_STARTS
    assert (app.state.slot_cache.misses, app.state.slot_cache.hits, len(app.state.slot_cache)) == (2, 1, 2)


async def test_a_booking_and_its_cancellation_show_at_once(api: GraphQLClient) -> None:
    shop = await cached_morning(api)
    made = await mutate(api, CREATE_BOOKING, {"serviceId": shop.service_id, "startsAt": at(10), "walkIn": True},
                        shop.owner_token)
    booked = await monday(api, shop)
    await mutate(api, CANCEL, {"id": made["booking"]["id"]}, shop.owner_token)
    cancelled = await monday(api, shop)
    assert booked == [utc(9), utc(11)]
    assert cancelled == MORNING_STARTS


async def test_a_rescheduled_booking_shows_at_once(api: GraphQLClient) -> None:
    shop = await cached_morning(api)
    made = await mutate(api, CREATE_BOOKING, {"serviceId": shop.service_id, "startsAt": at(9), "walkIn": True},
                        shop.owner_token)
    assert await monday(api, shop) == [utc(10), utc(10, 30), utc(11)]
    moved = await mutate(api, RESCHEDULE, {"id": made["booking"]["id"], "startsAt": at(11)}, shop.owner_token)
    assert moved["__typename"] == "BookingPayload"
    assert await monday(api, shop) == [utc(9), utc(9, 30), utc(10)]


async def test_blocked_time_and_its_removal_show_at_once(api: GraphQLClient) -> None:
    shop = await cached_morning(api)
    block = await mutate(api, BLOCK, {"staffId": shop.staff_id, "startsAt": at(9), "endsAt": at(10)},
                         shop.owner_token)
    blocked = await monday(api, shop)
    await mutate(api, UNBLOCK, {"id": block["id"]}, shop.owner_token)
    assert blocked == [utc(10), utc(10, 30), utc(11)]
    assert await monday(api, shop) == MORNING_STARTS


async def test_new_working_hours_show_at_once(api: GraphQLClient) -> None:
    shop = await cached_morning(api)
    await mutate(api, HOURS, {"staffId": shop.staff_id, "days": [
        {"weekday": "MONDAY", "ranges": [{"start": "10:00", "end": "11:00"}]}]}, shop.owner_token)
    assert await monday(api, shop) == [utc(10)]


async def test_an_override_and_its_removal_show_at_once(api: GraphQLClient) -> None:
    shop = await cached_morning(api)
    override = await mutate(api, OVERRIDE, {"staffId": shop.staff_id, "date": MONDAY.isoformat(), "ranges": [
        {"start": "11:00", "end": "12:00"}]}, shop.owner_token)
    overridden = await monday(api, shop)
    await mutate(api, UNOVERRIDE, {"id": override["id"]}, shop.owner_token)
    assert overridden == [utc(11)]
    assert await monday(api, shop) == MORNING_STARTS


UPDATE_SERVICE = """mutation($input: UpdateServiceInput!) { updateService(input: $input) { __typename } }"""


async def test_a_changed_service_shows_at_once(api: GraphQLClient) -> None:
    shop = await cached_morning(api)
    await mutate(api, UPDATE_SERVICE, {"id": shop.service_id, "durationMinutes": 120}, shop.owner_token)
    assert await monday(api, shop) == [utc(9), utc(9, 30), utc(10)]
