"""Global object identification: `node(id)` and `nodes(ids)` answer every type with a global ID under the rule of
the type's own query, and an object the viewer may not see exactly like a missing one (null)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from models import (
    BusyBlock,
    CalendarConnection,
    EventMappingState,
    ExternalCalendar,
    Notification,
    ScheduleOverride,
    Staff,
    SyncConflict,
)
from schema.ids import decode_id, encode_id
from services.quotas import MAX_NODES_PER_REQUEST
from services.sync_health import log_action
from tests.support.calendar_api import AT_TEN, KEY, booked, connected, gid, mapped
from tests.support.calendar_sync import FakeProbe, sync_api
from tests.support.graphql import GraphQLClient, given_shop, sign_up

NODE = """query($id: ID!) { node(id: $id) { __typename id } }"""
NODES = """query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"""
PRIVATE = ["Booking", "BusyBlock", "ScheduleOverride", "CalendarConnection", "ExternalCalendar", "SyncLogEntry",
           "SyncItem", "SyncConflict"]
PUBLIC = ["Business", "Service", "StaffMember"]
NOT_AN_ID = "Not the ID of an object: give an `id` this API answered"


@pytest.fixture
async def api(db: str) -> AsyncIterator[GraphQLClient]:
    async with sync_api(FakeProbe(), KEY) as client:
        yield client


@dataclass
class World:
    """One business with an object of every type, its owner and staff member, a customer with a booking there,
    another customer, and the owner of another business."""

    ids: dict[str, str]
    owner: str
    staff: str
    customer: str
    stranger: str
    other_owner: str


async def given_world(api: GraphQLClient) -> World:
    shop, staff, connection = await connected(api)
    customer = await sign_up(api, "cleo@example.com")
    created = await api("""mutation($input: CreateBookingInput!) { createBooking(input: $input) {
        ... on BookingPayload { booking { id } } } }""", {"input": {
        "serviceId": shop.service_id, "startsAt": (AT_TEN + timedelta(hours=3)).isoformat()}}, customer["accessToken"])
    block = await api("""mutation($input: BlockTimeInput!) { blockTime(input: $input) { ... on BusyBlock { id } } }""",
                      {"input": {"staffId": shop.staff_id, "startsAt": AT_TEN.isoformat(),
                                 "endsAt": (AT_TEN + timedelta(hours=1)).isoformat(), "title": "Dentist"}}, staff)
    override = await api("""mutation($input: AddScheduleOverrideInput!) { addScheduleOverride(input: $input) {
        ... on ScheduleOverride { id } } }""", {"input": {"staffId": shop.staff_id, "date": "2030-01-07",
                                                          "ranges": [], "note": "Closed"}}, shop.owner_token)
    walk_in = await booked(api, shop, hours_later=5)
    item = await mapped(walk_in, EventMappingState.FAILED)
    entry = await log_action(connection.id, "export", "create", "failed", booking_id=walk_in.id, mapping_id=item.id)
    conflict = await SyncConflict.create(staff_id=connection.staff_id, booking=walk_in, connection=connection,
                                         kind="busy_overlap")
    staff_user = (await connection.staff).user_id
    notice = await Notification.create(user_id=staff_user, kind="conflict", message="A conflict")
    calendar = await ExternalCalendar.filter(connection_id=connection.id).order_by("id").first()
    assert calendar is not None
    stranger = await sign_up(api, "stella@example.com")
    other = await given_shop(api, owner_email="other@example.com")
    ids = {"Business": shop.business_id, "Service": shop.service_id, "StaffMember": shop.staff_id,
           "Booking": created["createBooking"]["booking"]["id"], "BusyBlock": block["blockTime"]["id"],
           "ScheduleOverride": override["addScheduleOverride"]["id"],
           "CalendarConnection": gid("CalendarConnection", connection.id),
           "ExternalCalendar": gid("ExternalCalendar", calendar.id), "SyncLogEntry": gid("SyncLogEntry", entry.id),
           "SyncItem": gid("SyncItem", item.id), "SyncConflict": gid("SyncConflict", conflict.id),
           "Notification": gid("Notification", notice.id), "User": customer["user"]["id"]}
    return World(ids, shop.owner_token, staff, customer["accessToken"], stranger["accessToken"], other.owner_token)


async def seen(api: GraphQLClient, world: World, token: str | None, *types: str) -> dict[str, Any]:
    """`node` of each type's object, as the holder of `token` is answered."""
    return {name: (await api(NODE, {"id": world.ids[name]}, token))["node"] for name in types}


