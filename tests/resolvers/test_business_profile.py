"""A business's details through the API (updateBusiness), and finding it by its public slug (businessBySlug)."""

from __future__ import annotations

from models import Business
from tests.support.graphql import GraphQLClient, given_shop, sign_up
from tests.support.management import join, second_staff

UPDATE_BUSINESS = """mutation($input: UpdateBusinessInput!) { updateBusiness(input: $input) { __typename
  ... on Business { name timeZone address phone slug logoUrl } ... on ValidationError { message path }
  ... on NotAuthorized { message } ... on NotFound { message path } ... on SlugTaken { message path takenSlug } } }"""
BY_SLUG = """query($slug: String!) { businessBySlug(slug: $slug) { __typename
  ... on Business { name slug timeZone address phone logoUrl
                    services { name description imageUrl archived price { amountMinor currency minorUnitDigits } }
                    staff { name photoUrl active workingHours { weekday } } }
  ... on NotFound { message path } } }"""
ARCHIVE = """mutation($input: ArchiveServiceInput!) { archiveService(input: $input) { __typename } }"""
DEACTIVATE = """mutation($input: DeactivateStaffInput!) { deactivateStaff(input: $input) { __typename } }"""
CREATE_SERVICE = """mutation($input: CreateServiceInput!) { createService(input: $input) { __typename
  ... on Service { id } } }"""


async def _details(business_id: int) -> tuple[object, ...]:
    row = await Business.get(id=business_id)
    return row.name, row.time_zone, row.address, row.phone, row.slug, row.logo_url


async def test_the_owner_changes_every_detail_and_a_field_left_out_stays(api: GraphQLClient) -> None:
    # given a shop
    shop = await given_shop(api)
    # when its owner changes its name, zone, address, phone, slug and logo
    changed = await api(UPDATE_BUSINESS, {"input": {
        "id": shop.business_id, "name": " Fix-It Lisbon ", "timeZone": "Europe/Lisbon", "address": "Rua 1, Lisboa",
        "phone": "+351 21 000 0000", "slug": "fix-it-lisbon", "logoUrl": " https://cdn.example.com/logo.png "}},
        shop.owner_token)
    # then all of them are kept, trimmed
    assert changed["updateBusiness"] == {
        "__typename": "Business", "name": "Fix-It Lisbon", "timeZone": "Europe/Lisbon", "address": "Rua 1, Lisboa",
        "phone": "+351 21 000 0000", "slug": "fix-it-lisbon", "logoUrl": "https://cdn.example.com/logo.png"}
    # when only the phone is changed, the rest stays; and empty values clear the address, slug and logo
    phone = await api(UPDATE_BUSINESS, {"input": {"id": shop.business_id, "phone": "+351 21 111 1111"}},
                      shop.owner_token)
    assert phone["updateBusiness"]["slug"] == "fix-it-lisbon"
    cleared = await api(UPDATE_BUSINESS, {"input": {"id": shop.business_id, "address": "", "slug": "",
                                                    "logoUrl": ""}}, shop.owner_token)
    assert cleared["updateBusiness"] == {
        "__typename": "Business", "name": "Fix-It Lisbon", "timeZone": "Europe/Lisbon", "address": "",
        "phone": "+351 21 111 1111", "slug": None, "logoUrl": None}


