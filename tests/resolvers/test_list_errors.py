"""Lists answer typed unions like the mutations: not signed in, an expired or invalid token, a bad cursor, `first`
out of range and an ID of the wrong type are members of the answer, never a top-level error with `data: null`."""

from __future__ import annotations

import os
from typing import Any

from models import User
from schema.ids import encode_id
from services.auth import TokenConfig, issue_tokens
from tests.resolvers.test_bookings import at
from tests.support.graphql import CREATE_BOOKING, GraphQLClient, given_shop, sign_up

ERRORS = """... on ValidationError { message path fields { path message } } ... on NotAuthorized { message }
  ... on NotFound { message path }"""
BOOKINGS = f"""query($first: Int!, $after: String, $filter: BookingFilter) {{
  bookings(first: $first, after: $after, filter: $filter) {{ __typename
    ... on BookingConnection {{ edges {{ node {{ id }} }} }} {ERRORS} }} }}"""
MY_BUSINESSES = """{ myBusinesses { __typename ... on BusinessList { businesses { id } }
  ... on NotAuthorized { message } } }"""


async def expired_token(email: str) -> str:
    """An access token of the account signed as the app signs, whose lifetime ended ten seconds ago."""
    user = await User.get(email=email)
    config = TokenConfig(os.environ["LOCKSTEP_JWT_SECRET"], access_seconds=-10, refresh_days=1)
    return (await issue_tokens(user, config)).access_token


def not_authorized(message: str) -> dict[str, Any]:
    return {"__typename": "NotAuthorized", "message": message}


async def test_a_caller_who_is_not_signed_in_is_told_so_in_the_answer(api: GraphQLClient) -> None:
    # given a customer with a booking
    shop = await given_shop(api)
    customer = await sign_up(api, "c@example.com")
    await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(10)}}, customer["accessToken"])
    expired = await expired_token("c@example.com")
    # when the lists are asked for with no token, an expired one and one that is not a token
    answers = [(await api(BOOKINGS, {"first": 20}, token), await api(MY_BUSINESSES, token=token))
               for token in (None, expired, "not-a-jwt")]
    # then each is a typed NotAuthorized saying why, with no GraphQL error
    assert answers == [
        ({"bookings": not_authorized("Sign in first")}, {"myBusinesses": not_authorized("Sign in first")}),
        ({"bookings": not_authorized("access token expired")},
         {"myBusinesses": not_authorized("access token expired")}),
        ({"bookings": not_authorized("access token invalid")},
         {"myBusinesses": not_authorized("access token invalid")})]


async def test_every_invalid_argument_of_bookings_is_reported_at_once(api: GraphQLClient) -> None:
    # given an owner
    shop = await given_shop(api)
    # when bookings is asked for with `first` out of range, a broken cursor and a naive date-time all together
    answer = await api(BOOKINGS, {"first": 101, "after": "not a cursor", "filter": {"from": "2030-01-07T09:00:00"}},
                       shop.owner_token)
    # then one ValidationError lists all three, the first one first
    assert answer["bookings"] == {
        "__typename": "ValidationError", "message": "Ask for between 1 and 100 bookings", "path": ["first"],
        "fields": [{"path": ["first"], "message": "Ask for between 1 and 100 bookings"},
                   {"path": ["filter", "from"],
                    "message": "Give the date-time with its UTC offset, e.g. 2026-05-04T09:00:00+02:00"},
                   {"path": ["after"], "message": "This cursor is not valid"}]}


async def test_wrong_ids_and_bad_arguments_of_bookings_are_reported_together(api: GraphQLClient) -> None:
    # given an owner
    shop = await given_shop(api)
    # when bookings is filtered by a business given a service's ID, with `first` out of range and a broken cursor
    answer = await api(BOOKINGS, {"first": 0, "after": "x", "filter": {"businessId": shop.service_id}},
                       shop.owner_token)
    # then the three are named in one answer
    assert [(field["path"], field["message"]) for field in answer["bookings"]["fields"]] == [
        (["filter", "businessId"], "Not a Business ID"), (["first"], "Ask for between 1 and 100 bookings"),
        (["after"], "This cursor is not valid")]


async def test_ids_of_the_wrong_type_and_unknown_staff_are_typed(api: GraphQLClient) -> None:
    # given an owner
    shop = await given_shop(api)
    # when bookings is filtered by a business given a service's ID and a staff member given a business's,
    wrong = await api(BOOKINGS, {"first": 5, "filter": {"businessId": shop.service_id, "staffId": shop.business_id}},
                      shop.owner_token)
    # and by a staff member that does not exist
    unknown = await api(BOOKINGS, {"first": 5, "filter": {"staffId": encode_id("StaffMember", 999)}},
                        shop.owner_token)
    # then both wrong IDs are named in one ValidationError, and the unknown one is NotFound
    assert wrong["bookings"] == {
        "__typename": "ValidationError", "message": "Not a Business ID", "path": ["filter", "businessId"],
        "fields": [{"path": ["filter", "businessId"], "message": "Not a Business ID"},
                   {"path": ["filter", "staffId"], "message": "Not a StaffMember ID"}]}
    assert unknown["bookings"] == {"__typename": "NotFound", "message": "Staff not found",
                                   "path": ["filter", "staffId"]}