def found(world: World, *types: str) -> dict[str, Any]:
    return {name: {"__typename": name, "id": world.ids[name]} for name in types}


async def test_the_owner_and_the_staff_member_see_every_object_of_their_business(api: GraphQLClient) -> None:
    # given a business with an object of every type
    world = await given_world(api)
    # when its owner and its staff member ask for each by its ID
    owner = await seen(api, world, world.owner, *PUBLIC, *PRIVATE)
    staff = await seen(api, world, world.staff, *PUBLIC, *PRIVATE, "Notification")
    # then each is answered, typed and with its ID (the notification is the staff member's alone)
    assert owner == found(world, *PUBLIC, *PRIVATE)
    assert staff == found(world, *PUBLIC, *PRIVATE, "Notification")
    assert await seen(api, world, world.owner, "Notification", "User") == {"Notification": None, "User": None}


async def test_another_business_sees_nothing_private_exactly_as_if_it_did_not_exist(api: GraphQLClient) -> None:
    # given a business with an object of every type, and the owner of another business
    world = await given_world(api)
    missing = {name: gid(name, 999_999) for name in [*PRIVATE, "Notification", "User"]}
    # when the other owner asks for each of them, and for IDs of the same types that name nothing
    theirs = await seen(api, world, world.other_owner, *PRIVATE, "Notification", "User")
    absent = {name: await api.raw(NODE, {"id": value}, world.other_owner) for name, value in missing.items()}
    # then every private one is null, with no error: the same answer as for an ID that names nothing
    assert theirs == dict.fromkeys([*PRIVATE, "Notification", "User"])
    assert absent == {name: {"data": {"node": None}} for name in missing}
    # and what is public stays public, for them and for anonymous callers
    assert await seen(api, world, world.other_owner, *PUBLIC) == found(world, *PUBLIC)
    assert await seen(api, world, None, *PUBLIC) == found(world, *PUBLIC)
    assert await seen(api, world, None, *PRIVATE, "User") == dict.fromkeys([*PRIVATE, "User"])


async def test_a_customer_sees_their_own_booking_and_account_only(api: GraphQLClient) -> None:
    # given a customer with a booking, and another customer
    world = await given_world(api)
    # when each asks for the booking and the first customer's account, with the booking's business-only notes
    query = """query($id: ID!) { node(id: $id) { __typename ... on Booking { id merchantNotes } ... on User { id
      email } } }"""
    own = [(await api(query, {"id": world.ids[name]}, world.customer))["node"] for name in ("Booking", "User")]
    other = [(await api(query, {"id": world.ids[name]}, world.stranger))["node"] for name in ("Booking", "User")]
    # then the customer sees both, without the notes (as `booking` answers them), and the other customer neither
    assert own == [{"__typename": "Booking", "id": world.ids["Booking"], "merchantNotes": None},
                   {"__typename": "User", "id": world.ids["User"], "email": "cleo@example.com"}]
    assert other == [None, None]
    # and nothing private of the business either
    assert await seen(api, world, world.customer, *PRIVATE[1:]) == dict.fromkeys(PRIVATE[1:])


async def test_a_busy_block_node_hides_its_title_as_the_schedule_does(api: GraphQLClient) -> None:
    # given a block the staff member typed in
    world = await given_world(api)
    query = """query($id: ID!) { node(id: $id) { ... on BusyBlock { title } } }"""
    # when the staff member and the owner fetch it
    staff = await api(query, {"id": world.ids["BusyBlock"]}, world.staff)
    owner = await api(query, {"id": world.ids["BusyBlock"]}, world.owner)
    # then only the staff member sees its title
    assert (staff["node"], owner["node"]) == ({"title": "Dentist"}, {"title": "Busy"})
    assert await BusyBlock.filter(title="Dentist").count() == 1


