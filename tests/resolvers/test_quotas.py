"""Quotas of a self-service account and the bounds of every input list, through the real ASGI app."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from models import Business, ScheduleOverride, Service, Staff, WorkingHoursRange
from tests.support.graphql import GraphQLClient, given_shop, sign_up

CREATE_BUSINESS = """mutation($input: CreateBusinessInput!) { createBusiness(input: $input) { __typename
  ... on Business { name } ... on QuotaExceeded { message quota limit } } }"""
CREATE_STAFF = """mutation($input: CreateStaffInput!) { createStaff(input: $input) { __typename
  ... on QuotaExceeded { message quota limit } } }"""
CREATE_SERVICE = """mutation($input: CreateServiceInput!) { createService(input: $input) { __typename
  ... on QuotaExceeded { message quota limit } ... on ValidationError { message path } } }"""
SET_HOURS = """mutation($input: SetWorkingHoursInput!) { setWorkingHours(input: $input) { __typename
  ... on ValidationError { message path } } }"""
ADD_OVERRIDE = """mutation($input: AddScheduleOverrideInput!) { addScheduleOverride(input: $input) { __typename
  ... on ValidationError { message path } } }"""
MARK_READ = """mutation($input: MarkNotificationsReadInput!) { markNotificationsRead(input: $input) { __typename
  ... on ValidationError { message path } } }"""
SLOTS = """query($service: ID!, $staff: [ID!]) { availableSlots(serviceId: $service, from: "2030-01-07T00:00:00Z",
  to: "2030-01-08T00:00:00Z", timeZone: "UTC", staffIds: $staff) { __typename
  ... on ValidationError { message path } } }"""


@pytest.fixture
async def api(db: str) -> AsyncIterator[GraphQLClient]:
    """The real app with small quotas, so reaching them takes a few requests."""
    settings = dataclasses.replace(Settings.from_env(), max_businesses_per_owner=2, max_staff_per_business=3,
                                   max_services_per_business=2, max_ranges_per_day=3)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(settings)),
                                 base_url="http://lockstep.test") as http:
        yield GraphQLClient(http)


def _staff(business_id: str, number: int) -> dict[str, object]:
    return {"input": {"businessId": business_id, "name": f"Tech {number}", "email": f"tech{number}@example.com",
                      "timeZone": "UTC"}}


def _ranges(count: int) -> list[dict[str, str]]:
    return [{"start": f"{hour:02d}:00", "end": f"{hour:02d}:30"} for hour in range(count)]


async def test_an_owner_at_the_business_quota_is_refused_with_the_limit(api: GraphQLClient) -> None:
    # Given an owner with two businesses, the quota
    token = (await sign_up(api, "o@example.com", "OWNER"))["accessToken"]
    for name in ("One", "Two"):
        created = await api(CREATE_BUSINESS, {"input": {"name": name, "timeZone": "UTC"}}, token)
        assert created["createBusiness"] == {"__typename": "Business", "name": name}
    # When they create a third
    third = await api(CREATE_BUSINESS, {"input": {"name": "Three", "timeZone": "UTC"}}, token)
    # Then it is refused with the quota and its limit, and nothing is created
    assert third["createBusiness"] == {
        "__typename": "QuotaExceeded", "quota": "BUSINESSES_PER_OWNER", "limit": 2,
        "message": "The limit is 2 businesses per owner; remove one before adding another"}
    assert sorted(await Business.all().values_list("name", flat=True)) == ["One", "Two"]


async def test_concurrent_staff_invitations_never_pass_the_staff_quota(api: GraphQLClient) -> None:
    # Given a business with one staff member and a quota of three
    shop = await given_shop(api)
    # When five more are invited at once
    results = await asyncio.gather(*(api(CREATE_STAFF, _staff(shop.business_id, n), shop.owner_token)
                                     for n in range(5)))
    # Then exactly two get in and the rest are told the limit
    names = sorted(result["createStaff"]["__typename"] for result in results)
    assert names == ["CreateStaffPayload", "CreateStaffPayload", "QuotaExceeded", "QuotaExceeded", "QuotaExceeded"]
    refused = next(result["createStaff"] for result in results if result["createStaff"]["__typename"] != names[0])
    assert refused == {"__typename": "QuotaExceeded", "quota": "STAFF_PER_BUSINESS", "limit": 3,
                       "message": "The limit is 3 staff per business; remove one before adding another"}
    assert await Staff.all().count() == 3


async def test_a_business_at_the_service_quota_gets_no_more_services(api: GraphQLClient) -> None:
    # Given a business with one service and a quota of two
    shop = await given_shop(api)
    service = {"input": {"businessId": shop.business_id, "name": "Repair", "durationMinutes": 30}}
    assert (await api(CREATE_SERVICE, service, shop.owner_token))["createService"] == {"__typename": "Service"}
    # When a third is created
    third = await api(CREATE_SERVICE, service, shop.owner_token)
    # Then it is refused and the business keeps two
    assert third["createService"] == {
        "__typename": "QuotaExceeded", "quota": "SERVICES_PER_BUSINESS", "limit": 2,
        "message": "The limit is 2 services per business; remove one before adding another"}
    assert await Service.all().count() == 2


async def test_a_service_lists_no_more_staff_than_a_business_may_have(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    service = {"input": {"businessId": shop.business_id, "name": "Repair", "durationMinutes": 30,
                         "staffIds": [shop.staff_id] * 4}}
    refused = await api(CREATE_SERVICE, service, shop.owner_token)
    assert refused["createService"] == {"__typename": "ValidationError", "path": ["input", "staffIds"],
                                        "message": "Give at most 3 staff per service"}
    assert await Service.all().count() == 1


async def test_more_ranges_in_a_day_than_allowed_are_refused_and_old_hours_kept(api: GraphQLClient) -> None:
    # Given a staff member working 09:00-17:00 every day
    shop = await given_shop(api)
    before = sorted(await WorkingHoursRange.all().values_list("weekday", "start_minute", "end_minute"))
    # When Tuesday is given four ranges (three allowed)
    refused = await api(SET_HOURS, {"input": {"staffId": shop.staff_id, "days": [
        {"weekday": "MONDAY", "ranges": _ranges(3)}, {"weekday": "TUESDAY", "ranges": _ranges(4)}]}},
        shop.owner_token)
    # Then the request names that day's list and the hours are as they were
    assert refused["setWorkingHours"] == {"__typename": "ValidationError", "path": ["input", "days", "1", "ranges"],
                                          "message": "Give at most 3 ranges per day"}
    assert sorted(await WorkingHoursRange.all().values_list("weekday", "start_minute", "end_minute")) == before


async def test_a_week_of_more_than_seven_days_is_refused(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    before = await WorkingHoursRange.all().count()
    days = [{"weekday": "MONDAY", "ranges": []}] * 8
    refused = await api(SET_HOURS, {"input": {"staffId": shop.staff_id, "days": days}}, shop.owner_token)
    assert refused["setWorkingHours"] == {"__typename": "ValidationError", "path": ["input", "days"],
                                          "message": "Give at most 7 days (one per weekday)"}
    assert await WorkingHoursRange.all().count() == before == 7


async def test_an_override_with_too_many_ranges_is_refused(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    refused = await api(ADD_OVERRIDE, {"input": {"staffId": shop.staff_id, "date": "2030-01-07",
                                                 "ranges": _ranges(4)}}, shop.owner_token)
    assert refused["addScheduleOverride"] == {"__typename": "ValidationError", "path": ["input", "ranges"],
                                              "message": "Give at most 3 ranges per day"}
    assert await ScheduleOverride.all().count() == 0


async def test_marking_more_than_a_hundred_notifications_at_once_is_refused(api: GraphQLClient) -> None:
    token = (await sign_up(api, "c@example.com"))["accessToken"]
    refused = await api(MARK_READ, {"input": {"ids": ["Tm90aWZpY2F0aW9uOjE="] * 101}}, token)
    assert refused["markNotificationsRead"] == {"__typename": "ValidationError", "path": ["input", "ids"],
                                                "message": "Give at most 100 notifications at once"}


async def test_a_slot_query_names_no_more_staff_than_a_business_may_have(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    refused = await api(SLOTS, {"service": shop.service_id, "staff": [shop.staff_id] * 4})
    assert refused["availableSlots"] == {"__typename": "ValidationError", "path": ["staffIds"],
                                         "message": "Give at most 3 staff (a business has no more)"}


def test_the_quotas_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCKSTEP_MAX_BUSINESSES_PER_OWNER", "7")
    monkeypatch.setenv("LOCKSTEP_MAX_STAFF_PER_BUSINESS", "11")
    monkeypatch.setenv("LOCKSTEP_MAX_SERVICES_PER_BUSINESS", "13")
    monkeypatch.setenv("LOCKSTEP_MAX_RANGES_PER_DAY", "4")
    settings = Settings.from_env()
    assert (settings.max_businesses_per_owner, settings.max_staff_per_business, settings.max_services_per_business,
            settings.max_ranges_per_day) == (7, 11, 13, 4)


def test_without_settings_the_quotas_have_their_documented_defaults() -> None:
    settings = Settings.from_env()
    assert (settings.max_businesses_per_owner, settings.max_staff_per_business, settings.max_services_per_business,
            settings.max_ranges_per_day) == (5, 50, 50, 8)
