"""The journal through the API: every booking, imported busy block and blocked time of a staff member (or a business)
in one list, with sources, statuses, colours, sync states and titles as the viewer may see them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from models import Booking, BusyBlock, EventMapping, Service, Staff, SyncConflict
from schema.ids import encode_id
from tests.resolvers.test_bookings import at
from tests.resolvers.test_privacy import staff_token_of
from tests.support.graphql import CREATE_BOOKING, GraphQLClient, sign_up
from tests.support.journal import NOW, booked_directly, given_journal, listed, nodes, utc, when
from tests.support.statements import counted_statements

BLUE, YELLOW, RED, GREEN = "#2563eb", "#eab308", "#dc2626", "#16a34a"


def summary(node: dict[str, Any]) -> tuple[Any, ...]:
    return (node["kind"], node["title"], node["source"], node["status"], node["statusColour"], node["calendarName"],
            node["calendarColour"], node["allDay"])


async def test_the_owner_sees_each_entry_with_its_source_status_and_colour(api: GraphQLClient) -> None:
    # given a staff member with bookings, busy time from a calendar of each provider, and blocked time
    journal = await given_journal(api)
    # when the owner reads the staff member's journal
    answer = await listed(api, journal.shop.owner_token, staffId=journal.shop.staff_id)
    # then every entry is there, by start, each with its source, status, colour and calendar
    assert answer["__typename"] == "CalendarEventConnection" and answer["timeZone"] == "UTC"
    assert [summary(node) for node in nodes(answer)] == [
        ("BOOKING", "Boiler check – Pat Past", "LOCKSTEP", "COMPLETED", GREEN, None, None, False),
        ("BOOKING", "Boiler check – Cleo Customer", "LOCKSTEP", "CONFIRMED", BLUE, None, None, False),
        ("BOOKING", "Boiler check – Ann Invitee", "CALENDLY", "PENDING", YELLOW, None, None, False),
        ("BUSY_BLOCK", "Busy", "GOOGLE", "CONFIRMED", BLUE, "Work", "#0b8043", False),
        ("BUSY_BLOCK", "Busy", "MICROSOFT", "TENTATIVE", YELLOW, "Outlook", "#3a87ad", False),
        ("BUSY_BLOCK", "Busy", "CALDAV", "CONFIRMED", BLUE, "Home", None, False),
        ("BUSY_BLOCK", "Busy", "CALENDLY", "PENDING", YELLOW, "Calendly", None, False),
        ("BLOCKED_TIME", "Busy", "MANUAL", "CONFIRMED", BLUE, None, None, False),
        ("BUSY_BLOCK", "Busy", "GOOGLE", "CONFIRMED", BLUE, "Work", "#0b8043", True),
    ]
    names = ["past", "kept", "calendly"]
    blocks = ["dentist", "call", "gym", "intro", "therapy", "holiday"]
    assert [node["id"] for node in nodes(answer)] == [journal.gid("BookingEntry", name) for name in names] + [
        journal.gid("BlockEntry", name) for name in blocks]
    assert [(node["startsAt"], node["endsAt"]) for node in nodes(answer)[1:]] == [
        (utc(10), utc(11)), (utc(11), utc(12)), (utc(12), utc(13)), (utc(13), utc(14)), (utc(14), utc(15)),
        (utc(15), utc(15, 30)), (utc(16), utc(17)), (utc(0, day=1), utc(0, day=2))]
    # and each links the booking or block behind it
    assert [node["booking"] and node["booking"]["id"] for node in nodes(answer)] == [
        journal.gid("Booking", name) for name in names] + [None] * 6
    assert [node["busyBlock"] and node["busyBlock"]["id"] for node in nodes(answer)] == [None] * 3 + [
        journal.gid("BusyBlock", name) for name in blocks]
    assert answer["pageInfo"] == {"hasNextPage": False, "endCursor": answer["edges"][-1]["cursor"]}


async def test_each_booking_has_its_state_in_every_calendar_it_is_written_to(api: GraphQLClient) -> None:
    journal = await given_journal(api)
    answer = await listed(api, journal.shop.owner_token, staffId=journal.shop.staff_id,
                          filter={"kinds": ["BOOKING"]})

    def state(calendar: str, value: str) -> dict[str, str]:
        return {"connectionId": journal.gid("CalendarConnection", calendar),
                "calendarId": journal.gid("ExternalCalendar", calendar),
                "calendarName": journal.calendars[calendar].name, "state": value}

    assert [node["syncStates"] for node in nodes(answer)] == [
        [],  # it ended before it was ever written: nothing is owed
        # written to Work; held back by an open conflict with Outlook; given up on in Home
        [state("google", "SYNCED"), state("microsoft", "CONFLICT"), state("caldav", "FAILED")],
        # Work is the destination and has yet to receive it; the appointment's own calendar has it
        [state("google", "PENDING"), state("calendly", "SYNCED")],
    ]


async def test_titles_of_personal_events_are_the_staff_members_alone(api: GraphQLClient) -> None:
    # given the staff member's imported events and the time they blocked, and a block the owner typed in
    journal = await given_journal(api)
    await api("""mutation($input: BlockTimeInput!) { blockTime(input: $input) { __typename } }""",
              {"input": {"staffId": journal.shop.staff_id, "startsAt": at(8), "endsAt": at(9), "title": "Lunch"}},
              journal.shop.owner_token)
    filter = {"kinds": ["BUSY_BLOCK", "BLOCKED_TIME"]}
    # when each of them reads the journal
    mine = await listed(api, journal.staff_token, staffId=journal.shop.staff_id, filter=filter)
    owners = await listed(api, journal.shop.owner_token, staffId=journal.shop.staff_id, filter=filter)
    # then the staff member reads every title; the owner only the one they typed, "Busy" for the others
    assert [(node["title"], node["busyBlock"]["title"]) for node in nodes(mine)] == [
        ("Lunch", "Lunch"), ("Dentist", "Dentist"), ("Team call", "Team call"), ("Gym", "Gym"),
        ("Intro call with Bo", "Intro call with Bo"), ("Therapy", "Therapy"), ("Holiday", "Holiday")]
    assert [(node["title"], node["busyBlock"]["title"]) for node in nodes(owners)] == [
        ("Lunch", "Lunch")] + [("Busy", "Busy")] * 6
    assert "Dentist" not in str(owners) and "Therapy" not in str(owners)


async def test_cancelled_bookings_are_listed_only_when_asked_for(api: GraphQLClient) -> None:
    journal = await given_journal(api)
    token, staff = journal.shop.owner_token, journal.shop.staff_id
    cancelled = journal.gid("BookingEntry", "cancelled")
    default = await listed(api, token, staffId=staff)
    included = await listed(api, token, staffId=staff, filter={"includeCancelled": True})
    only = await listed(api, token, staffId=staff, filter={"statuses": ["CANCELLED"]})
    assert cancelled not in [node["id"] for node in nodes(default)]
    listed_before = [node["id"] for node in nodes(default)]
    assert [node["id"] for node in nodes(included)] == [listed_before[0], cancelled, *listed_before[1:]]
    assert [summary(node) for node in nodes(only)] == [
        ("BOOKING", "Boiler check – Cleo Customer", "LOCKSTEP", "CANCELLED", RED, None, None, False)]
    assert nodes(only)[0]["id"] == cancelled and nodes(only)[0]["booking"] == {
        "id": journal.gid("Booking", "cancelled"), "status": "CANCELLED"}


async def test_each_filter_keeps_exactly_the_entries_of_the_values_it_lists(api: GraphQLClient) -> None:
    # given every entry, cancelled ones too
    journal = await given_journal(api)
    token, staff = journal.shop.owner_token, journal.shop.staff_id
    everything = nodes(await listed(api, token, staffId=staff, filter={"includeCancelled": True}))
    # when each kind, source and status is asked for alone
    for field, name, values in (("kind", "kinds", ["BOOKING", "BUSY_BLOCK", "BLOCKED_TIME"]),
                                ("source", "sources", ["LOCKSTEP", "GOOGLE", "MICROSOFT", "CALDAV", "CALENDLY",
                                                       "MANUAL"]),
                                ("status", "statuses", ["CONFIRMED", "TENTATIVE", "PENDING", "CANCELLED",
                                                        "COMPLETED"])):
        for value in values:
            # (a status filter lists its statuses alone; with the others, cancelled entries are asked for too)
            asked = {name: [value]} if name == "statuses" else {name: [value], "includeCancelled": True}
            found = nodes(await listed(api, token, staffId=staff, filter=asked))
            # then exactly the entries of that value are listed, in the same order
            expected = [node["id"] for node in everything if node[field] == value]
            assert [node["id"] for node in found] == expected and expected, (name, value)
    # and filters combine; an empty list lists nothing
    both = nodes(await listed(api, token, staffId=staff, filter={"kinds": ["BUSY_BLOCK"], "sources": ["GOOGLE"],
                                                                 "statuses": ["CONFIRMED"]}))
    assert [node["id"] for node in both] == [journal.gid("BlockEntry", name) for name in ("dentist", "holiday")]
    assert nodes(await listed(api, token, staffId=staff, filter={"sources": []})) == []


async def test_customers_other_staff_and_other_owners_are_refused_and_nothing_changes(api: GraphQLClient) -> None:
    # given a journal, a customer, a second staff member of the business and the owner of another business
    journal = await given_journal(api)
    customer = (await sign_up(api, "kim@example.com"))["accessToken"]
    rival = (await sign_up(api, "rival@example.com", "OWNER"))["accessToken"]
    invite = await api("""mutation($input: CreateStaffInput!) { createStaff(input: $input) {
        ... on CreateStaffPayload { inviteCode } } }""", {"input": {
        "businessId": journal.shop.business_id, "name": "Ida Other", "email": "ida@example.com",
        "timeZone": "Europe/Berlin"}}, journal.shop.owner_token)
    colleague = await staff_token_of(api, invite["createStaff"]["inviteCode"])
    before = (await Booking.all().values_list("id", "status", "version"), await BusyBlock.all().values_list("id"),
              await EventMapping.all().values_list("id", "state"), await SyncConflict.all().values_list("status"))
    # when they ask for the staff member's journal, or the business's
    staff, business = {"staffId": journal.shop.staff_id}, {"businessId": journal.shop.business_id}
    answers = [await listed(api, token, **scope) for token in (customer, colleague, rival)
               for scope in (staff, business)]
    anonymous = await listed(api, "", **staff)
    own_business = await listed(api, journal.staff_token, **business)
    # then each is refused, and nothing changed
    assert answers == [
        {"__typename": "NotAuthorized", "message": "Only owner or staff accounts may do this"},
        {"__typename": "NotAuthorized", "message": "Only owner or staff accounts may do this"},
        {"__typename": "NotAuthorized", "message": "Only the owner or this staff member may change this schedule"},
        {"__typename": "NotAuthorized", "message": "Only the business owner may do this"},
        {"__typename": "NotAuthorized", "message": "Only the owner or this staff member may change this schedule"},
        {"__typename": "NotAuthorized", "message": "Only the business owner may do this"}]
    assert anonymous == {"__typename": "NotAuthorized", "message": "Sign in first"}
    assert own_business == {"__typename": "NotAuthorized", "message": "Only the business owner may do this"}
    after = (await Booking.all().values_list("id", "status", "version"), await BusyBlock.all().values_list("id"),
             await EventMapping.all().values_list("id", "state"), await SyncConflict.all().values_list("status"))
    assert after == before


async def test_the_business_view_lists_every_staff_members_entries_by_start(api: GraphQLClient) -> None:
    # given a second staff member with a booking at the same time as the first one's
    journal = await given_journal(api)
    first = await Staff.get()
    other = await Staff.create(business_id=first.business_id, name="Ida Other", email="ida@example.com",
                               time_zone="Europe/Berlin")
    theirs = await booked_directly(other, await Service.get(), "Dan Second", when(10))
    # when the owner reads the business's journal
    answer = await listed(api, journal.shop.owner_token, businessId=journal.shop.business_id)
    # then both staff members' entries are in it, one list by start (then bookings by ID)
    found = [(node["id"], node["staff"]["name"]) for node in nodes(answer)]
    assert found[:4] == [(journal.gid("BookingEntry", "past"), "Sam Tech"),
                         (journal.gid("BookingEntry", "kept"), "Sam Tech"),
                         (encode_id("BookingEntry", theirs.id), "Ida Other"),
                         (journal.gid("BookingEntry", "calendly"), "Sam Tech")]
    assert len(found) == 10


async def test_pages_follow_each_other_without_gaps_or_repeats(api: GraphQLClient) -> None:
    # given many entries, three bookings (one confirmed, two cancelled) and three blocks at each of ten starts
    journal = await given_journal(api)
    staff, service = await Staff.get(), await Service.get()
    calendar = journal.calendars["google"]
    for n in range(30):
        start = when(6, day=-3) + timedelta(hours=n // 3)
        await booked_directly(staff, service, f"Guest {n}", start,
                              status="confirmed" if n % 3 == 0 else "cancelled")
        await BusyBlock.create(staff=staff, source="external", external_calendar=calendar,
                               external_event_id=f"e{n}", title=f"Event {n}", starts_at=start,
                               ends_at=start + timedelta(minutes=5))
    token, staff_id, every = journal.shop.owner_token, journal.shop.staff_id, {"includeCancelled": True}
    everything = nodes(await listed(api, token, staffId=staff_id, filter=every))
    assert len(everything) == 70
    # when the journal is read seven entries at a time
    pages, after = [], None
    while True:
        page = await listed(api, token, staffId=staff_id, filter=every, first=7, after=after)
        pages.append(nodes(page))
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert after == page["edges"][-1]["cursor"]
    # then the pages are the whole list, in order, each entry once
    assert [node["id"] for page in pages for node in page] == [node["id"] for node in everything]
    assert [len(page) for page in pages] == [7] * 10
    # and at one start, the bookings come first, then the blocks, each by ID
    tied = [node["kind"] for node in everything if node["startsAt"] == everything[1]["startsAt"]]
    assert tied == ["BOOKING"] * 3 + ["BUSY_BLOCK"] * 3


async def test_a_page_costs_the_same_statements_however_many_entries_it_holds(api: GraphQLClient) -> None:
    journal = await given_journal(api)
    staff, service = await Staff.get(), await Service.get()
    for n in range(40):
        await booked_directly(staff, service, f"Guest {n}", when(6, day=-3) + timedelta(hours=n))
    token, staff_id = journal.shop.owner_token, journal.shop.staff_id
    with counted_statements() as small:
        assert len(nodes(await listed(api, token, staffId=staff_id, first=2))) == 2
    with counted_statements() as large:
        assert len(nodes(await listed(api, token, staffId=staff_id, first=100))) == 49
    assert len(large) == len(small) >= 8  # the viewer, the staff member, each kind of row, their details


async def test_an_occurrence_of_a_series_shows_the_state_of_the_series_event(api: GraphQLClient) -> None:
    # given a weekly series whose one event in the Work calendar is still to be written
    journal = await given_journal(api)
    customer = (await sign_up(api, "rae@example.com", name="Rae Weekly"))["accessToken"]
    made = await api(CREATE_BOOKING, {"input": {"serviceId": journal.shop.service_id, "startsAt": at(9, day=-7),
                                                "recurrence": "FREQ=WEEKLY;COUNT=2"}}, customer)
    assert made["createBooking"]["__typename"] == "BookingPayload"
    first, second = await Booking.filter(customer_name="Rae Weekly").order_by("occurrence_index")
    await EventMapping.create(booking=first, external_calendar=journal.calendars["google"], state="pending")
    # when the owner reads both occurrences
    answer = await listed(api, journal.shop.owner_token, staffId=journal.shop.staff_id,
                          filter={"kinds": ["BOOKING"]})
    states = {node["id"]: node["syncStates"] for node in nodes(answer)}
    # then each shows the series' event
    expected = [{"connectionId": journal.gid("CalendarConnection", "google"),
                 "calendarId": journal.gid("ExternalCalendar", "google"), "calendarName": "Work",
                 "state": "PENDING"}]
    assert states[encode_id("BookingEntry", first.id)] == states[encode_id("BookingEntry", second.id)] == expected


async def test_times_are_given_in_the_time_zone_asked_for(api: GraphQLClient) -> None:
    journal = await given_journal(api)
    answer = await listed(api, journal.shop.owner_token, staffId=journal.shop.staff_id, timeZone="Asia/Kolkata",
                          filter={"kinds": ["BLOCKED_TIME"]})
    assert answer["timeZone"] == "Asia/Kolkata"
    kolkata = ZoneInfo("Asia/Kolkata")
    assert [(node["startsAt"], node["endsAt"]) for node in nodes(answer)] == [
        (when(16).astimezone(kolkata).isoformat(), when(17).astimezone(kolkata).isoformat())]
    assert nodes(answer)[0]["startsAt"].endswith("+05:30")


async def test_bad_arguments_are_typed_errors_naming_the_argument(api: GraphQLClient) -> None:
    journal = await given_journal(api)
    token, staff, business = journal.shop.owner_token, journal.shop.staff_id, journal.shop.business_id

    async def error(**variables: Any) -> Any:
        return await listed(api, token, **variables)

    def invalid(path: list[str], message: str) -> dict[str, Any]:
        return {"__typename": "ValidationError", "path": path, "message": message}

    assert await error() == invalid(["staffId"], "Give exactly one of staffId and businessId")
    assert await error(staffId=staff, businessId=business) == invalid(
        ["staffId"], "Give exactly one of staffId and businessId")
    assert await error(staffId=business) == invalid(["staffId"], "Not a StaffMember ID")
    assert await error(businessId=staff) == invalid(["businessId"], "Not a Business ID")
    assert await error(staffId=encode_id("StaffMember", 10**6)) == {
        "__typename": "NotFound", "message": "Staff not found", "path": ["staffId"]}
    assert await error(businessId=encode_id("Business", 10**6)) == {
        "__typename": "NotFound", "message": "Business not found", "path": ["businessId"]}
    assert await error(staffId=staff, first=0) == invalid(["first"], "Ask for between 1 and 100 entries")
    assert await error(staffId=staff, first=101) == invalid(["first"], "Ask for between 1 and 100 entries")
    for cursor in ("nonsense", encode_id("Booking", 1), "am91cm5hbDoyMDI2fDB8MQ=="):
        assert await error(staffId=staff, after=cursor) == invalid(["after"], "This cursor is not valid")
    assert await error(staffId=staff, timeZone="Mars/Olympus") == invalid(
        ["timeZone"], "'Mars/Olympus' is not an IANA time zone name (for example Europe/Berlin)")
    assert await error(staffId=staff, to=(NOW + timedelta(days=61)).isoformat()) == invalid(
        ["to"], "Ask for at most 62 days at once")
    assert await error(staffId=staff, to=(NOW - timedelta(days=3)).isoformat()) == invalid(
        ["to"], "The end of the window must be after its start")
    assert await error(staffId=staff, filter={"kinds": ["BOOKING"] * 4}) == invalid(
        ["filter", "kinds"], "Give at most 3 kinds (there are no more)")
