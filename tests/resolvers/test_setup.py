"""Setting a business up through the API, and the permission and validation rules around it."""

from __future__ import annotations

from models import Business, BusyBlock, ScheduleOverride, Service, Staff, WorkingHoursRange
from tests.support.graphql import GraphQLClient, given_shop, sign_up

CREATE_BUSINESS = """mutation($input: CreateBusinessInput!) { createBusiness(input: $input) { __typename
  ... on Business { name timeZone } ... on ValidationError { message path } ... on NotAuthorized { message } } }"""
SET_HOURS = """mutation($input: SetWorkingHoursInput!) { setWorkingHours(input: $input) { __typename
  ... on StaffMember { workingHours { weekday ranges { start end } } }
  ... on ValidationError { message path } ... on NotAuthorized { message } } }"""
UPDATE_SERVICE = """mutation($input: UpdateServiceInput!) { updateService(input: $input) { __typename
  ... on Service { name durationMinutes staff { name } } ... on ValidationError { message path }
  ... on NotAuthorized { message } ... on NotFound { path } } }"""


async def test_owner_creates_a_business_in_a_valid_zone(api: GraphQLClient) -> None:
    owner = await sign_up(api, "o@example.com", "OWNER")
    data = await api(CREATE_BUSINESS, {"input": {"name": " Fix-It ", "timeZone": "America/New_York"}},
                     owner["accessToken"])
    assert data["createBusiness"] == {"__typename": "Business", "name": "Fix-It", "timeZone": "America/New_York"}


async def test_an_invalid_zone_is_a_validation_error_that_writes_nothing(api: GraphQLClient) -> None:
    owner = await sign_up(api, "o@example.com", "OWNER")
    data = await api(CREATE_BUSINESS, {"input": {"name": "Fix-It", "timeZone": "Mars/Olympus"}}, owner["accessToken"])
    assert data["createBusiness"] == {
        "__typename": "ValidationError", "path": ["input", "timeZone"],
        "message": "'Mars/Olympus' is not an IANA time zone name (for example Europe/Berlin)"}
    assert await Business.all().count() == 0


async def test_a_business_keeps_the_address_and_phone_its_customers_are_given(api: GraphQLClient) -> None:
    # given an owner
    owner = await sign_up(api, "o@example.com", "OWNER")
    query = CREATE_BUSINESS.replace("... on Business { name timeZone }", "... on Business { name address phone }")
    # when they create a business with an address and a phone number
    data = await api(query, {"input": {"name": "Fix-It", "timeZone": "UTC", "address": " 1 Main St, Springfield ",
                                       "phone": "+1 (555) 010-2030"}}, owner["accessToken"])
    # then both are kept, trimmed
    assert data["createBusiness"] == {"__typename": "Business", "name": "Fix-It", "address": "1 Main St, Springfield",
                                      "phone": "+1 (555) 010-2030"}


async def test_a_phone_that_is_not_one_is_refused_and_nothing_is_created(api: GraphQLClient) -> None:
    owner = await sign_up(api, "o@example.com", "OWNER")
    data = await api(CREATE_BUSINESS, {"input": {"name": "Fix-It", "timeZone": "UTC", "phone": "call me maybe"}},
                     owner["accessToken"])
    assert data["createBusiness"] == {"__typename": "ValidationError", "path": ["input", "phone"],
                                      "message": "Use digits, spaces and + - ( ) . / only"}
    assert await Business.all().count() == 0


async def test_customers_and_anonymous_callers_cannot_create_a_business(api: GraphQLClient) -> None:
    customer = await sign_up(api, "c@example.com")
    as_customer = await api(CREATE_BUSINESS, {"input": {"name": "X", "timeZone": "UTC"}}, customer["accessToken"])
    anonymous = await api(CREATE_BUSINESS, {"input": {"name": "X", "timeZone": "UTC"}})
    assert as_customer["createBusiness"] == {"__typename": "NotAuthorized",
                                             "message": "Only owner accounts may do this"}
    assert anonymous["createBusiness"] == {"__typename": "NotAuthorized", "message": "Sign in first"}
    assert await Business.all().count() == 0


