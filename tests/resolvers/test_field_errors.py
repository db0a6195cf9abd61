"""Validation reports every invalid field of an input at once, in the order checked (the input's, as a rule):
`fields` lists each one's path and message, `message` and `path` repeat the first's, and nothing is written."""

from __future__ import annotations

from typing import Any

from models import Booking, Business, CalendarConnection, Service, Staff, User, WorkingHoursRange
from schema.ids import encode_id
from tests.resolvers.test_bookings import at
from tests.support.graphql import CREATE_BOOKING, GraphQLClient, given_shop, sign_up

FIELDS = "... on ValidationError { message path fields { path message } }"
EMPTY = "Must not be empty"
NOT_A_ZONE = "'Nowhere' is not an IANA time zone name (for example Europe/Berlin)"
NO_OFFSET = "Give the date-time with its UTC offset, e.g. 2026-05-04T09:00:00+02:00"


def refused(*problems: tuple[list[str], str]) -> dict[str, Any]:
    """The ValidationError of these (path, message) problems, the first one first."""
    fields = [{"path": path, "message": message} for path, message in problems]
    return {"__typename": "ValidationError", "message": fields[0]["message"], "path": fields[0]["path"],
            "fields": fields}


def mutation(name: str, input_type: str) -> str:
    return f"""mutation($input: {input_type}!) {{ {name}(input: $input) {{ __typename {FIELDS} }} }}"""


async def test_a_business_with_three_bad_fields_is_refused_with_all_three(api: GraphQLClient) -> None:
    # given an owner with one business
    shop = await given_shop(api)
    # when they create another with no name, an unknown zone and letters for a phone number
    answer = await api(mutation("createBusiness", "CreateBusinessInput"),
                       {"input": {"name": " ", "timeZone": "Nowhere", "phone": "call me"}}, shop.owner_token)
    # then each field is named, and no business was created
    assert answer["createBusiness"] == refused((["input", "name"], EMPTY), (["input", "timeZone"], NOT_A_ZONE),
                                               (["input", "phone"], "Use digits, spaces and + - ( ) . / only"))
    assert await Business.all().count() == 1


