"""Managing staff through the API: their details (updateStaff), taking them off bookings (deactivateStaff) and back,
and a new invitation code (resendStaffInvite)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models import Booking, BookingStatus, Staff
from tests.support.graphql import GraphQLClient, api_with, given_shop, sign_up
from tests.support.management import ACCEPT_INVITE, SLOTS, at, book, join, second_staff, utc

UPDATE_STAFF = """mutation($input: UpdateStaffInput!) { updateStaff(input: $input) { __typename
  ... on StaffMember { name timeZone photoUrl active } ... on ValidationError { message path }
  ... on NotAuthorized { message } ... on NotFound { message path } } }"""
DEACTIVATE = """mutation($input: DeactivateStaffInput!) { deactivateStaff(input: $input) { __typename
  ... on DeactivateStaffPayload { staff { name active } bookingsToReassign { id startsAt } bookingsToReassignCount }
  ... on NotAuthorized { message } ... on NotFound { message path } } }"""
RESEND = """mutation($input: ResendStaffInviteInput!) { resendStaffInvite(input: $input) { __typename
  ... on ResendStaffInvitePayload { staff { name } inviteCode } ... on StaffAlreadyJoined { message }
  ... on NotAuthorized { message } ... on TooManyAttempts { retryAfterSeconds } } }"""
RESCHEDULE = """mutation($input: RescheduleBookingInput!) { rescheduleBooking(input: $input) { __typename
  ... on StaffInactive { message path } ... on BookingPayload { booking { startsAt } } } }"""
CANCEL = """mutation($input: CancelBookingInput!) { cancelBooking(input: $input) { __typename } }"""


async def _staff_row(name: str) -> tuple[object, ...]:
    row = await Staff.get(name=name)
    return row.name, row.time_zone, row.photo_url, row.active, row.booking_lock


async def _slot_starts(api: GraphQLClient, service_id: str, staff_ids: list[str] | None = None) -> list[str]:
    answer = await api(SLOTS, {"serviceId": service_id, "from": at(0), "to": at(0, day=1), "staffIds": staff_ids})
    return [slot["start"] for slot in answer["availableSlots"]["slots"]]


async def test_the_owner_changes_a_staff_members_name_photo_and_zone(api: GraphQLClient) -> None:
    # given a shop whose staff member works 09:00-17:00 Berlin, with a booking at 10:00 Berlin
    shop = await given_shop(api, step=60)
    booked = await book(api, shop, at(10))
    before = await Booking.get()
    # when the owner renames them, gives them a photo and moves them to London
    changed = await api(UPDATE_STAFF, {"input": {"staffId": shop.staff_id, "name": " Sam Smith ",
                                                 "photoUrl": "https://cdn.example.com/sam.jpg",
                                                 "timeZone": "Europe/London"}}, shop.owner_token)
    # then the staff member is changed
    assert changed["updateStaff"] == {"__typename": "StaffMember", "name": "Sam Smith", "timeZone": "Europe/London",
                                      "photoUrl": "https://cdn.example.com/sam.jpg", "active": True}
    # and their hours are the same wall-clock times in the new zone: the first slot is 09:00 London (10:00 Berlin,
    # taken by the booking), so 11:00 Berlin
    assert (await _slot_starts(api, shop.service_id))[0] == at(11)
    # and the booking keeps its instant
    after = await Booking.get()
    assert (after.starts_at, after.ends_at, after.version) == (before.starts_at, before.ends_at, before.version)
    assert booked["booking"]["startsAt"] == utc(10)


async def test_a_staff_member_changes_their_own_details_but_not_whether_they_are_active(api: GraphQLClient) -> None:
    # given a staff member who joined
    shop = await given_shop(api)
    staff_token = await join(api, shop.staff_invite)
    # when they change their own name and photo, then that is kept
    mine = await api(UPDATE_STAFF, {"input": {"staffId": shop.staff_id, "name": "Samantha",
                                              "photoUrl": "https://cdn.example.com/me.png"}}, staff_token)
    assert mine["updateStaff"]["name"] == "Samantha"
    before = await _staff_row("Samantha")
    # when they try to deactivate themself (with a name change beside it), then it is refused and nothing changes
    refused = await api(UPDATE_STAFF, {"input": {"staffId": shop.staff_id, "name": "Gone", "active": False}},
                        staff_token)
    assert refused["updateStaff"] == {"__typename": "NotAuthorized",
                                      "message": "Only the business owner may activate or deactivate a staff member"}
    assert await _staff_row("Samantha") == before


async def test_others_cannot_change_a_staff_member_and_bad_values_change_nothing(api: GraphQLClient) -> None:
    # given a shop with two staff members (the second joined), a customer and another owner
    shop = await given_shop(api)
    _, kim_invite = await second_staff(api, shop)
    kim = await join(api, kim_invite)
    customer = (await sign_up(api, "c@example.com"))["accessToken"]
    other_owner = (await sign_up(api, "other@example.com", "OWNER"))["accessToken"]
    before = await _staff_row("Sam Tech")
    change = {"input": {"staffId": shop.staff_id, "name": "Hijacked"}}
    # when a colleague, another business's owner or a customer tries, then it is refused
    denied = "Only the business owner or this staff member may change this staff member"
    assert (await api(UPDATE_STAFF, change, kim))["updateStaff"] == {"__typename": "NotAuthorized",
                                                                     "message": denied}
    assert (await api(UPDATE_STAFF, change, other_owner))["updateStaff"] == {"__typename": "NotAuthorized",
                                                                             "message": denied}
    assert (await api(UPDATE_STAFF, change, customer))["updateStaff"] == {
        "__typename": "NotAuthorized", "message": "Only owner or staff accounts may do this"}
    # and the owner's bad values are refused by field
    zone = await api(UPDATE_STAFF, {"input": {"staffId": shop.staff_id, "name": "X", "timeZone": "Berlin"}},
                     shop.owner_token)
    photo = await api(UPDATE_STAFF, {"input": {"staffId": shop.staff_id, "photoUrl": "http://x.example/p.jpg"}},
                      shop.owner_token)
    unknown = await api(UPDATE_STAFF, {"input": {"staffId": "U3RhZmZNZW1iZXI6OTk5", "name": "X"}}, shop.owner_token)
    assert zone["updateStaff"] == {"__typename": "ValidationError", "path": ["input", "timeZone"],
                                   "message": "'Berlin' is not an IANA time zone name (for example Europe/Berlin)"}
    assert photo["updateStaff"] == {"__typename": "ValidationError", "path": ["input", "photoUrl"],
                                    "message": "Give an https:// address of at most 2000 characters"}
    assert unknown["updateStaff"] == {"__typename": "NotFound", "message": "Staff not found",
                                      "path": ["input", "staffId"]}
    assert await _staff_row("Sam Tech") == before


async def test_a_deactivated_staff_member_takes_no_new_bookings_and_their_bookings_ahead_are_listed(
        api: GraphQLClient) -> None:
    # given two staff members performing the service; Sam has two bookings ahead, one cancelled, one already over
    shop = await given_shop(api, step=60)
    kim, _ = await second_staff(api, shop)
    first = (await book(api, shop, at(10), staff_id=shop.staff_id))["booking"]
    second = (await book(api, shop, at(14), staff_id=shop.staff_id, name="Dora"))["booking"]
    cancelled = (await book(api, shop, at(12), staff_id=shop.staff_id, name="Eve"))["booking"]
    await api(CANCEL, {"input": {"id": cancelled["id"]}}, shop.owner_token)
    over = (await book(api, shop, at(16), staff_id=shop.staff_id, name="Finn"))["booking"]
    yesterday = datetime.now(UTC) - timedelta(days=1)
    await Booking.filter(customer_name="Finn").update(starts_at=yesterday, ends_at=yesterday + timedelta(hours=1))
    # when the owner deactivates Sam
    answer = await api(DEACTIVATE, {"input": {"staffId": shop.staff_id}}, shop.owner_token)
    # then Sam is inactive and the two confirmed bookings still ahead are listed for reassignment
    assert answer["deactivateStaff"] == {
        "__typename": "DeactivateStaffPayload", "staff": {"name": "Sam Tech", "active": False},
        "bookingsToReassign": [{"id": first["id"], "startsAt": utc(10)}, {"id": second["id"], "startsAt": utc(14)}],
        "bookingsToReassignCount": 2}
    assert over["id"] not in [b["id"] for b in answer["deactivateStaff"]["bookingsToReassign"]]
    # and their bookings stay theirs, confirmed
    assert await Booking.filter(staff__name="Sam Tech", status=BookingStatus.CONFIRMED).count() == 3
    # and availability offers only Kim, even when Sam is asked for by name
    assert await _slot_starts(api, shop.service_id, [shop.staff_id]) == []
    answer_staff = await api(SLOTS, {"serviceId": shop.service_id, "from": at(0), "to": at(0, day=1)})
    assert {tuple(slot["staffIds"]) for slot in answer_staff["availableSlots"]["slots"]} == {(kim,)}
    # and booking Sam by name is refused, and nothing is written
    count = await Booking.all().count()
    named = await book(api, shop, at(11), staff_id=shop.staff_id)
    assert named == {"__typename": "StaffInactive", "message": "This staff member is not taking bookings",
                     "path": ["input", "staffId"]}
    assert await Booking.all().count() == count
    # and moving Sam's booking to another time is refused too
    moved = await api(RESCHEDULE, {"input": {"id": first["id"], "startsAt": at(15)}}, shop.owner_token)
    assert moved["rescheduleBooking"] == {"__typename": "StaffInactive",
                                          "message": "This staff member is not taking bookings",
                                          "path": ["input", "staffId"]}
    # and a booking for any staff goes to Kim, at a time Sam would have been free
    anyone = await book(api, shop, at(11))
    assert anyone["__typename"] == "BookingPayload"
    assert anyone["booking"]["staff"] == {"id": kim}


async def test_reactivating_a_staff_member_makes_them_bookable_again(api: GraphQLClient) -> None:
    # given a deactivated staff member
    shop = await given_shop(api, step=60)
    await api(DEACTIVATE, {"input": {"staffId": shop.staff_id}}, shop.owner_token)
    assert await _slot_starts(api, shop.service_id) == []
    # when the owner sets them active again
    again = await api(UPDATE_STAFF, {"input": {"staffId": shop.staff_id, "active": True}}, shop.owner_token)
    # then they offer their hours and can be booked by name
    assert again["updateStaff"]["active"] is True
    assert (await _slot_starts(api, shop.service_id))[:2] == [at(9), at(10)]
    assert (await book(api, shop, at(9), staff_id=shop.staff_id))["__typename"] == "BookingPayload"


async def test_only_the_owner_deactivates_a_staff_member(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    staff_token = await join(api, shop.staff_invite)
    other_owner = (await sign_up(api, "other@example.com", "OWNER"))["accessToken"]
    assert (await api(DEACTIVATE, {"input": {"staffId": shop.staff_id}}, staff_token))["deactivateStaff"] == {
        "__typename": "NotAuthorized", "message": "Only owner accounts may do this"}
    assert (await api(DEACTIVATE, {"input": {"staffId": shop.staff_id}}, other_owner))["deactivateStaff"] == {
        "__typename": "NotAuthorized", "message": "Only the business owner may do this"}
    assert (await Staff.get()).active is True


async def test_a_new_invitation_code_replaces_the_old_one(api: GraphQLClient) -> None:
    # given a staff member who has not joined yet
    shop = await given_shop(api)
    # when the owner asks for a new invitation code
    answer = await api(RESEND, {"input": {"staffId": shop.staff_id}}, shop.owner_token)
    code = answer["resendStaffInvite"]["inviteCode"]
    assert answer["resendStaffInvite"]["staff"] == {"name": "Sam Tech"} and code != shop.staff_invite
    # then the old code no longer works, and the new one does
    old = await api(ACCEPT_INVITE, {"input": {"code": shop.staff_invite, "password": "staff pass 123 xyz"}})
    assert old["acceptStaffInvite"] == {"__typename": "ValidationError", "path": ["input", "code"],
                                        "message": "This invitation code is not valid"}
    await join(api, code)
    # and once they have joined there is nothing to resend
    joined = await api(RESEND, {"input": {"staffId": shop.staff_id}}, shop.owner_token)
    assert joined["resendStaffInvite"] == {
        "__typename": "StaffAlreadyJoined",
        "message": "This staff member has already joined; they sign in with their own account"}


async def test_resending_invitations_is_throttled_and_only_the_owners(db: str) -> None:
    async with api_with(throttle_free_failures=2, throttle_lock_after=100) as (client, _):
        # given a staff member who has not joined, and another owner
        shop = await given_shop(client)
        other_owner = (await sign_up(client, "other@example.com", "OWNER"))["accessToken"]
        before = (await Staff.get()).invite_code_hash
        # when another owner asks, then they may not, and the code stays
        assert (await client(RESEND, {"input": {"staffId": shop.staff_id}}, other_owner))["resendStaffInvite"] == {
            "__typename": "NotAuthorized", "message": "Only the business owner may do this"}
        assert (await Staff.get()).invite_code_hash == before
        # when the owner asks again and again, then the fourth ask comes too soon
        answers = [(await client(RESEND, {"input": {"staffId": shop.staff_id}}, shop.owner_token))[
            "resendStaffInvite"]["__typename"] for _ in range(4)]
        assert answers == ["ResendStaffInvitePayload"] * 3 + ["TooManyAttempts"]

