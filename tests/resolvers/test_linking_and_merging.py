"""Linking and merging through the real ASGI app: duplicateCandidates, linkEventToBooking and mergeDuplicates, their
typed refusals, and who may use them. The sync itself (pulls, pushes) is tested below GraphQL; here the imported
blocks are stored as a pull stores them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from models import BusyBlock, BusyBlockSource, EventMapping, EventMappingState, RetiredEvent, Staff
from tests.support.calendar_api import AT_TEN, ERRORS, KEY, booked, calendar, connected, gid
from tests.support.calendar_sync import FakeProbe, sync_api
from tests.support.graphql import GraphQLClient, sign_up

CANDIDATES = f"""query($staffId: ID!, $from: DateTime!, $to: DateTime!) {{
  duplicateCandidates(staffId: $staffId, from: $from, to: $to) {{ __typename
    ... on DuplicateCandidates {{ truncated groups {{ kind suggestedKeepId
      items {{ itemId kind startsAt title calendar {{ name }} booking {{ customerName }} busyBlock {{ id }}
               syncItem {{ state }} }} }} }}
    {ERRORS} }} }}"""
LINK = f"""mutation($input: LinkEventToBookingInput!) {{ linkEventToBooking(input: $input) {{ __typename
  ... on SyncItem {{ state bookingId }} ... on CannotLinkEvent {{ reason message }} {ERRORS} }} }}"""
MERGE = f"""mutation($input: MergeDuplicatesInput!) {{ mergeDuplicates(input: $input) {{ __typename
  ... on MergeDuplicatesPayload {{ keptId steps {{ action itemId }} }}
  ... on CannotMergeDuplicates {{ reason path message }} {ERRORS} }} }}"""


@pytest.fixture
async def api(db: str) -> AsyncIterator[GraphQLClient]:
    async with sync_api(FakeProbe(), KEY) as client:
        yield client


async def imported(calendar_id: str, event_id: str, title: str, hours_later: int = 0) -> BusyBlock:
    """A block as a pull of the calendar stores it."""
    work = await calendar(calendar_id)
    staff = await Staff.get()
    start = AT_TEN + timedelta(hours=hours_later)
    return await BusyBlock.create(staff=staff, source=BusyBlockSource.EXTERNAL, external_calendar=work,
                                  external_event_id=event_id, occurrence_key=start.isoformat(), title=title,
                                  starts_at=start, ends_at=start + timedelta(hours=1), recurring=False)


def window(shop_staff_id: str) -> dict[str, Any]:
    return {"staffId": shop_staff_id, "from": (AT_TEN - timedelta(days=1)).isoformat(),
            "to": (AT_TEN + timedelta(days=1)).isoformat()}


async def test_candidates_are_listed_and_merged_by_the_staff_member(api: GraphQLClient) -> None:
    shop, token, _ = await connected(api)
    booking = await booked(api, shop)
    block = await imported("work", "copy.ics", "Boiler check")
    found = (await api(CANDIDATES, window(shop.staff_id), token))["duplicateCandidates"]
    assert found == {"__typename": "DuplicateCandidates", "truncated": False, "groups": [{
        "kind": "BLOCK_MIRRORS_BOOKING", "suggestedKeepId": gid("Booking", booking.id), "items": [
            {"itemId": gid("Booking", booking.id), "kind": "BOOKING", "startsAt": AT_TEN.isoformat(),
             "title": "Boiler check – Cleo", "calendar": None, "booking": {"customerName": "Cleo"},
             "busyBlock": None, "syncItem": None},
            {"itemId": gid("BusyBlock", block.id), "kind": "BUSY_BLOCK", "startsAt": AT_TEN.isoformat(),
             "title": "Boiler check", "calendar": {"name": "Work"}, "booking": None,
             "busyBlock": {"id": gid("BusyBlock", block.id)}, "syncItem": None}]}]}
    owner_view = (await api(CANDIDATES, window(shop.staff_id), shop.owner_token))["duplicateCandidates"]
    assert owner_view["groups"][0]["items"][1]["title"] == "Busy"
    merged = (await api(MERGE, {"input": {"keep": gid("Booking", booking.id),
                                          "remove": [gid("BusyBlock", block.id)]}}, token))["mergeDuplicates"]
    assert merged == {"__typename": "MergeDuplicatesPayload", "keptId": gid("Booking", booking.id),
                      "steps": [{"action": "DELETE_IMPORTED_EVENT", "itemId": gid("BusyBlock", block.id)}]}
    assert await BusyBlock.all().count() == 0
    assert await RetiredEvent.all().values_list("external_event_id", flat=True) == ["copy.ics"]
    assert (await api(CANDIDATES, window(shop.staff_id), token))["duplicateCandidates"]["groups"] == []


async def test_an_event_is_linked_to_a_booking_unless_its_calendar_is_read_only(api: GraphQLClient) -> None:
    shop, token, _ = await connected(api)
    booking = await booked(api, shop)
    holiday = await imported("holidays", "holiday.ics", "Cleo")
    refused = (await api(LINK, {"input": {"busyBlockId": gid("BusyBlock", holiday.id),
                                          "bookingId": gid("Booking", booking.id)}}, token))["linkEventToBooking"]
    assert refused == {"__typename": "CannotLinkEvent", "reason": "READ_ONLY_CALENDAR",
                       "message": "The calendar is read-only for Lockstep"}
    assert await BusyBlock.filter(id=holiday.id).exists()
    block = await imported("work", "mine.ics", "Cleo's boiler")
    linked = (await api(LINK, {"input": {"busyBlockId": gid("BusyBlock", block.id),
                                         "bookingId": gid("Booking", booking.id)}}, token))["linkEventToBooking"]
    assert linked == {"__typename": "SyncItem", "state": "PENDING", "bookingId": gid("Booking", booking.id)}
    assert await EventMapping.filter(booking_id=booking.id).values_list("external_event_id", "state") == [
        ("mine.ics", EventMappingState.PENDING)]
    assert not await BusyBlock.filter(id=block.id).exists()


async def test_refused_merges_say_which_item_and_why(api: GraphQLClient) -> None:
    shop, token, _ = await connected(api)
    booking = await booked(api, shop)
    block = await imported("work", "copy.ics", "Boiler check")
    lunch = await imported("work", "lunch.ics", "Lunch", hours_later=3)

    async def merge(keep: str, remove: list[str], as_token: str | None = token) -> dict[str, Any]:
        answer: dict[str, Any] = (await api(MERGE, {"input": {"keep": keep, "remove": remove}}, as_token))
        return answer["mergeDuplicates"]  # type: ignore[no-any-return]

    keep = gid("Booking", booking.id)
    assert await merge(keep, [gid("BusyBlock", lunch.id)]) == {
        "__typename": "ValidationError", "path": ["input", "remove", "0"],
        "message": "Not a likely duplicate of the item kept"}
    assert await merge(keep, [gid("StaffMember", 1)]) == {
        "__typename": "ValidationError", "path": ["input", "remove", "0"],
        "message": "Not a Booking, SyncItem or BusyBlock ID"}
    assert await merge(keep, [gid("BusyBlock", block.id)] * 21) == {
        "__typename": "ValidationError", "path": ["input", "remove"], "message": "Remove at most 20 items at once"}
    assert await merge(gid("BusyBlock", block.id), [keep]) == {
        "__typename": "CannotMergeDuplicates", "reason": "BOOKING_ITEM", "path": ["input", "remove", "0"],
        "message": "The booking itself can only be kept"}
    customer = (await sign_up(api, "cleo@example.com"))["accessToken"]
    assert (await merge(keep, [gid("BusyBlock", block.id)], customer))["__typename"] == "NotAuthorized"
    rival = (await sign_up(api, "rival@example.com", "OWNER"))["accessToken"]
    assert await merge(keep, [gid("BusyBlock", block.id)], rival) == {
        "__typename": "NotFound", "path": ["input", "keep"], "message": "Booking not found"}
    assert (await api(CANDIDATES, window(shop.staff_id), rival))["duplicateCandidates"]["__typename"] == (
        "NotAuthorized")
    assert await BusyBlock.all().count() == 2 and await RetiredEvent.all().count() == 0
    assert await EventMapping.all().count() == 0
