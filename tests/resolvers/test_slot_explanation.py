"""Why a time is not bookable, through the API: every reason with the entry behind it, for the staff member and the
owner only, and no reason exactly when the time is offered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from models import Booking, BusyBlock, CalendarConnection, ExternalCalendar, Provider, Service, Staff
from schema.ids import encode_id
from tests.resolvers.test_bookings import at
from tests.resolvers.test_privacy import BLOCK, staff_token_of
from tests.support.graphql import CREATE_BOOKING, GraphQLClient, Shop, given_shop, sign_up
from tests.support.journal import ERRORS, imported, pk_of, utc, when

EXPLAIN = f"""query($staffId: ID!, $start: DateTime!, $end: DateTime!, $serviceId: ID) {{
  slotExplanation(staffId: $staffId, start: $start, end: $end, serviceId: $serviceId) {{ __typename
    ... on SlotExplanation {{ staff {{ name }} start end bookable hasMoreReasons
      reasons {{ kind message event {{ id kind title source calendarName status }} }} }}
    {ERRORS} }} }}"""
SLOTS = """query($service: ID!, $from: DateTime!, $to: DateTime!) {
  availableSlots(serviceId: $service, from: $from, to: $to, timeZone: "UTC") {
    ... on AvailableSlots { slots { start end } } } }"""


async def given_day(api: GraphQLClient, **shop: Any) -> tuple[Shop, str, dict[str, str]]:
    """A staff member (09:00-17:00 in Berlin) booked at 10:00, busy in Google 12:00-13:00, blocked 15:00-16:00."""
    made = await given_shop(api, **shop)
    staff_token = await staff_token_of(api, made.staff_invite)
    booked = await api(CREATE_BOOKING, {"input": {"serviceId": made.service_id, "startsAt": at(10), "customer": {
        "name": "Cleo Customer", "email": "cleo@example.com"}}}, made.owner_token)
    staff = await Staff.get()
    connection = await CalendarConnection.create(staff=staff, provider=Provider.GOOGLE)
    calendar = await ExternalCalendar.create(connection=connection, provider_calendar_id="primary", name="Work")
    dentist = await imported(staff, calendar, "Dentist", when(12), when(13))
    therapy = await api(BLOCK, {"input": {"staffId": made.staff_id, "startsAt": at(15), "endsAt": at(16),
                                          "title": "Therapy"}}, staff_token)
    # the entries' own IDs (not their booking's or blocks')
    entries = {"booking": ("BookingEntry", pk_of(booked["createBooking"]["booking"]["id"])),
               "dentist": ("BlockEntry", dentist.id), "therapy": ("BlockEntry", pk_of(therapy["blockTime"]["id"]))}
    ids = {name: str(encode_id(*entry)) for name, entry in entries.items()}
    return made, staff_token, ids


async def explained(api: GraphQLClient, token: str, shop: Shop, start: str, end: str, **more: Any) -> Any:
    data = await api(EXPLAIN, {"staffId": shop.staff_id, "start": start, "end": end, **more}, token)
    return data["slotExplanation"]


async def test_each_entry_taking_the_time_is_a_reason_with_its_title_as_the_viewer_may_see_it(
    api: GraphQLClient,
) -> None:
    # given a day with a booking, an imported event and blocked time
    shop, staff_token, ids = await given_day(api)
    # when the staff member and the owner ask why 10:30 to 15:30 cannot be booked
    mine = await explained(api, staff_token, shop, at(10, 30), at(15, 30))
    owners = await explained(api, shop.owner_token, shop, at(10, 30), at(15, 30))
    # then each entry is a reason, by start; the staff member reads the titles, the owner "Busy"
    assert mine == {"__typename": "SlotExplanation", "staff": {"name": "Sam Tech"}, "start": utc(10, 30),
                    "end": utc(15, 30), "bookable": False, "hasMoreReasons": False, "reasons": [
        {"kind": "BOOKING", "message": "Booked", "event": {
            "id": ids["booking"], "kind": "BOOKING", "title": "Boiler check – Cleo Customer", "source": "LOCKSTEP",
            "calendarName": None, "status": "CONFIRMED"}},
        {"kind": "BUSY_BLOCK", "message": "Busy in the calendar Work", "event": {
            "id": ids["dentist"], "kind": "BUSY_BLOCK", "title": "Dentist", "source": "GOOGLE",
            "calendarName": "Work", "status": "CONFIRMED"}},
        {"kind": "BLOCKED_TIME", "message": "Blocked time", "event": {
            "id": ids["therapy"], "kind": "BLOCKED_TIME", "title": "Therapy", "source": "MANUAL",
            "calendarName": None, "status": "CONFIRMED"}}]}
    assert [reason["event"]["title"] for reason in owners["reasons"]] == ["Boiler check – Cleo Customer", "Busy",
                                                                           "Busy"]


async def test_working_hours_and_free_time_are_judged_as_staff_book(api: GraphQLClient) -> None:
    shop, staff_token, _ = await given_day(api)
    free = await explained(api, staff_token, shop, at(11), at(12))
    late = await explained(api, staff_token, shop, at(16, 30), at(17, 30))
    odd = await explained(api, staff_token, shop, at(11, 10), at(11, 50))  # off the service's step: staff may
    assert (free["bookable"], free["reasons"]) == (True, [])
    assert late["reasons"] == [{"kind": "OUTSIDE_WORKING_HOURS", "message": "Outside working hours", "event": None}]
    assert (odd["bookable"], odd["reasons"]) == (True, [])


async def test_with_a_service_its_step_buffers_notice_and_horizon_count_too(api: GraphQLClient) -> None:
    # given a service with 30 minutes of buffer after it, 2 hours of notice and a 7-day horizon, bookable all day
    all_day = [{"weekday": day, "ranges": [{"start": "00:00", "end": "24:00"}]}
               for day in ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")]
    shop, staff_token, _ = await given_day(api, hours=all_day, buffer_after=30, notice=120, horizon=7)
    service = {"serviceId": shop.service_id}
    # when the staff member asks about times a customer could not book
    buffered = await explained(api, staff_token, shop, at(9), at(10), **service)
    odd = await explained(api, staff_token, shop, at(13, 10), at(14, 10), **service)
    soon = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    early = await explained(api, staff_token, shop, soon.isoformat(), (soon + timedelta(hours=1)).isoformat(),
                            **service)
    # then the buffer after 09:00-10:00 meets the 10:00 booking, and the step, notice and horizon are reasons
    assert [reason["kind"] for reason in buffered["reasons"]] == ["BEYOND_HORIZON", "BOOKING"]
    assert [reason["message"] for reason in odd["reasons"]] == [
        "Past the service's booking horizon of 7 days", "Not on the service's 30-minute step"]
    assert early["reasons"][0] == {"kind": "MINIMUM_NOTICE", "event": None,
                                   "message": "Sooner than the service's minimum notice of 120 minutes"}
    # and without the service the buffer does not count
    assert (await explained(api, staff_token, shop, at(9), at(10)))["reasons"] == []


async def test_a_time_has_no_reason_exactly_when_customers_are_offered_it(api: GraphQLClient) -> None:
    shop, staff_token, _ = await given_day(api)
    offered = await api(SLOTS, {"service": shop.service_id, "from": at(0), "to": at(0, day=1)})
    starts = {slot["start"] for slot in offered["availableSlots"]["slots"]}
    assert starts  # some of the day is free
    for hour in range(7, 18):
        for minute in (0, 30):
            start = when(hour, minute)
            answer = await explained(api, staff_token, shop, start.isoformat(),
                                     (start + timedelta(hours=1)).isoformat(), serviceId=shop.service_id)
            assert answer["bookable"] == (start.astimezone(UTC).isoformat() in starts), (hour, minute, answer)
            assert answer["bookable"] == (answer["reasons"] == [])


async def test_customers_colleagues_and_other_owners_are_refused_and_nothing_changes(api: GraphQLClient) -> None:
    shop, _, _ = await given_day(api)
    customer = (await sign_up(api, "kim@example.com"))["accessToken"]
    rival = (await sign_up(api, "rival@example.com", "OWNER"))["accessToken"]
    invite = await api("""mutation($input: CreateStaffInput!) { createStaff(input: $input) {
        ... on CreateStaffPayload { inviteCode } } }""", {"input": {
        "businessId": shop.business_id, "name": "Ida Other", "email": "ida@example.com",
        "timeZone": "Europe/Berlin"}}, shop.owner_token)
    colleague = await staff_token_of(api, invite["createStaff"]["inviteCode"])
    before = (await Booking.all().values_list("id", "version"), await BusyBlock.all().values_list("id"))
    answers = [await explained(api, token, shop, at(10), at(11)) for token in (customer, colleague, rival, "")]
    assert answers == [
        {"__typename": "NotAuthorized", "message": "Only owner or staff accounts may do this"},
        {"__typename": "NotAuthorized", "message": "Only the owner or this staff member may change this schedule"},
        {"__typename": "NotAuthorized", "message": "Only the owner or this staff member may change this schedule"},
        {"__typename": "NotAuthorized", "message": "Sign in first"}]
    assert (await Booking.all().values_list("id", "version"), await BusyBlock.all().values_list("id")) == before


async def test_bad_arguments_are_typed_errors_naming_the_argument(api: GraphQLClient) -> None:
    shop, staff_token, _ = await given_day(api)
    other = await given_shop(api, owner_email="rival@example.com")
    unperformed = await Service.create(business_id=(await Service.get(id=1)).business_id, name="Other",
                                       duration_minutes=30)

    async def ask(start: str, end: str, **more: Any) -> Any:
        return await explained(api, staff_token, shop, start, end, **more)

    assert await ask(at(10), at(10)) == {"__typename": "ValidationError", "path": ["end"],
                                         "message": "The end must be after the start"}
    assert await ask(at(10), at(10, 1, day=1)) == {
        "__typename": "ValidationError", "path": ["end"], "message": "Ask about at most 24 hours at once"}
    assert await ask("2030-01-07T10:00:00", at(11)) == {
        "__typename": "ValidationError", "path": ["start"],
        "message": "Give the date-time with its UTC offset, e.g. 2026-05-04T09:00:00+02:00"}
    assert await ask(at(10), at(11), serviceId=other.service_id) == {
        "__typename": "NotFound", "path": ["serviceId"], "message": "Service not found"}
    assert await ask(at(10), at(11), serviceId=encode_id("Service", unperformed.id)) == {
        "__typename": "NotFound", "path": ["serviceId"], "message": "Staff performing this service not found"}
    assert await ask(at(10), at(11), serviceId=shop.staff_id) == {
        "__typename": "ValidationError", "path": ["serviceId"], "message": "Not a Service ID"}
    wrong = await api(EXPLAIN, {"staffId": shop.service_id, "start": at(10), "end": at(11)}, staff_token)
    assert wrong["slotExplanation"] == {"__typename": "ValidationError", "path": ["staffId"],
                                        "message": "Not a StaffMember ID"}
