"""What a service shows customers (price, description, image) and archiving it, through the API."""

from __future__ import annotations

from models import Booking, BookingStatus, Service
from tests.support.graphql import GraphQLClient, given_shop, sign_up
from tests.support.management import SLOTS, at, book, join

CREATE_SERVICE = """mutation($input: CreateServiceInput!) { createService(input: $input) { __typename
  ... on Service { name price { amountMinor currency minorUnitDigits } description imageUrl archived }
  ... on ValidationError { message path } } }"""
UPDATE_SERVICE = """mutation($input: UpdateServiceInput!) { updateService(input: $input) { __typename
  ... on Service { price { amountMinor currency minorUnitDigits } description imageUrl }
  ... on ValidationError { message path } } }"""
ARCHIVE = """mutation($input: ArchiveServiceInput!) { archiveService(input: $input) { __typename
  ... on Service { name archived } ... on NotAuthorized { message } ... on NotFound { message path } } }"""
SERVICES = """query($id: ID!) { business(id: $id) { ... on Business { services { name archived } } } }"""


async def _catalogue(service_id: int) -> tuple[object, ...]:
    row = await Service.get(id=service_id)
    return row.price_minor, row.currency, row.description, row.image_url, row.archived_at


async def test_a_service_is_created_with_a_price_a_description_and_an_image(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    created = await api(CREATE_SERVICE, {"input": {
        "businessId": shop.business_id, "name": "Sushi course", "durationMinutes": 120,
        "price": {"amountMinor": 12000, "currency": "JPY"}, "description": "  Two hours.\nKnives provided.  ",
        "imageUrl": "https://cdn.example.com/sushi.jpg"}}, shop.owner_token)
    assert created["createService"] == {
        "__typename": "Service", "name": "Sushi course",
        "price": {"amountMinor": 12000, "currency": "JPY", "minorUnitDigits": 0},
        "description": "Two hours.\nKnives provided.", "imageUrl": "https://cdn.example.com/sushi.jpg",
        "archived": False}
    # and one created without them shows no price, no description and no image
    plain = await api(CREATE_SERVICE, {"input": {"businessId": shop.business_id, "name": "Tea", "durationMinutes": 30}},
                      shop.owner_token)
    assert plain["createService"] == {"__typename": "Service", "name": "Tea", "price": None, "description": "",
                                      "imageUrl": None, "archived": False}


async def test_a_price_left_out_stays_a_new_one_replaces_it_and_null_removes_it(api: GraphQLClient) -> None:
    # given a service priced 49.90 EUR
    shop = await given_shop(api)
    await api(UPDATE_SERVICE, {"input": {"id": shop.service_id, "price": {"amountMinor": 4990, "currency": "EUR"}}},
              shop.owner_token)
    # when only its description changes, then the price stays
    described = await api(UPDATE_SERVICE, {"input": {"id": shop.service_id, "description": "Yearly check"}},
                          shop.owner_token)
    assert described["updateService"] == {"__typename": "Service", "description": "Yearly check", "imageUrl": None,
                                          "price": {"amountMinor": 4990, "currency": "EUR", "minorUnitDigits": 2}}
    # when a price in Kuwaiti dinars is given, then it replaces the first
    dinars = await api(UPDATE_SERVICE, {"input": {"id": shop.service_id, "price": {"amountMinor": 15250,
                                                                                   "currency": "KWD"}}},
                       shop.owner_token)
    assert dinars["updateService"]["price"] == {"amountMinor": 15250, "currency": "KWD", "minorUnitDigits": 3}
    # when the price is null, then the service shows none (and the description stays)
    removed = await api(UPDATE_SERVICE, {"input": {"id": shop.service_id, "price": None}}, shop.owner_token)
    assert removed["updateService"] == {"__typename": "Service", "price": None, "description": "Yearly check",
                                        "imageUrl": None}


async def test_bad_prices_descriptions_and_images_are_refused_and_nothing_changes(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    await api(UPDATE_SERVICE, {"input": {"id": shop.service_id, "price": {"amountMinor": 4990, "currency": "EUR"}}},
              shop.owner_token)
    service = await Service.get()
    before = await _catalogue(service.id)
    cases: list[tuple[dict[str, object], list[str], str]] = [
        ({"price": {"amountMinor": 100, "currency": "eur"}}, ["input", "price", "currency"],
         "'eur' is not an ISO 4217 currency code (for example EUR or USD)"),
        ({"price": {"amountMinor": 100, "currency": "XAU"}}, ["input", "price", "currency"],
         "'XAU' is not an ISO 4217 currency code (for example EUR or USD)"),
        ({"price": {"amountMinor": -1, "currency": "EUR"}}, ["input", "price", "amountMinor"],
         "Must be between 0 and 1000000000"),
        ({"price": {"amountMinor": 1_000_000_001, "currency": "EUR"}}, ["input", "price", "amountMinor"],
         "Must be between 0 and 1000000000"),
        ({"description": "x" * 2001}, ["input", "description"], "Use at most 2000 characters"),
        ({"description": "bell\u0007"}, ["input", "description"],
         "Remove the control character U+0007: text may hold tabs and line breaks, but no other control characters"),
        ({"imageUrl": "http://cdn.example.com/a.jpg"}, ["input", "imageUrl"],
         "Give an https:// address of at most 2000 characters"),
        ({"imageUrl": "https://cdn.example.com/" + "a" * 2000}, ["input", "imageUrl"],
         "Give an https:// address of at most 2000 characters"),
    ]
    for change, path, message in cases:
        answer = await api(UPDATE_SERVICE, {"input": {"id": shop.service_id, "name": "Renamed", **change}},
                           shop.owner_token)
        assert answer["updateService"] == {"__typename": "ValidationError", "path": path, "message": message}, change
    assert await _catalogue(service.id) == before
    assert (await Service.get()).name == "Boiler check"


async def test_an_archived_service_offers_no_slots_takes_no_bookings_and_keeps_its_bookings(
        api: GraphQLClient) -> None:
    # given a service with a booking
    shop = await given_shop(api, step=60)
    customer = (await sign_up(api, "c@example.com"))["accessToken"]
    booked = await book(api, shop, at(10), token=customer)
    # when the owner archives it
    archived = await api(ARCHIVE, {"input": {"id": shop.service_id}}, shop.owner_token)
    assert archived["archiveService"] == {"__typename": "Service", "name": "Boiler check", "archived": True}
    # then availability says it is no longer offered
    slots = await api(SLOTS, {"serviceId": shop.service_id, "from": at(0), "to": at(0, day=1)})
    assert slots["availableSlots"] == {"__typename": "ServiceArchived", "message": "This service is no longer offered",
                                       "path": ["serviceId"]}
    # and a new booking is refused, for the customer and the business alike, and nothing is written
    assert await book(api, shop, at(12), token=customer) == {
        "__typename": "ServiceArchived", "message": "This service is no longer offered", "path": ["input", "serviceId"]}
    assert (await book(api, shop, at(13)))["__typename"] == "ServiceArchived"
    assert await Booking.all().count() == 1
    # and the booking made before stays confirmed
    assert (await Booking.get()).status == BookingStatus.CONFIRMED
    assert booked["__typename"] == "BookingPayload"
    # and the business's public listing leaves it out, while its owner sees it archived
    assert (await api(SERVICES, {"id": shop.business_id}))["business"]["services"] == []
    assert (await api(SERVICES, {"id": shop.business_id}, shop.owner_token))["business"]["services"] == [
        {"name": "Boiler check", "archived": True}]


async def test_an_archived_service_is_offered_again_with_archived_false(api: GraphQLClient) -> None:
    shop = await given_shop(api, step=60)
    await api(ARCHIVE, {"input": {"id": shop.service_id}}, shop.owner_token)
    # archiving twice keeps the first time it was archived
    first = (await Service.get()).archived_at
    await api(ARCHIVE, {"input": {"id": shop.service_id}}, shop.owner_token)
    assert (await Service.get()).archived_at == first
    # when it is unarchived, then it offers slots and takes bookings again
    again = await api(ARCHIVE, {"input": {"id": shop.service_id, "archived": False}}, shop.owner_token)
    assert again["archiveService"] == {"__typename": "Service", "name": "Boiler check", "archived": False}
    slots = await api(SLOTS, {"serviceId": shop.service_id, "from": at(0), "to": at(0, day=1)})
    assert [slot["start"] for slot in slots["availableSlots"]["slots"]][:2] == [at(9), at(10)]
    assert (await book(api, shop, at(9)))["__typename"] == "BookingPayload"


async def test_only_the_owner_archives_a_service(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    staff_token = await join(api, shop.staff_invite)
    other_owner = (await sign_up(api, "other@example.com", "OWNER"))["accessToken"]
    assert (await api(ARCHIVE, {"input": {"id": shop.service_id}}, staff_token))["archiveService"] == {
        "__typename": "NotAuthorized", "message": "Only owner accounts may do this"}
    assert (await api(ARCHIVE, {"input": {"id": shop.service_id}}, other_owner))["archiveService"] == {
        "__typename": "NotAuthorized", "message": "Only the business owner may do this"}
    assert (await api(ARCHIVE, {"input": {"id": "U2VydmljZTo5OTk"}}, shop.owner_token))["archiveService"] == {
        "__typename": "NotFound", "message": "Service not found", "path": ["input", "id"]}
    assert (await Service.get()).archived_at is None