async def test_working_hours_are_replaced_and_read_back_in_order(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    data = await api(SET_HOURS, {"input": {"staffId": shop.staff_id, "days": [
        {"weekday": "TUESDAY", "ranges": [{"start": "13:00", "end": "24:00"}, {"start": "08:00", "end": "12:00"}]},
        {"weekday": "MONDAY", "ranges": [{"start": "09:00", "end": "12:00"}, {"start": "12:00", "end": "17:00"}]},
    ]}}, shop.owner_token)
    assert data["setWorkingHours"]["workingHours"] == [
        {"weekday": "MONDAY", "ranges": [{"start": "09:00", "end": "12:00"}, {"start": "12:00", "end": "17:00"}]},
        {"weekday": "TUESDAY", "ranges": [{"start": "08:00", "end": "12:00"}, {"start": "13:00", "end": "24:00"}]},
    ]


async def test_overlapping_or_empty_ranges_are_rejected_and_old_hours_kept(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    before = await WorkingHoursRange.all().count()
    overlapping = await api(SET_HOURS, {"input": {"staffId": shop.staff_id, "days": [
        {"weekday": "MONDAY", "ranges": [{"start": "09:00", "end": "12:00"}, {"start": "11:00", "end": "17:00"}]}]}},
        shop.owner_token)
    empty_range = await api(SET_HOURS, {"input": {"staffId": shop.staff_id, "days": [
        {"weekday": "MONDAY", "ranges": [{"start": "09:00", "end": "09:00"}]}]}}, shop.owner_token)
    bad_clock = await api(SET_HOURS, {"input": {"staffId": shop.staff_id, "days": [
        {"weekday": "MONDAY", "ranges": [{"start": "9am", "end": "17:00"}]}]}}, shop.owner_token)
    assert overlapping["setWorkingHours"] == {"__typename": "ValidationError", "path": ["input", "days", "0", "ranges",
                                              "1"], "message": "This range overlaps another range of the same day"}
    assert empty_range["setWorkingHours"] == {"__typename": "ValidationError", "message":
                                              "The end must differ from the start (00:00 to 24:00 is the whole day)",
                                              "path": ["input", "days", "0", "ranges", "0", "end"]}
    assert bad_clock["setWorkingHours"]["path"] == ["input", "days", "0", "ranges", "0", "start"]
    assert await WorkingHoursRange.all().count() == before == 7


async def test_a_customer_cannot_change_staff_hours(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    customer = await sign_up(api, "c@example.com")
    data = await api(SET_HOURS, {"input": {"staffId": shop.staff_id, "days": []}}, customer["accessToken"])
    assert data["setWorkingHours"] == {"__typename": "NotAuthorized",
                                       "message": "Only owner or staff accounts may do this"}
    assert await WorkingHoursRange.all().count() == 7


async def test_another_business_owner_cannot_touch_this_staff(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    other = await sign_up(api, "other-owner@example.com", "OWNER")
    data = await api(SET_HOURS, {"input": {"staffId": shop.staff_id, "days": []}}, other["accessToken"])
    assert data["setWorkingHours"] == {"__typename": "NotAuthorized",
                                       "message": "Only the owner or this staff member may change this schedule"}
    assert await WorkingHoursRange.all().count() == 7


async def test_update_service_changes_fields_and_staff(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    data = await api(UPDATE_SERVICE, {"input": {"id": shop.service_id, "name": "Deluxe check", "durationMinutes": 90,
                                                "staffIds": []}}, shop.owner_token)
    assert data["updateService"] == {"__typename": "Service", "name": "Deluxe check", "durationMinutes": 90,
                                     "staff": []}


async def test_update_service_with_bad_values_or_unknown_ids_changes_nothing(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    zero = await api(UPDATE_SERVICE, {"input": {"id": shop.service_id, "durationMinutes": 0}}, shop.owner_token)
    colour = await api(UPDATE_SERVICE, {"input": {"id": shop.service_id, "colour": "red"}}, shop.owner_token)
    unknown_staff = await api(UPDATE_SERVICE, {"input": {"id": shop.service_id, "staffIds": ["U3RhZmZNZW1iZXI6OTk5"]}},
                              shop.owner_token)
    wrong_type = await api(UPDATE_SERVICE, {"input": {"id": shop.staff_id, "name": "x"}}, shop.owner_token)
    assert zero["updateService"] == {"__typename": "ValidationError", "message": "Must be between 1 and 1440",
                                     "path": ["input", "durationMinutes"]}
    assert colour["updateService"]["path"] == ["input", "colour"]
    assert unknown_staff["updateService"] == {"__typename": "NotFound", "path": ["input", "staffIds", "0"]}
    assert wrong_type["updateService"] == {"__typename": "ValidationError", "message": "Not a Service ID",
                                           "path": ["input", "id"]}
    service = await Service.get()
    assert (service.name, service.duration_minutes, service.colour) == ("Boiler check", 60, "#4f46e5")
    assert [s.id for s in await service.staff.all()] == [(await Staff.get()).id]


async def test_schedule_override_closes_a_day_and_replaces_an_earlier_one(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    query = """mutation($input: AddScheduleOverrideInput!) { addScheduleOverride(input: $input) { __typename
      ... on ScheduleOverride { date closed ranges { start end } note } } }"""
    await api(query, {"input": {"staffId": shop.staff_id, "date": "2026-12-24",
                                "ranges": [{"start": "09:00", "end": "12:00"}]}}, shop.owner_token)
    data = await api(query, {"input": {"staffId": shop.staff_id, "date": "2026-12-24", "ranges": [],
                                       "note": "Holiday"}}, shop.owner_token)
    assert data["addScheduleOverride"] == {"__typename": "ScheduleOverride", "date": "2026-12-24", "closed": True,
                                           "ranges": [], "note": "Holiday"}
    assert await ScheduleOverride.all().count() == 1


async def test_blocked_time_that_ends_before_it_starts_is_rejected_and_not_stored(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    data = await api("""mutation($input: BlockTimeInput!) { blockTime(input: $input) { __typename
        ... on ValidationError { message path } } }""", {"input": {
        "staffId": shop.staff_id, "startsAt": "2030-01-07T12:00:00+01:00", "endsAt": "2030-01-07T11:00:00+01:00"}},
        shop.owner_token)
    assert data["blockTime"] == {"__typename": "ValidationError", "message": "The end must be after the start",
                                 "path": ["input", "endsAt"]}
    assert await BusyBlock.all().count() == 0


async def test_staff_with_an_invalid_zone_or_email_is_not_created(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    query = """mutation($input: CreateStaffInput!) { createStaff(input: $input) { __typename
        ... on ValidationError { path } } }"""
    zone = await api(query, {"input": {"businessId": shop.business_id, "name": "Al", "email": "al@example.com",
                                       "timeZone": "Europe/Atlantis"}}, shop.owner_token)
    email = await api(query, {"input": {"businessId": shop.business_id, "name": "Al", "email": "not-an-email",
                                        "timeZone": "UTC"}}, shop.owner_token)
    assert zone["createStaff"] == {"__typename": "ValidationError", "path": ["input", "timeZone"]}
    assert email["createStaff"] == {"__typename": "ValidationError", "path": ["input", "email"]}
    assert await Staff.all().count() == 1


async def test_an_override_with_overlapping_ranges_is_rejected(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    data = await api("""mutation($input: AddScheduleOverrideInput!) { addScheduleOverride(input: $input) {
        __typename ... on ValidationError { path } } }""", {"input": {"staffId": shop.staff_id, "date": "2030-01-07",
        "ranges": [{"start": "09:00", "end": "13:00"}, {"start": "12:00", "end": "14:00"}]}}, shop.owner_token)
    assert data["addScheduleOverride"] == {"__typename": "ValidationError", "path": ["input", "ranges", "1"]}
    assert await ScheduleOverride.all().count() == 0


async def test_a_missing_business_and_someone_elses_answer_alike(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    other = await sign_up(api, "other-owner@example.com", "OWNER")
    query = """mutation($input: CreateStaffInput!) { createStaff(input: $input) { __typename
        ... on NotAuthorized { message } } }"""
    staff = {"name": "Al", "email": "al@example.com", "timeZone": "UTC"}
    theirs = await api(query, {"input": {"businessId": shop.business_id, **staff}}, other["accessToken"])
    missing = await api(query, {"input": {"businessId": "QnVzaW5lc3M6OTk5", **staff}}, other["accessToken"])
    assert theirs == missing == {"createStaff": {"__typename": "NotAuthorized",
                                                 "message": "Only the business owner may do this"}}
    assert await Staff.all().count() == 1
