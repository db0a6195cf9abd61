"""Every string a client sends is checked once: control characters other than tab and newline are refused with a
typed error naming the field, on every backend, and nothing is written."""

from __future__ import annotations

from models import Booking, ScheduleOverride, Service, User
from tests.resolvers.test_bookings import at
from tests.support.graphql import CREATE_BOOKING, SIGN_UP, GraphQLClient, given_shop, sign_up

ADD_OVERRIDE = """mutation($input: AddScheduleOverrideInput!) { addScheduleOverride(input: $input) { __typename
  ... on ScheduleOverride { note } ... on ValidationError { message path } } }"""


def refusal(code: str, *path: str) -> dict[str, object]:
    return {"__typename": "ValidationError", "path": list(path),
            "message": f"Remove the control character {code}: text may hold tabs and line breaks, but no other "
                       "control characters"}


async def test_a_nul_in_a_mutation_input_is_a_validation_error_and_writes_nothing(api: GraphQLClient) -> None:
    # given a shop and a customer
    shop = await given_shop(api)
    customer = await sign_up(api, "c@example.com")
    users = await User.all().count()
    # when text with a NUL, an escape or a carriage return is sent in several mutations
    override = await api(ADD_OVERRIDE, {"input": {"staffId": shop.staff_id, "date": "2030-01-07", "ranges": [],
                                                  "note": "Hospital\x00"}}, shop.owner_token)
    booking = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(10),
                                                   "customerNotes": "gate \x1b code"}}, customer["accessToken"])
    signup = await api(SIGN_UP, {"input": {"email": "n@example.com", "password": "correct horse battery",
                                           "name": "Nul\r\nName", "role": "CUSTOMER"}})
    # then each names the field, and nothing was stored
    assert override["addScheduleOverride"] == refusal("U+0000", "input", "note")
    assert booking["createBooking"] == refusal("U+001B", "input", "customerNotes")
    assert signup["signUp"] == refusal("U+000D", "input", "name")
    assert await ScheduleOverride.all().count() == 0
    assert await Booking.all().count() == 0
    assert await User.all().count() == users
    # while tabs and line breaks are text like any other
    kept = await api(ADD_OVERRIDE, {"input": {"staffId": shop.staff_id, "date": "2030-01-07", "ranges": [],
                                              "note": "Closed:\n\tinventory"}}, shop.owner_token)
    assert kept["addScheduleOverride"] == {"__typename": "ScheduleOverride", "note": "Closed:\n\tinventory"}


async def test_strings_in_lists_and_query_arguments_are_checked_too(api: GraphQLClient) -> None:
    # given a shop
    shop = await given_shop(api)
    services = await Service.all().count()
    # when a list element, a query argument and a list filter's cursor carry control characters
    created = await api("""mutation($input: CreateServiceInput!) { createService(input: $input) { __typename
        ... on ValidationError { message path } } }""", {"input": {
        "businessId": shop.business_id, "name": "Boiler", "durationMinutes": 30,
        "staffIds": [shop.staff_id, "U3RhZmZNZW1iZXI6MQ\x00"]}}, shop.owner_token)
    slots = await api("""query($s: ID!, $f: DateTime!, $t: DateTime!, $z: String!) { availableSlots(serviceId: $s,
        from: $f, to: $t, timeZone: $z) { __typename ... on ValidationError { message path } } }""",
                      {"s": shop.service_id, "f": at(8), "t": at(18), "z": "Europe/Berlin\x00"})
    listed = await api("""query($after: String) { bookings(after: $after) { __typename
        ... on ValidationError { message path } } }""", {"after": "abc\x00"}, shop.owner_token)
    # then each is refused with its path
    assert created["createService"] == refusal("U+0000", "input", "staffIds", "1")
    assert await Service.all().count() == services
    assert slots["availableSlots"] == refusal("U+0000", "timeZone")
    assert listed["bookings"] == refusal("U+0000", "after")