async def test_bad_details_are_refused_field_by_field_and_nothing_changes(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    business = await Business.get()
    before = await _details(business.id)
    cases = [
        ({"timeZone": "Mars/Olympus"}, ["input", "timeZone"],
         "'Mars/Olympus' is not an IANA time zone name (for example Europe/Berlin)"),
        ({"slug": "Fix-It"}, ["input", "slug"],
         "Use lowercase letters, digits and hyphens, starting and ending with a letter or digit"),
        ({"slug": "ab"}, ["input", "slug"], "Use 3 to 63 characters"),
        ({"slug": "admin"}, ["input", "slug"], "'admin' is reserved; choose another"),
        ({"logoUrl": "http://cdn.example.com/logo.png"}, ["input", "logoUrl"],
         "Give an https:// address of at most 2000 characters"),
        ({"logoUrl": "javascript:alert(1)"}, ["input", "logoUrl"],
         "Give an https:// address of at most 2000 characters"),
        ({"name": "  "}, ["input", "name"], "Must not be empty"),
        ({"phone": "call me"}, ["input", "phone"], "Use digits, spaces and + - ( ) . / only"),
    ]
    for change, path, message in cases:
        # the slug with a valid name beside it: a refused field stops the whole change
        answer = await api(UPDATE_BUSINESS, {"input": {"id": shop.business_id, "name": "Renamed", **change}},
                           shop.owner_token)
        assert answer["updateBusiness"] == {"__typename": "ValidationError", "path": path, "message": message}
    assert await _details(business.id) == before


async def test_a_slug_another_business_has_is_slug_taken_and_changes_nothing(api: GraphQLClient) -> None:
    # given two owners' shops, the first one called fix-it
    first = await given_shop(api)
    second = await given_shop(api, owner_email="second@example.com")
    await api(UPDATE_BUSINESS, {"input": {"id": first.business_id, "slug": "fix-it"}}, first.owner_token)
    second_row = await Business.get(owner__email="second@example.com")
    before = await _details(second_row.id)
    # when the second owner asks for the same slug (with another change)
    taken = await api(UPDATE_BUSINESS, {"input": {"id": second.business_id, "slug": "fix-it", "name": "Other"}},
                      second.owner_token)
    # then it is taken, and the second business is as it was
    assert taken["updateBusiness"] == {"__typename": "SlugTaken", "path": ["input", "slug"], "takenSlug": "fix-it",
                                       "message": "Another business already uses 'fix-it'; choose another"}
    assert await _details(second_row.id) == before
    # and a business may keep (set again) its own slug
    again = await api(UPDATE_BUSINESS, {"input": {"id": first.business_id, "slug": "fix-it"}}, first.owner_token)
    assert again["updateBusiness"]["slug"] == "fix-it"


async def test_only_the_owner_changes_the_business(api: GraphQLClient) -> None:
    # given a shop with a staff member who joined, a customer and another owner
    shop = await given_shop(api)
    staff_token = await join(api, shop.staff_invite)
    customer = (await sign_up(api, "c@example.com"))["accessToken"]
    other_owner = (await sign_up(api, "other@example.com", "OWNER"))["accessToken"]
    before = await _details((await Business.get()).id)
    change = {"input": {"id": shop.business_id, "name": "Taken over", "slug": "taken-over"}}
    # when each of them tries, then none may, and nothing changed
    assert (await api(UPDATE_BUSINESS, change, staff_token))["updateBusiness"] == {
        "__typename": "NotAuthorized", "message": "Only owner accounts may do this"}
    assert (await api(UPDATE_BUSINESS, change, customer))["updateBusiness"] == {
        "__typename": "NotAuthorized", "message": "Only owner accounts may do this"}
    assert (await api(UPDATE_BUSINESS, change))["updateBusiness"] == {
        "__typename": "NotAuthorized", "message": "Sign in first"}
    assert (await api(UPDATE_BUSINESS, change, other_owner))["updateBusiness"] == {
        "__typename": "NotAuthorized", "message": "Only the business owner may do this"}
    assert await _details((await Business.get()).id) == before


async def test_anyone_finds_a_business_by_its_slug_with_public_fields_only(api: GraphQLClient) -> None:
    # given a shop with a slug, a logo, a priced service and an archived one, and a second staff member deactivated
    shop = await given_shop(api)
    await api(UPDATE_BUSINESS, {"input": {"id": shop.business_id, "slug": "fix-it-berlin", "address": "Hauptstr. 1",
                                          "logoUrl": "https://cdn.example.com/logo.png"}}, shop.owner_token)
    await api(CREATE_SERVICE, {"input": {"businessId": shop.business_id, "name": "Deep clean", "durationMinutes": 90,
                                         "price": {"amountMinor": 8950, "currency": "EUR"},
                                         "description": "Descaling and a new seal",
                                         "imageUrl": "https://cdn.example.com/clean.jpg",
                                         "staffIds": [shop.staff_id]}}, shop.owner_token)
    await api(ARCHIVE, {"input": {"id": shop.service_id}}, shop.owner_token)
    kim, _ = await second_staff(api, shop)
    await api(DEACTIVATE, {"input": {"staffId": kim}}, shop.owner_token)
    # when someone not signed in looks the slug up, typed in capitals with spaces around it
    found = await api(BY_SLUG, {"slug": " Fix-It-Berlin "})
    # then they see the business, the service it offers (not the archived one), and the staff taking bookings,
    # without their working hours
    assert found["businessBySlug"] == {
        "__typename": "Business", "name": "Fix-It", "slug": "fix-it-berlin", "timeZone": "Europe/Berlin",
        "address": "Hauptstr. 1", "phone": "", "logoUrl": "https://cdn.example.com/logo.png",
        "services": [{"name": "Deep clean", "description": "Descaling and a new seal",
                      "imageUrl": "https://cdn.example.com/clean.jpg", "archived": False,
                      "price": {"amountMinor": 8950, "currency": "EUR", "minorUnitDigits": 2}}],
        "staff": [{"name": "Sam Tech", "photoUrl": None, "active": True, "workingHours": []}]}
    # and the owner, through the same query, sees everything of theirs
    as_owner = (await api(BY_SLUG, {"slug": "fix-it-berlin"}, shop.owner_token))["businessBySlug"]
    assert [(s["name"], s["archived"]) for s in as_owner["services"]] == [("Boiler check", True),
                                                                          ("Deep clean", False)]
    assert [(s["name"], s["active"], len(s["workingHours"])) for s in as_owner["staff"]] == [
        ("Sam Tech", True, 7), ("Kim Tech", False, 7)]


async def test_a_slug_no_business_has_is_not_found(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    await api(UPDATE_BUSINESS, {"input": {"id": shop.business_id, "slug": "fix-it"}}, shop.owner_token)
    not_found = {"__typename": "NotFound", "message": "Business not found", "path": ["slug"]}
    for slug in ("fix-it-2", "admin", "", "fix_it", "x" * 500):
        assert (await api(BY_SLUG, {"slug": slug}))["businessBySlug"] == not_found, slug
