"""What must not leak: staff schedules' details, other people's accounts, merchant notes."""

from __future__ import annotations

from models import Booking, BusyBlock, ScheduleOverride
from schema.ids import encode_id
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
    listed = await api("{ bookings { ... on BookingConnection { edges { node { merchantNotes } } } } }",
                       token=customer["accessToken"])
    staff_view = await api("query($id: ID!) { booking(id: $id) { ... on Booking { merchantNotes } } }",
                           {"id": booking_id}, shop.owner_token)
    assert one["booking"] == {"merchantNotes": None}
    assert listed["bookings"]["edges"] == [{"node": {"merchantNotes": None}}]
    assert staff_view["booking"] == {"merchantNotes": "Difficult dog"}


ACCEPT_INVITE = """mutation($input: AcceptStaffInviteInput!) { acceptStaffInvite(input: $input) {
    ... on AuthPayload { accessToken } } }"""
BLOCK = """mutation($input: BlockTimeInput!) { blockTime(input: $input) { __typename
    ... on BusyBlock { id title } } }"""
UNBLOCK = """mutation($input: RemoveBlockedTimeInput!) { removeBlockedTime(input: $input) { __typename
    ... on BusyBlock { id title } ... on NotFound { message path } ... on NotAuthorized { message } } }"""
ADD_OVERRIDE = """mutation($input: AddScheduleOverrideInput!) { addScheduleOverride(input: $input) {
    ... on ScheduleOverride { id } } }"""
REMOVE_OVERRIDE = """mutation($input: RemoveScheduleOverrideInput!) { removeScheduleOverride(input: $input) {
    __typename ... on NotFound { message path } ... on NotAuthorized { message } } }"""


async def staff_token_of(api: GraphQLClient, invite: str) -> str:
    accepted = await api(ACCEPT_INVITE, {"input": {"code": invite, "password": "staff pass 123"}})
    return accepted["acceptStaffInvite"]["accessToken"]  # type: ignore[no-any-return]


async def test_every_payload_with_a_block_shows_its_title_only_to_the_staff_member_and_its_author(
    api: GraphQLClient,
) -> None:
    # given a staff member who blocks "Therapy", and an owner who blocks "Lunch" for them
    shop = await given_shop(api)
    staff_token = await staff_token_of(api, shop.staff_invite)
    therapy = await api(BLOCK, {"input": {"staffId": shop.staff_id, "startsAt": at(10), "endsAt": at(11),
                                          "title": "Therapy"}}, staff_token)
    lunch = await api(BLOCK, {"input": {"staffId": shop.staff_id, "startsAt": at(12), "endsAt": at(13),
                                        "title": "Lunch"}}, shop.owner_token)
    # when the owner removes the staff member's block, and the staff member removes the owner's
    removed_by_owner = await api(UNBLOCK, {"input": {"id": therapy["blockTime"]["id"]}}, shop.owner_token)
    removed_by_staff = await api(UNBLOCK, {"input": {"id": lunch["blockTime"]["id"]}}, staff_token)
    # then the owner never sees "Therapy"; each author and the staff member see the real titles
    assert therapy["blockTime"]["title"] == "Therapy"
    assert lunch["blockTime"]["title"] == "Lunch"
    assert removed_by_owner["removeBlockedTime"] == {"__typename": "BusyBlock", "id": therapy["blockTime"]["id"],
                                                     "title": "Busy"}
    assert removed_by_staff["removeBlockedTime"] == {"__typename": "BusyBlock", "id": lunch["blockTime"]["id"],
                                                     "title": "Lunch"}
    assert await BusyBlock.all().count() == 0


async def test_someone_elses_block_or_override_answers_exactly_like_a_missing_one(api: GraphQLClient) -> None:
    # given a block and an override of one shop, and the owner of another shop
    shop = await given_shop(api)
    other = await given_shop(api, owner_email="rival@example.com")
    block = await api(BLOCK, {"input": {"staffId": shop.staff_id, "startsAt": at(10), "endsAt": at(11),
                                        "title": "Therapy"}}, shop.owner_token)
    override = await api(ADD_OVERRIDE, {"input": {"staffId": shop.staff_id, "date": "2030-01-07", "ranges": [],
                                                  "note": "Hospital"}}, shop.owner_token)
    real_block, real_override = block["blockTime"]["id"], override["addScheduleOverride"]["id"]
    before = (await BusyBlock.all().values_list("id", flat=True),
              await ScheduleOverride.all().values_list("id", flat=True))
    # when the rival removes them, and also IDs that are free
    answers = {}
    free_block, free_override = encode_id("BusyBlock", 10**6), encode_id("ScheduleOverride", 10**6)
    for name, block_id, override_id in (("real", real_block, real_override), ("missing", free_block, free_override)):
        answers[name] = (await api(UNBLOCK, {"input": {"id": block_id}}, other.owner_token),
                         await api(REMOVE_OVERRIDE, {"input": {"id": override_id}}, other.owner_token))
    # then both answers are the same "not found", and nothing was removed
    assert answers["real"] == answers["missing"] == (
        {"removeBlockedTime": {"__typename": "NotFound", "message": "BusyBlock not found", "path": ["input", "id"]}},
        {"removeScheduleOverride": {"__typename": "NotFound", "message": "ScheduleOverride not found",
                                    "path": ["input", "id"]}})
    after = (await BusyBlock.all().values_list("id", flat=True),
             await ScheduleOverride.all().values_list("id", flat=True))
    assert after == before and len(after[0]) == len(after[1]) == 1
