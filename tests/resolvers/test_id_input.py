"""IDs from clients: out-of-range keys are not found, and only the one canonical spelling names an object."""

from __future__ import annotations

import base64

from models import Booking
from schema.ids import encode_id
from tests.resolvers.test_bookings import CANCEL, at
from tests.support.graphql import CREATE_BOOKING, GraphQLClient, given_shop, sign_up

READ = """query($id: ID!) { booking(id: $id) { __typename ... on Booking { id }
  ... on NotFound { message path } ... on ValidationError { message path } } }"""


def spelled(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


async def test_ids_beyond_what_the_database_can_hold_are_not_found(api: GraphQLClient) -> None:
    # given a shop and a signed-in customer
    shop = await given_shop(api)
    customer = await sign_up(api, "c@example.com")
    token = customer["accessToken"]
    for key in (2**31, 2**63, 10**30):
        # when the customer names a booking with a key past the 32-bit (PostgreSQL) and 64-bit (SQLite) ranges
        read = await api(READ, {"id": encode_id("Booking", key)}, token)
        cancel = await api(CANCEL, {"input": {"id": encode_id("Booking", key), "scope": "THIS_OCCURRENCE"}}, token)
        slots = await api("""query($s: ID!, $f: DateTime!, $t: DateTime!) { availableSlots(serviceId: $s,
            from: $f, to: $t, timeZone: "UTC") { __typename ... on NotFound { path } } }""",
                          {"s": encode_id("Service", key), "f": at(8), "t": at(18)})
        # then each is an ordinary "not found"
        assert read["booking"] == {"__typename": "NotFound", "message": "Booking not found", "path": ["id"]}, key
        assert cancel["cancelBooking"] == {"__typename": "NotFound", "path": ["input", "id"]}, key
        assert slots["availableSlots"] == {"__typename": "NotFound", "path": ["serviceId"]}, key
    assert await Booking.all().count() == 0
    big = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(10),
                                               "staffId": encode_id("StaffMember", 2**40)}}, token)
    assert big["createBooking"]["__typename"] == "NotFound"
    assert await Booking.all().count() == 0


async def test_look_alike_spellings_of_a_real_id_name_nothing(api: GraphQLClient) -> None:
    # given a booking with key 1 or more (its canonical ID works)
    shop = await given_shop(api)
    customer = await sign_up(api, "c@example.com")
    token = customer["accessToken"]
    created = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(10)}}, token)
    booking = await Booking.get()
    assert (await api(READ, {"id": created["createBooking"]["booking"]["id"]}, token))["booking"]["__typename"] \
        == "Booking"
    key = str(booking.id)
    # when it is named with an underscore, a space, a sign, a leading zero or another script's digits
    look_alikes = [f"{key[:1]}_{key[1:]}" if len(key) > 1 else f"{key}_", f" {key}", f"+{key}", f"0{key}",
                   "".join(chr(0x0660 + int(digit)) for digit in key)]
    for text in look_alikes:
        answer = await api(READ, {"id": spelled(f"Booking:{text}")}, token)
        # then it is not an ID at all
        assert answer["booking"] == {"__typename": "ValidationError", "message": "Not a Booking ID",
                                     "path": ["id"]}, text


async def test_a_booking_cursor_with_a_key_no_row_can_have_is_refused_as_invalid(api: GraphQLClient) -> None:
    # given a customer with a booking, so a list has something to page through
    shop = await given_shop(api)
    customer = await sign_up(api, "c@example.com")
    await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(10)}}, customer["accessToken"])
    query = """query($after: String) { bookings(after: $after) { __typename
      ... on ValidationError { message path } } }"""
    for key in (str(2**31), str(2**63), "1_0", " 1", "0001"):
        # when a cursor names such a key
        cursor = base64.urlsafe_b64encode(f"2030-01-07T09:00:00+00:00|{key}".encode()).decode()
        body = await api(query, {"after": cursor}, customer["accessToken"])
        # then the cursor is refused, not answered with an unexpected error
        assert body["bookings"] == {"__typename": "ValidationError", "message": "This cursor is not valid",
                                    "path": ["after"]}, key
