"""A service's assignment policy and staff priorities through the API, and fair any-staff booking under
concurrent requests."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models import Booking, BookingStatus, Service, StaffPriority
from tests.support.graphql import CREATE_BOOKING, GraphQLClient, api_with, sign_up

# Round the clock, every day, in UTC: every 15-minute start of the first 75 hours of DAY is bookable.
DAY = datetime.combine((datetime.now(UTC) + timedelta(days=10)).date(), datetime.min.time(), tzinfo=UTC)
SLOTS = [(DAY + timedelta(minutes=15 * n)).isoformat() for n in range(300)]

SERVICE_FIELDS = "id assignmentPolicy staffPriorities { staff { id } priority }"
ERRORS = "... on ValidationError { message path } ... on NotFound { message path }"
CREATE_SERVICE = ("mutation($input: CreateServiceInput!) { createService(input: $input) { __typename "
                  f"... on Service {{ {SERVICE_FIELDS} }} {ERRORS} }} }}")
UPDATE_SERVICE = ("mutation($input: UpdateServiceInput!) { updateService(input: $input) { __typename "
                  f"... on Service {{ {SERVICE_FIELDS} }} {ERRORS} }} }}")
SERVICE = f"query($id: ID!) {{ service(id: $id) {{ __typename ... on Service {{ {SERVICE_FIELDS} }} }} }}"


@dataclass
class Team:
    owner_token: str
    business_id: str
    staff_ids: list[str]  # in the order they were created (their ids' order)


async def given_team(api: GraphQLClient) -> Team:
    """A business in UTC with three staff working round the clock."""
    owner = await sign_up(api, "owner@example.com", "OWNER", "Olga Owner")
    token = owner["accessToken"]
    business = await api("""mutation($input: CreateBusinessInput!) { createBusiness(input: $input) {
        ... on Business { id } } }""", {"input": {"name": "Fix-It", "timeZone": "UTC"}}, token)
    business_id = business["createBusiness"]["id"]
    staff_ids = []
    for n in range(3):
        staff = await api("""mutation($input: CreateStaffInput!) { createStaff(input: $input) {
            ... on CreateStaffPayload { staff { id } } } }""", {"input": {
            "businessId": business_id, "name": f"Tech {n}", "email": f"t{n}@example.com", "timeZone": "UTC"}}, token)
        staff_id = staff["createStaff"]["staff"]["id"]
        week = [{"weekday": day, "ranges": [{"start": "00:00", "end": "24:00"}]} for day in (
            "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")]
        await api("""mutation($input: SetWorkingHoursInput!) { setWorkingHours(input: $input) { __typename } }""",
                  {"input": {"staffId": staff_id, "days": week}}, token)
        staff_ids.append(staff_id)
    return Team(token, business_id, staff_ids)


async def create_service(api: GraphQLClient, team: Team, **fields: Any) -> Any:
    data = await api(CREATE_SERVICE, {"input": {"businessId": team.business_id, "name": "Boiler check",
                                                "durationMinutes": 15, "slotStepMinutes": 15,
                                                "staffIds": team.staff_ids, **fields}}, team.owner_token)
    return data["createService"]


def priorities(team: Team, *values: int) -> list[dict[str, Any]]:
    return [{"staff": {"id": staff_id}, "priority": value} for staff_id, value in zip(team.staff_ids, values,
                                                                                       strict=True)]


async def stored_priorities() -> list[tuple[int, int]]:
    return sorted(await StaffPriority.all().values_list("staff_id", "priority"))  # type: ignore[arg-type]


async def test_a_service_is_created_with_a_policy_and_priorities_the_public_does_not_see(api: GraphQLClient) -> None:
    # given a team
    team = await given_team(api)
    # when a PRIORITY service is created giving Tech 1 priority 20 and Tech 2 priority 5
    created = await create_service(api, team, assignmentPolicy="PRIORITY", staffPriorities=[
        {"staffId": team.staff_ids[1], "priority": 20}, {"staffId": team.staff_ids[2], "priority": 5}])
    # then the business sees the policy and every performer's priority, the public only the policy
    assert created == {"__typename": "Service", "id": created["id"], "assignmentPolicy": "PRIORITY",
                       "staffPriorities": priorities(team, 0, 20, 5)}
    public = await api(SERVICE, {"id": created["id"]})
    assert public["service"] == {"__typename": "Service", "id": created["id"], "assignmentPolicy": "PRIORITY",
                                 "staffPriorities": []}


async def test_a_service_without_a_policy_assigns_the_first_available(api: GraphQLClient) -> None:
    team = await given_team(api)
    created = await create_service(api, team)
    assert (created["assignmentPolicy"], created["staffPriorities"]) == ("FIRST_AVAILABLE", priorities(team, 0, 0, 0))


async def test_update_replaces_the_priorities_and_a_staff_member_who_leaves_loses_theirs(api: GraphQLClient) -> None:
    # given a service where Tech 0 has priority 9 and Tech 2 priority 4
    team = await given_team(api)
    created = await create_service(api, team, staffPriorities=[{"staffId": team.staff_ids[0], "priority": 9},
                                                                {"staffId": team.staff_ids[2], "priority": 4}])
    # when its policy becomes BALANCED and its priorities only Tech 1's 3
    data = await api(UPDATE_SERVICE, {"input": {"id": created["id"], "assignmentPolicy": "BALANCED",
                                                "staffPriorities": [{"staffId": team.staff_ids[1], "priority": 3}]}},
                     team.owner_token)
    # then the others are back at 0
    assert data["updateService"]["assignmentPolicy"] == "BALANCED"
    assert data["updateService"]["staffPriorities"] == priorities(team, 0, 3, 0)
    # and when Tech 1 stops performing it and comes back, their priority has gone
    for staff in (team.staff_ids[::2], team.staff_ids):
        data = await api(UPDATE_SERVICE, {"input": {"id": created["id"], "staffIds": staff}}, team.owner_token)
    assert data["updateService"]["staffPriorities"] == priorities(team, 0, 0, 0)
    assert await stored_priorities() == []


async def test_bad_priorities_are_typed_errors_and_change_nothing(api: GraphQLClient) -> None:
    # given a ROUND_ROBIN service performed by Tech 0 and Tech 1, Tech 0 at priority 5
    team = await given_team(api)
    created = await create_service(api, team, assignmentPolicy="ROUND_ROBIN", staffIds=team.staff_ids[:2],
                                   staffPriorities=[{"staffId": team.staff_ids[0], "priority": 5}])
    before = await stored_priorities()
    tech0, tech1, tech2 = team.staff_ids
    cases = {
        "too high": ([{"staffId": tech0, "priority": 101}], {
            "__typename": "ValidationError", "message": "Must be between 0 and 100",
            "path": ["input", "staffPriorities", "0", "priority"]}),
        "negative": ([{"staffId": tech1, "priority": 1}, {"staffId": tech0, "priority": -1}], {
            "__typename": "ValidationError", "message": "Must be between 0 and 100",
            "path": ["input", "staffPriorities", "1", "priority"]}),
        "named twice": ([{"staffId": tech1, "priority": 1}, {"staffId": tech1, "priority": 2}], {
            "__typename": "ValidationError", "message": "Each staff member may be given one priority",
            "path": ["input", "staffPriorities", "1", "staffId"]}),
        "not performing it": ([{"staffId": tech2, "priority": 1}], {
            "__typename": "NotFound", "message": "Staff performing this service not found",
            "path": ["input", "staffPriorities", "0", "staffId"]}),
        "not a staff id": ([{"staffId": created["id"], "priority": 1}], {
            "__typename": "ValidationError", "message": "Not a StaffMember ID",
            "path": ["input", "staffPriorities", "0", "staffId"]}),
    }
    for name, (entries, error) in cases.items():
        # when an update that also changes the policy gives them
        data = await api(UPDATE_SERVICE, {"input": {"id": created["id"], "assignmentPolicy": "PRIORITY",
                                                    "staffPriorities": entries}}, team.owner_token)
        # then it is refused, naming the entry, and neither the policy nor a priority changed
        assert data["updateService"] == error, name
        assert (await Service.get()).assignment_policy == "round_robin", name
        assert await stored_priorities() == before, name
    # and a new service naming staff it is not given is not created
    refused = await create_service(api, team, staffIds=[tech0],
                                   staffPriorities=[{"staffId": tech1, "priority": 1}])
    assert refused["path"] == ["input", "staffPriorities", "0", "staffId"]
    assert await Service.all().count() == 1


async def test_no_more_priorities_than_a_business_may_have_staff(db: str) -> None:
    async with api_with(max_staff_per_business=3) as (api, _app):
        # given a service of a business that may have three staff
        team = await given_team(api)
        created = await create_service(api, team)
        # when an update lists four priorities
        entry = {"staffId": team.staff_ids[0], "priority": 1}
        data = await api(UPDATE_SERVICE, {"input": {"id": created["id"], "staffPriorities": [entry] * 4}},
                         team.owner_token)
    # then the list is refused as a whole, and nothing was stored
    assert data["updateService"] == {"__typename": "ValidationError", "path": ["input", "staffPriorities"],
                                     "message": "Give at most 3 staff priorities"}
    assert await stored_priorities() == []


@pytest.mark.parametrize("policy", ["ROUND_ROBIN", "BALANCED"])
async def test_300_concurrent_any_staff_bookings_are_spread_exactly(api: GraphQLClient, policy: str) -> None:
    # given three free staff and a 15-minute service of this policy
    team = await given_team(api)
    service = await create_service(api, team, assignmentPolicy=policy)

    # when 300 bookings for distinct times, none naming a staff member, are sent twenty at a time (enough to keep
    # every database connection of the app busy, and the rest waiting on the pool's locks)
    in_flight = asyncio.Semaphore(20)

    async def book(start: str) -> str:
        async with in_flight:
            data = await api(CREATE_BOOKING, {"input": {"serviceId": service["id"], "startsAt": start,
                                                        "walkIn": True}}, team.owner_token)
        return str(data["createBooking"]["__typename"])

    outcomes = await asyncio.gather(*(book(start) for start in reversed(SLOTS)))

    # then every one is booked, each tech gets exactly 100, in strict rotation in the order they were booked
    assert Counter(outcomes) == {"BookingPayload": 300}
    holders = await Booking.filter(status=BookingStatus.CONFIRMED).order_by("id").values_list("staff_id", flat=True)
    order = sorted(set(holders))
    positions = [order.index(holder) for holder in holders]
    assert Counter(positions) == {0: 100, 1: 100, 2: 100}
    assert positions == [0, 1, 2] * 100
