"""Bounded work of availableSlots: the cost cap, aliases sharing one budget, the slots cap, the minimum step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models import Service, Staff, WorkingHoursRange
from schema.ids import decode_id, encode_id
from tests.resolvers.test_availability import MORNING, starts
from tests.resolvers.test_bookings import MONDAY, at
from tests.support.graphql import GraphQLClient, api_with, given_shop

SLOTS = """query($service: ID!, $from: DateTime!, $to: DateTime!, $staff: [ID!]) {
  availableSlots(serviceId: $service, from: $from, to: $to, timeZone: "UTC", staffIds: $staff) { __typename
    ... on AvailableSlots { slots { start } }
    ... on SlotQueryTooLarge { message cost budgetLeft maxCost staffCount days startsPerDay maxDays maxStaff }
    ... on TooManySlots { message slotCount maxSlots maxDays } } }"""
MIDNIGHT = datetime(MONDAY.year, MONDAY.month, MONDAY.day, tzinfo=UTC)


def utc_days(days: int) -> dict[str, str]:
    return {"from": MIDNIGHT.isoformat(), "to": (MIDNIGHT + timedelta(days=days)).isoformat()}


async def given_team(api: GraphQLClient, size: int, step: int) -> tuple[str, list[str]]:
    """A service on `step` performed by `size` staff working 09:00-17:00 every day: its ID and the staff IDs."""
    shop = await given_shop(api, step=step, horizon=90)
    service = await Service.get(id=decode_id(shop.service_id).pk)  # type: ignore[union-attr]
    first = await Staff.get()
    for n in range(1, size):
        member = await Staff.create(business_id=first.business_id, name=f"Tech {n}", email=f"t{n}@example.com",
                                    time_zone="Europe/Berlin")
        await WorkingHoursRange.bulk_create([WorkingHoursRange(staff=member, weekday=day, start_minute=540,
                                                               end_minute=1020) for day in range(7)])
        await service.staff.add(member)
    staff = await Staff.all().order_by("id")
    return shop.service_id, [encode_id("StaffMember", member.id) for member in staff]


async def test_the_reported_query_is_refused_with_how_to_narrow_it_and_computes_nothing(db: str) -> None:
    async with api_with() as (api, app):
        # given 40 staff on a 5-minute step (the smallest a service may have)
        service_id, _ = await given_team(api, 40, step=5)
        # when an anonymous visitor asks for 62 days of everyone
        data = await api(SLOTS, {"service": service_id, **utc_days(62)})
        # then the query is refused, saying what it costs and what would fit
        assert data["availableSlots"] == {
            "__typename": "SlotQueryTooLarge", "cost": 714_240, "budgetLeft": 201_600, "maxCost": 201_600,
            "staffCount": 40, "days": 62, "startsPerDay": 288, "maxDays": 17, "maxStaff": 11,
            "message": "This slot query would check 714,240 start times (40 staff x 62 days x 288 starts a day); "
                       "a request may check 201,600. Ask for at most 17 days or at most 11 staff."}
        # and no slot was computed or cached
        assert (len(app.state.slot_cache), app.state.slot_cache.misses) == (0, 0)


async def test_the_defaults_serve_a_month_of_one_technician_and_two_weeks_of_fifty(db: str) -> None:
    async with api_with() as (api, _app):
        service_id, staff = await given_team(api, 50, step=5)
        month_of_one = await api(SLOTS, {"service": service_id, "staff": [staff[0]], **utc_days(31)})
        two_weeks_of_fifty = await api(SLOTS, {"service": service_id, **utc_days(14)})
        one_day_more = await api(SLOTS, {"service": service_id, **utc_days(15)})
    # 09:00-17:00 Berlin on a 5-minute step for a 60-minute service: 85 starts a day
    assert len(starts(month_of_one)) == 31 * 85
    assert len(starts(two_weeks_of_fifty)) == 14 * 85
    assert one_day_more["availableSlots"]["__typename"] == "SlotQueryTooLarge"
    assert (one_day_more["availableSlots"]["maxDays"], one_day_more["availableSlots"]["maxStaff"]) == (14, 46)


async def test_aliases_spend_one_budget(db: str) -> None:
    # given a budget of four one-day queries of one technician on a 5-minute step
    async with api_with(max_slot_query_cost=4 * 288) as (api, _app):
        shop = await given_shop(api, step=5, hours=MORNING)
        fields = '(serviceId: $service, from: $from, to: $to, timeZone: "UTC") { __typename }'
        query = ("query($service: ID!, $from: DateTime!, $to: DateTime!) { "
                 + " ".join(f"a{n}: availableSlots{fields}" for n in range(20)) + " }")
        # when one request selects availableSlots under twenty aliases, twice
        first = await api(query, {"service": shop.service_id, **utc_days(1)})
        second = await api(query, {"service": shop.service_id, **utc_days(1)})
    # then four are answered and sixteen refused, and the next request has a budget of its own
    for answer in (first, second):
        kinds = sorted(result["__typename"] for result in answer.values())
        assert kinds == ["AvailableSlots"] * 4 + ["SlotQueryTooLarge"] * 16


async def test_a_refusal_after_other_selections_counts_what_they_spent(db: str) -> None:
    # given a budget of three days, and two selections of two days each (the one whose lookups finish first spends
    # first, so which of the two is refused may vary; what the refusal says may not)
    async with api_with(max_slot_query_cost=3 * 288) as (api, _app):
        shop = await given_shop(api, step=5, hours=MORNING)
        selection = """availableSlots(serviceId: $service, from: $from, to: $to, timeZone: "UTC") { __typename
            ... on SlotQueryTooLarge { message budgetLeft maxDays } }"""
        query = f"query($service: ID!, $from: DateTime!, $to: DateTime!) {{ one: {selection} two: {selection} }}"
        data = await api(query, {"service": shop.service_id, **utc_days(2)})
    answers = sorted(data.values(), key=lambda answer: answer["__typename"])
    assert answers == [{"__typename": "AvailableSlots"}, {
        "__typename": "SlotQueryTooLarge", "budgetLeft": 288, "maxDays": 1,
        "message": "This slot query would check 576 start times (1 staff x 2 days x 288 starts a day); a request may "
                   "check 864 (576 already spent by this request's other slot queries). Ask for at most 1 day."}]


async def test_an_answer_over_the_slots_cap_is_refused(db: str) -> None:
    async with api_with(max_slots_per_response=6) as (api, _app):
        # given a 09:00-12:00 morning: five starts a day for a 60-minute service on a 30-minute step
        shop = await given_shop(api, hours=MORNING)
        one_day = await api(SLOTS, {"service": shop.service_id, "from": at(0), "to": at(0, day=1)})
        two_days = await api(SLOTS, {"service": shop.service_id, "from": at(0), "to": at(0, day=2)})
    assert len(starts(one_day)) == 5
    assert two_days["availableSlots"] == {
        "__typename": "TooManySlots", "slotCount": 10, "maxSlots": 6, "maxDays": 1,
        "message": "This query has 10 slots; one answer holds at most 6. Ask for at most 1 day or fewer staff."}


CREATE_SERVICE = """mutation($input: CreateServiceInput!) { createService(input: $input) { __typename
  ... on Service { slotStepMinutes } ... on ValidationError { message path } } }"""
UPDATE_SERVICE = """mutation($input: UpdateServiceInput!) { updateService(input: $input) { __typename
  ... on Service { slotStepMinutes } ... on ValidationError { message path } } }"""


async def test_a_service_step_below_five_minutes_is_refused_and_changes_nothing(api: GraphQLClient) -> None:
    shop = await given_shop(api, step=30)
    created = await api(CREATE_SERVICE, {"input": {"businessId": shop.business_id, "name": "Quick look",
                                                   "durationMinutes": 10, "slotStepMinutes": 4}}, shop.owner_token)
    updated = await api(UPDATE_SERVICE, {"input": {"id": shop.service_id, "slotStepMinutes": 1}}, shop.owner_token)
    fine = await api(CREATE_SERVICE, {"input": {"businessId": shop.business_id, "name": "Quick look",
                                                "durationMinutes": 10, "slotStepMinutes": 5}}, shop.owner_token)
    refusal = {"__typename": "ValidationError", "message": "Must be between 5 and 1440"}
    assert created["createService"] == {**refusal, "path": ["input", "slotStepMinutes"]}
    assert updated["updateService"] == {**refusal, "path": ["input", "slotStepMinutes"]}
    assert fine["createService"] == {"__typename": "Service", "slotStepMinutes": 5}
    assert sorted(await Service.all().values_list("slot_step_minutes", flat=True)) == [5, 30]


async def test_the_minimum_step_is_a_setting(db: str) -> None:
    async with api_with(min_slot_step_minutes=15) as (api, _app):
        shop = await given_shop(api, step=30)
        refused = await api(UPDATE_SERVICE, {"input": {"id": shop.service_id, "slotStepMinutes": 10}},
                            shop.owner_token)
        accepted = await api(UPDATE_SERVICE, {"input": {"id": shop.service_id, "slotStepMinutes": 15}},
                             shop.owner_token)
    assert refused["updateService"] == {"__typename": "ValidationError", "message": "Must be between 15 and 1440",
                                        "path": ["input", "slotStepMinutes"]}
    assert accepted["updateService"] == {"__typename": "Service", "slotStepMinutes": 15}
