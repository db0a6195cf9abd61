"""What must not leak: staff schedules' details, other people's accounts, merchant notes."""

from __future__ import annotations

from models import Booking
from tests.resolvers.test_bookings import at
from tests.support.graphql import CREATE_BOOKING, GraphQLClient, given_shop, sign_up


async def test_hours_and_override_notes_are_for_the_business_only(api: GraphQLClient) -> None:
    # given a staff member with a private override note
    shop = await given_shop(api)
    await api("""mutation($input: AddScheduleOverrideInput!) { addScheduleOverride(input: $input) { __typename } }""",
              {"input": {"staffId": shop.staff_id, "date": "2030-01-07", "ranges": [], "note": "Hospital"}},
              shop.owner_token)
    query = """query($id: ID!) { business(id: $id) { ... on Business { staff { name workingHours { weekday }
      scheduleOverrides { note } } } } }"""
    # when the public and the owner look
    public = await api(query, {"id": shop.business_id})
    owner = await api(query, {"id": shop.business_id}, shop.owner_token)
    # then the public sees the name only
    assert public["business"]["staff"] == [{"name": "Sam Tech", "workingHours": [], "scheduleOverrides": []}]
    assert owner["business"]["staff"][0]["scheduleOverrides"] == [{"note": "Hospital"}]
    assert len(owner["business"]["staff"][0]["workingHours"]) == 7


async def test_an_owner_cannot_book_for_a_customer_account_their_business_does_not_know(api: GraphQLClient) -> None:
    # given a customer who never booked with this business
    shop = await given_shop(api)
    stranger = await sign_up(api, "vera@example.com", name="Vera Victim")
    user_id = stranger["user"]["id"]
    # when the owner books "for" that account
    data = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(10),
                                                "customer": {"userId": user_id}}}, shop.owner_token)
    # then the account is not found, and nothing about it is revealed or written
    assert data["createBooking"] == {"__typename": "NotFound", "message": "Customer not found",
                                     "path": ["input", "customer", "userId"]}
    assert "Vera" not in str(data)
    assert await Booking.all().count() == 0
    # but once she has booked there herself, staff may book for her account
    await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(12)}}, stranger["accessToken"])
    again = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(14),
                                                 "customer": {"userId": user_id}}}, shop.owner_token)
    assert again["createBooking"]["booking"]["customerName"] == "Vera Victim"


async def test_customers_never_see_merchant_notes(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    customer = await sign_up(api, "c@example.com")
    created = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(10)}},
                        customer["accessToken"])
    booking_id = created["createBooking"]["booking"]["id"]
    await api("""mutation($input: UpdateBookingNotesInput!) { updateBookingNotes(input: $input) { __typename } }""",
              {"input": {"id": booking_id, "merchantNotes": "Difficult dog"}}, shop.owner_token)
    one = await api("query($id: ID!) { booking(id: $id) { ... on Booking { merchantNotes } } }", {"id": booking_id},
                    customer["accessToken"])
    listed = await api("{ bookings { edges { node { merchantNotes } } } }", token=customer["accessToken"])
    staff_view = await api("query($id: ID!) { booking(id: $id) { ... on Booking { merchantNotes } } }",
                           {"id": booking_id}, shop.owner_token)
    assert one["booking"] == {"merchantNotes": None}
    assert listed["bookings"]["edges"] == [{"node": {"merchantNotes": None}}]
    assert staff_view["booking"] == {"merchantNotes": "Difficult dog"}
