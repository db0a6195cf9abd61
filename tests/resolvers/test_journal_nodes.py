"""Journal entries as nodes: each CalendarEvent has an ID of its own (never its booking's or block's), and `node`
answers it exactly as calendarEvents shows it to the viewer, or null for anyone whose journal it is not."""

from __future__ import annotations

from typing import Any

from models import Booking, BusyBlock, EventMapping, SyncConflict
from schema.ids import decode_id, encode_id
from tests.resolvers.test_privacy import staff_token_of
from tests.support.graphql import GraphQLClient, given_shop, sign_up
from tests.support.journal import EVENT, given_journal, imported, listed, nodes, when

NODE = f"""query($id: ID!) {{ node(id: $id) {{ __typename ... on CalendarEvent {{ {EVENT} }} }} }}"""
TYPED = """query($id: ID!) { node(id: $id) { __typename id } }"""
READ_BOOKING = """query($id: ID!) { booking(id: $id) { __typename ... on ValidationError { message path } } }"""
EVERY = {"includeCancelled": True}


async def fetched(api: GraphQLClient, token: str | None, ids: list[str]) -> list[Any]:
    return [(await api(NODE, {"id": value}, token))["node"] for value in ids]


def as_node(event: dict[str, Any]) -> dict[str, Any]:
    return {"__typename": "CalendarEvent", **event}


async def stored() -> tuple[Any, ...]:
    return (await Booking.all().order_by("id").values_list("id", "status", "version"),
            await BusyBlock.all().order_by("id").values_list("id", "title", "starts_at"),
            await EventMapping.all().order_by("id").values_list("id", "state"),
            await SyncConflict.all().order_by("id").values_list("id", "status"))


async def test_each_entry_has_its_own_id_and_node_answers_it_as_the_journal_lists_it(api: GraphQLClient) -> None:
    # given a journal with bookings of every status, imported busy time of each provider and blocked time
    journal = await given_journal(api)
    staff_id = journal.shop.staff_id
    for token in (journal.shop.owner_token, journal.staff_token):
        # when the owner, then the staff member themself, lists it and fetches each entry again by its ID
        events = nodes(await listed(api, token, staffId=staff_id, filter=EVERY))
        again = await fetched(api, token, [event["id"] for event in events])
        # then each is answered exactly as listed: titles, status, colour, calendar and sync states alike
        assert again == [as_node(event) for event in events]
        assert len(events) == 10
    # and an entry's ID is its own, while `booking` and `busyBlock` keep the IDs of the objects behind it
    events = nodes(await listed(api, journal.staff_token, staffId=staff_id, filter=EVERY))
    kinds = [decode_id(event["id"]) for event in events]
    assert [(found.type_name if found else None) for found in kinds] == ["BookingEntry"] * 4 + ["BlockEntry"] * 6
    assert [event["booking"]["id"] for event in events[:4]] == [
        journal.gid("Booking", name) for name in ("past", "cancelled", "kept", "calendly")]
    assert [event["busyBlock"]["id"] for event in events[4:]] == [
        journal.gid("BusyBlock", name) for name in ("dentist", "call", "gym", "intro", "therapy", "holiday")]
    behind = {event["id"]: (event["booking"] or event["busyBlock"])["id"] for event in events}
    assert all(entry != underlying for entry, underlying in behind.items())
    # and the booking's and block's own IDs still answer the Booking and the BusyBlock, not the entry
    typed = [(await api(TYPED, {"id": value}, journal.staff_token))["node"] for value in behind.values()]
    assert [node["__typename"] for node in typed] == ["Booking"] * 4 + ["BusyBlock"] * 6


