"""Managing a business through the API: a second staff member, staff sign-ins, and times on a Monday ahead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.support.graphql import GraphQLClient, Shop

# A Monday well inside every horizon used here; given_shop's staff work 09:00-17:00 in Europe/Berlin every day.
DAY = (datetime.now(UTC) + timedelta(days=14)).date()
MONDAY = DAY + timedelta(days=(7 - DAY.weekday()) % 7)
BERLIN = ZoneInfo("Europe/Berlin")
EVERY_DAY = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")

ACCEPT_INVITE = """mutation($input: AcceptStaffInviteInput!) { acceptStaffInvite(input: $input) { __typename
  ... on AuthPayload { accessToken } ... on ValidationError { message path } } }"""
UPDATE_SERVICE_STAFF = """mutation($input: UpdateServiceInput!) { updateService(input: $input) { __typename } }"""
SET_HOURS = """mutation($input: SetWorkingHoursInput!) { setWorkingHours(input: $input) { __typename } }"""
CREATE_STAFF = """mutation($input: CreateStaffInput!) { createStaff(input: $input) { __typename
  ... on CreateStaffPayload { staff { id } inviteCode } } }"""
BOOK = """mutation($input: CreateBookingInput!) { createBooking(input: $input) { __typename
  ... on BookingPayload { booking { id startsAt status staff { id } } occurrences { id startsAt } }
  ... on SlotUnavailable { message unavailableStarts } ... on ValidationError { message path }
  ... on NotFound { message path } ... on StaffInactive { message path } ... on ServiceArchived { message path } } }"""
SLOTS = """query($serviceId: ID!, $from: DateTime!, $to: DateTime!, $staffIds: [ID!]) {
  availableSlots(serviceId: $serviceId, from: $from, to: $to, timeZone: "Europe/Berlin", staffIds: $staffIds) {
    __typename ... on AvailableSlots { slots { start staffIds } } ... on ServiceArchived { message path } } }"""


def at(hour: int, minute: int = 0, day: int = 0) -> str:
    """A Berlin wall-clock time on MONDAY (+ days), as the client sends it."""
    local = datetime(MONDAY.year, MONDAY.month, MONDAY.day, hour, minute, tzinfo=BERLIN) + timedelta(days=day)
    return local.isoformat()


def utc(hour: int, minute: int = 0, day: int = 0) -> str:
    """The same Berlin wall-clock time, as the API answers it (UTC)."""
    return datetime.fromisoformat(at(hour, minute, day)).astimezone(UTC).isoformat()


async def join(api: GraphQLClient, invite_code: str) -> str:
    """The staff member accepts their invitation; their access token."""
    accepted = await api(ACCEPT_INVITE, {"input": {"code": invite_code, "password": "staff pass 123 xyz"}})
    assert accepted["acceptStaffInvite"]["__typename"] == "AuthPayload", accepted
    return str(accepted["acceptStaffInvite"]["accessToken"])


async def second_staff(api: GraphQLClient, shop: Shop, *, name: str = "Kim Tech", email: str = "kim@example.com",
                       zone: str = "Europe/Berlin", performs: bool = True) -> tuple[str, str]:
    """Another staff member of the shop working 09:00-17:00 every day (and performing its service unless told
    otherwise): their ID and invitation code."""
    created = await api(CREATE_STAFF, {"input": {"businessId": shop.business_id, "name": name, "email": email,
                                                 "timeZone": zone}}, shop.owner_token)
    staff_id = created["createStaff"]["staff"]["id"]
    week = [{"weekday": day, "ranges": [{"start": "09:00", "end": "17:00"}]} for day in EVERY_DAY]
    assert (await api(SET_HOURS, {"input": {"staffId": staff_id, "days": week}}, shop.owner_token))[
        "setWorkingHours"]["__typename"] == "StaffMember"
    if performs:
        changed = await api(UPDATE_SERVICE_STAFF, {"input": {"id": shop.service_id,
                                                             "staffIds": [shop.staff_id, staff_id]}},
                            shop.owner_token)
        assert changed["updateService"]["__typename"] == "Service"
    return staff_id, created["createStaff"]["inviteCode"]


async def book(api: GraphQLClient, shop: Shop, starts_at: str, *, staff_id: str | None = None,
               recurrence: str | None = None, token: str | None = None, name: str = "Cleo Customer",
               email: str = "cleo@example.com") -> dict[str, Any]:
    """A booking made by the owner (or by `token`'s customer, for themself); the createBooking answer."""
    request: dict[str, Any] = {"serviceId": shop.service_id, "startsAt": starts_at, "staffId": staff_id,
                               "recurrence": recurrence}
    if token is None:
        request["customer"] = {"name": name, "email": email}
    answer = await api(BOOK, {"input": request}, token or shop.owner_token)
    return answer["createBooking"]  # type: ignore[no-any-return]