async def test_an_id_that_is_not_an_objects_is_null_with_an_error_that_says_so(api: GraphQLClient) -> None:
    # given a business
    world = await given_world(api)
    # when a node is asked for by text that is no ID, by an ID of a type without nodes, and beyond every key
    not_ids = ["nonsense", str(encode_id("BookingSeries", 1)), str(encode_id("Nothing", 1))]
    answers = [await api.raw(NODE, {"id": value}, world.owner) for value in not_ids]
    beyond = await api.raw(NODE, {"id": gid("Booking", 2**31)}, world.owner)
    # then the first three are null with an error naming the argument; the last names nothing: null alone
    assert answers == [{"data": {"node": None}, "errors": [{
        "message": NOT_AN_ID, "locations": [{"line": 1, "column": 19}], "path": ["node"],
        "extensions": {"code": "BAD_USER_INPUT", "argumentPath": ["id"],
                       "fields": [{"path": ["id"], "message": NOT_AN_ID}]}}]}] * 3
    assert beyond == {"data": {"node": None}}


async def test_nodes_answers_in_the_order_asked_with_null_in_place(api: GraphQLClient) -> None:
    # given a business
    world = await given_world(api)
    ids = [world.ids["Booking"], gid("Booking", 999_999), world.ids["Business"], "nonsense", world.ids["Booking"],
           world.ids["Notification"]]
    # when the owner asks for these IDs at once
    body = await api.raw(NODES, {"ids": ids}, world.owner)
    # then each is answered at its place, a duplicate twice, and the one that is no ID has its error at its path
    assert body["data"] == {"nodes": [
        {"__typename": "Booking", "id": world.ids["Booking"]}, None,
        {"__typename": "Business", "id": world.ids["Business"]}, None,
        {"__typename": "Booking", "id": world.ids["Booking"]}, None]}
    assert [(error["path"], error["extensions"]["argumentPath"]) for error in body["errors"]] == [
        (["nodes", 3], ["ids", "3"])]


async def test_nodes_takes_a_bounded_number_of_ids(api: GraphQLClient) -> None:
    # given a business
    world = await given_world(api)
    # when the owner asks for one ID more than the bound, and for exactly the bound
    over = await api.raw(NODES, {"ids": [world.ids["Business"]] * (MAX_NODES_PER_REQUEST + 1)}, world.owner)
    within = await api(NODES, {"ids": [world.ids["Business"]] * MAX_NODES_PER_REQUEST}, world.owner)
    # then the first is refused before any is looked up, the second answered whole
    message = f"Give at most {MAX_NODES_PER_REQUEST} IDs at once"
    assert over == {"data": None, "errors": [{
        "message": message, "locations": [{"line": 1, "column": 23}], "path": ["nodes"],
        "extensions": {"code": "BAD_USER_INPUT", "argumentPath": ["ids"],
                       "fields": [{"path": ["ids"], "message": message}]}}]}
    assert len(within["nodes"]) == MAX_NODES_PER_REQUEST
    assert await CalendarConnection.all().count() == 1
    assert await ScheduleOverride.all().count() == 1


async def test_an_inactive_staff_member_is_a_node_for_their_business_only(api: GraphQLClient) -> None:
    # given a business whose staff member was deactivated
    world = await given_world(api)
    staff_id = decode_id(world.ids["StaffMember"])
    assert staff_id is not None
    await Staff.filter(id=staff_id.pk).update(active=False)
    # when their business's owner, the owner of another business, a customer and an anonymous caller ask for them
    answers = [await seen(api, world, token, "StaffMember") for token in (
        world.owner, world.other_owner, world.customer, None)]
    # then only their business sees them, as Business.staff lists them
    assert answers == [found(world, "StaffMember")] + [{"StaffMember": None}] * 3