async def test_an_entry_keeps_its_titles_private_as_the_journal_does(api: GraphQLClient) -> None:
    # given the staff member's own imported event and blocked time
    journal = await given_journal(api)
    ids = [journal.gid("BlockEntry", "dentist"), journal.gid("BlockEntry", "therapy")]
    # when the staff member and the owner fetch them
    mine = await fetched(api, journal.staff_token, ids)
    owners = await fetched(api, journal.shop.owner_token, ids)
    # then only the staff member reads their titles
    assert [(node["title"], node["busyBlock"]["title"]) for node in mine] == [("Dentist", "Dentist"),
                                                                              ("Therapy", "Therapy")]
    assert [(node["title"], node["busyBlock"]["title"]) for node in owners] == [("Busy", "Busy")] * 2


async def test_anyone_whose_journal_it_is_not_gets_null_and_nothing_changes(api: GraphQLClient) -> None:
    # given a journal, a colleague of the staff member, a customer, and the owner of another business
    journal = await given_journal(api)
    invite = await api("""mutation($input: CreateStaffInput!) { createStaff(input: $input) {
        ... on CreateStaffPayload { inviteCode } } }""", {"input": {
        "businessId": journal.shop.business_id, "name": "Ida Other", "email": "ida@example.com",
        "timeZone": "Europe/Berlin"}}, journal.shop.owner_token)
    colleague = await staff_token_of(api, invite["createStaff"]["inviteCode"])
    customer = (await sign_up(api, "kim@example.com"))["accessToken"]
    other_owner = (await given_shop(api, owner_email="other@example.com")).owner_token
    ids = [journal.gid("BookingEntry", "kept"), journal.gid("BlockEntry", "dentist"),
           journal.gid("BlockEntry", "therapy")]
    before = await stored()
    # when each of them (and an anonymous caller) fetches the entries
    answers = {name: await fetched(api, token, ids) for name, token in (
        ("colleague", colleague), ("customer", customer), ("other owner", other_owner), ("anonymous", None))}
    # then every answer is null, with no error, and nothing changed
    assert answers == dict.fromkeys(("colleague", "customer", "other owner", "anonymous"), [None] * 3)
    assert await api.raw(NODE, {"id": ids[0]}, other_owner) == {"data": {"node": None}}
    assert await stored() == before


async def test_an_entry_the_journal_leaves_out_is_null(api: GraphQLClient) -> None:
    # given an imported copy of the dentist appointment, dropped as its duplicate (the journal hides it)
    journal = await given_journal(api)
    staff = await journal.blocks["dentist"].staff
    copy = await imported(staff, journal.calendars["caldav"], "Dentist copy", when(12), when(13),
                          duplicate_of_block=journal.blocks["dentist"])
    copy_id = encode_id("BlockEntry", copy.id)
    listed_ids = [event["id"] for event in nodes(await listed(api, journal.staff_token,
                                                              staffId=journal.shop.staff_id, filter=EVERY))]
    # when the staff member fetches it, and the dentist appointment it duplicates
    answers = await fetched(api, journal.staff_token, [copy_id, journal.gid("BlockEntry", "dentist")])
    # then the copy is null, as it is missing from the journal; the appointment is answered
    assert copy_id not in listed_ids
    assert answers[0] is None and answers[1]["title"] == "Dentist"


async def test_ids_of_entries_name_nothing_else_and_name_nothing_beyond_the_tables(api: GraphQLClient) -> None:
    # given a journal
    journal = await given_journal(api)
    token = journal.shop.owner_token
    # when an entry ID is given for a key no row has, beyond every key, or where a Booking ID is asked for
    free = [await api.raw(TYPED, {"id": encode_id(name, 999_999)}, token) for name in ("BookingEntry", "BlockEntry")]
    beyond = [await api.raw(TYPED, {"id": encode_id(name, 2**31)}, token) for name in ("BookingEntry", "BlockEntry")]
    as_booking = await api(READ_BOOKING, {"id": journal.gid("BookingEntry", "kept")}, token)
    # then the first are null, as for any missing node, and the booking refuses an ID of another type
    assert free == beyond == [{"data": {"node": None}}] * 2
    assert as_booking["booking"] == {"__typename": "ValidationError", "message": "Not a Booking ID", "path": ["id"]}