async def test_staff_with_a_bad_name_email_and_zone_is_refused_with_all_three(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    answer = await api(mutation("createStaff", "CreateStaffInput"), {"input": {
        "businessId": shop.business_id, "name": "", "email": "not an address", "timeZone": "Nowhere"}},
        shop.owner_token)
    assert answer["createStaff"] == refused((["input", "name"], EMPTY),
                                            (["input", "email"], "Enter a valid email address"),
                                            (["input", "timeZone"], NOT_A_ZONE))
    assert await Staff.all().count() == 1


async def test_a_service_reports_every_bad_number_and_its_colour(api: GraphQLClient) -> None:
    # given a shop
    shop = await given_shop(api)
    # when a service is created with a bad name, duration, buffer, step and colour, and another updated badly
    created = await api(mutation("createService", "CreateServiceInput"), {"input": {
        "businessId": shop.business_id, "name": "", "durationMinutes": 0, "bufferBeforeMinutes": -5,
        "slotStepMinutes": 2, "colour": "red"}}, shop.owner_token)
    updated = await api(mutation("updateService", "UpdateServiceInput"), {"input": {
        "id": shop.service_id, "bookingHorizonDays": 0, "reminderHours": 10_000}}, shop.owner_token)
    # then every field is named in input order, and nothing was created or changed
    assert created["createService"] == refused(
        (["input", "name"], EMPTY), (["input", "durationMinutes"], "Must be between 1 and 1440"),
        (["input", "bufferBeforeMinutes"], "Must be between 0 and 720"),
        (["input", "slotStepMinutes"], "Must be between 5 and 1440"),
        (["input", "colour"], "Use a colour like #1a2b3c"))
    assert updated["updateService"] == refused((["input", "bookingHorizonDays"], "Must be between 1 and 730"),
                                               (["input", "reminderHours"], "Must be between 0 and 720"))
    assert await Service.all().values_list("name", "booking_horizon_days", "reminder_hours") == [
        ("Boiler check", 60, 24)]


async def test_every_malformed_id_of_an_input_is_named_together(api: GraphQLClient) -> None:
    # given a shop
    shop = await given_shop(api)
    # when a service names a service as its business and a business as its second staff member
    answer = await api(mutation("createService", "CreateServiceInput"), {"input": {
        "businessId": shop.service_id, "name": "Boiler", "durationMinutes": 30,
        "staffIds": [shop.staff_id, shop.business_id]}}, shop.owner_token)
    # then both IDs are named
    assert answer["createService"] == refused((["input", "businessId"], "Not a Business ID"),
                                              (["input", "staffIds", "1"], "Not a StaffMember ID"))
    assert await Service.all().count() == 1


async def test_working_hours_report_every_bad_range_and_the_repeated_day(api: GraphQLClient) -> None:
    # given a shop with hours every day
    shop = await given_shop(api)
    before = await WorkingHoursRange.all().count()
    # when a week is set with an empty range, a time that is no time, and Monday twice
    answer = await api(mutation("setWorkingHours", "SetWorkingHoursInput"), {"input": {
        "staffId": shop.staff_id, "days": [
            {"weekday": "MONDAY", "ranges": [{"start": "12:00", "end": "12:00"}, {"start": "9am", "end": "25:00"}]},
            {"weekday": "MONDAY", "ranges": [{"start": "09:00", "end": "17:00"}]}]}}, shop.owner_token)
    # then each is named, and the hours stay as they were
    clock = "Use a 24-hour time like 09:00 (24:00 for the end of the day)"
    assert answer["setWorkingHours"] == refused(
        (["input", "days", "0", "ranges", "0", "end"],
         "The end must differ from the start (00:00 to 24:00 is the whole day)"),
        (["input", "days", "0", "ranges", "1", "start"], clock), (["input", "days", "0", "ranges", "1", "end"], clock),
        (["input", "days", "1", "weekday"], "Each weekday may appear once"))
    assert await WorkingHoursRange.all().count() == before


async def test_blocked_time_names_both_naive_times_and_a_long_title(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    answer = await api(mutation("blockTime", "BlockTimeInput"), {"input": {
        "staffId": shop.staff_id, "startsAt": "2030-01-07T09:00:00", "endsAt": "2030-01-07T10:00:00",
        "title": "x" * 201}}, shop.owner_token)
    assert answer["blockTime"] == refused((["input", "startsAt"], NO_OFFSET), (["input", "endsAt"], NO_OFFSET),
                                          (["input", "title"], "Use at most 200 characters"))


async def test_a_booking_reports_its_start_customer_and_notes_together(api: GraphQLClient) -> None:
    # given a shop
    shop = await given_shop(api)
    # when the owner books with a naive start, a customer with no name and a bad address, and overlong notes
    answer = await api(CREATE_BOOKING.replace("... on ValidationError { message path }", FIELDS), {"input": {
        "serviceId": shop.service_id, "startsAt": "2030-01-07T09:00:00",
        "customer": {"name": "", "email": "cleo at example"}, "customerNotes": "n" * 2001}}, shop.owner_token)
    # then all four are named, and nothing is booked
    assert answer["createBooking"] == refused(
        (["input", "startsAt"], NO_OFFSET), (["input", "customer", "name"], EMPTY),
        (["input", "customer", "email"], "Enter a valid email address"),
        (["input", "customerNotes"], "Use at most 2000 characters"))
    assert await Booking.all().count() == 0


async def test_a_booking_with_a_bad_rule_and_a_bad_note_names_both(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    answer = await api(CREATE_BOOKING.replace("... on ValidationError { message path }", FIELDS), {"input": {
        "serviceId": shop.service_id, "startsAt": at(10), "walkIn": True, "merchantNotes": "m" * 2001,
        "recurrence": "FREQ=HOURLY;COUNT=2"}}, shop.owner_token)
    problems = answer["createBooking"]["fields"]
    assert [problem["path"] for problem in problems] == [["input", "merchantNotes"], ["input", "recurrence"]]
    assert await Booking.all().count() == 0


async def test_a_profile_names_every_bad_field(api: GraphQLClient) -> None:
    # given a customer
    customer = await sign_up(api, "c@example.com")
    # when they set an empty name, letters for a phone and a photo that is not https
    answer = await api(mutation("updateMyProfile", "UpdateMyProfileInput"), {"input": {
        "name": "", "phone": "none", "photoUrl": "http://example.com/me.png"}}, customer["accessToken"])
    # then all three are named and the profile is unchanged
    assert answer["updateMyProfile"] == refused(
        (["input", "name"], EMPTY), (["input", "phone"], "Use digits, spaces and + - ( ) . / only"),
        (["input", "photoUrl"], "Give an https:// address of at most 2000 characters"))
    assert await User.all().values_list("name", "phone", "photo_url") == [("Pat Doe", "", "")]


async def test_signing_up_names_the_address_the_name_and_the_password(api: GraphQLClient) -> None:
    # when someone signs up with a bad address, no name and a password that is too common
    answer = await api(mutation("signUp", "SignUpInput"), {"input": {
        "email": "nobody", "name": " ", "password": "password", "role": "CUSTOMER"}})
    # then all three are named and no account exists
    problems = answer["signUp"]["fields"]
    assert [problem["path"] for problem in problems] == [["input", "email"], ["input", "name"], ["input", "password"]]
    assert problems[:2] == [{"path": ["input", "email"], "message": "Enter a valid email address"},
                            {"path": ["input", "name"], "message": EMPTY}]
    assert await User.all().count() == 0


async def test_a_caldav_account_names_every_bad_field_before_any_server_is_asked(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    answer = await api(mutation("connectCaldav", "CaldavAccountInput"), {"input": {
        "staffId": shop.staff_id, "providerType": "GENERIC", "username": "", "password": " ",
        "serverUrl": "ftp://dav.example.com"}}, shop.owner_token)
    assert answer["connectCaldav"] == refused(
        (["input", "username"], EMPTY), (["input", "password"], EMPTY),
        (["input", "serverUrl"], "Give the server's http:// or https:// address"))
    assert await CalendarConnection.all().count() == 0


async def test_every_control_character_of_a_request_is_named(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    answer = await api(mutation("createBusiness", "CreateBusinessInput"), {"input": {
        "name": "Fix\x00It", "timeZone": "Europe/Berlin", "address": "Main\x07Street"}}, shop.owner_token)
    character = "text may hold tabs and line breaks, but no other control characters"
    assert answer["createBusiness"] == refused(
        (["input", "name"], f"Remove the control character U+0000: {character}"),
        (["input", "address"], f"Remove the control character U+0007: {character}"))
    assert await Business.all().count() == 1


async def test_an_unknown_object_still_answers_not_found_before_its_fields_are_judged(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    answer = await api(mutation("updateService", "UpdateServiceInput").replace(
        "__typename", "__typename ... on NotFound { path }"), {"input": {
            "id": encode_id("Service", 999), "bookingHorizonDays": 0}}, shop.owner_token)
    assert answer["updateService"] == {"__typename": "NotFound", "path": ["input", "id"]}
