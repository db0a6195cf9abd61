"""A token names a user; the database says who they are now: deleted users are nobody, changed roles count at once."""

from __future__ import annotations

from models import Booking, Business, Service, User, UserRole
from services.auth import NO_LONGER_EXISTS
from tests.resolvers.test_bookings import at
from tests.support.graphql import CREATE_BOOKING, GraphQLClient, given_shop, sign_up

CREATE_SERVICE = """mutation($input: CreateServiceInput!) { createService(input: $input) { __typename
  ... on NotAuthorized { message } } }"""
CREATE_BUSINESS = """mutation($input: CreateBusinessInput!) { createBusiness(input: $input) { __typename
  ... on Business { name } ... on NotAuthorized { message } } }"""


async def test_the_token_of_a_deleted_user_is_not_authorized_and_books_nothing(api: GraphQLClient) -> None:
    # given a customer whose account was deleted after their token was issued
    shop = await given_shop(api)
    customer = await sign_up(api, "gone@example.com")
    await User.filter(email="gone@example.com").delete()
    # when the old token books and asks who it is
    booked = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(10)}},
                       customer["accessToken"])
    me = await api("query { viewer { email } }", token=customer["accessToken"])
    # then it is nobody, and nothing was written
    assert booked["createBooking"] == {"__typename": "NotAuthorized", "message": NO_LONGER_EXISTS}
    assert me["viewer"] is None
    assert await Booking.all().count() == 0


async def test_a_role_changed_since_the_token_was_issued_is_the_role_that_counts(api: GraphQLClient) -> None:
    # given an owner demoted to customer, and a customer promoted to owner, both holding their old tokens
    shop = await given_shop(api)
    promoted = await sign_up(api, "new-owner@example.com")
    await User.filter(email="owner@example.com").update(role=UserRole.CUSTOMER)
    await User.filter(email="new-owner@example.com").update(role=UserRole.OWNER)
    services_before = await Service.all().count()
    # when each acts on their old token
    demoted_answer = await api(CREATE_SERVICE, {"input": {"businessId": shop.business_id, "name": "Extra",
                                                          "durationMinutes": 30}}, shop.owner_token)
    promoted_answer = await api(CREATE_BUSINESS, {"input": {"name": "Second", "timeZone": "Europe/Berlin"}},
                                promoted["accessToken"])
    me = await api("query { viewer { role } }", token=shop.owner_token)
    # then the demoted owner is refused (nothing written) and the promoted customer may own a business
    assert demoted_answer["createService"] == {"__typename": "NotAuthorized",
                                               "message": "Only owner accounts may do this"}
    assert await Service.all().count() == services_before
    assert promoted_answer["createBusiness"] == {"__typename": "Business", "name": "Second"}
    assert await Business.filter(name="Second").count() == 1
    assert me["viewer"] == {"role": "CUSTOMER"}
