"""Availability and staff schedules through the API."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from models import BusyBlock, BusyBlockSource, Staff
from tests.resolvers.test_bookings import at, utc
from tests.support.graphql import CREATE_BOOKING, GraphQLClient, given_shop, sign_up

SLOTS = """query($service: ID!, $from: DateTime!, $to: DateTime!, $zone: String!, $staff: [ID!]) {
  availableSlots(serviceId: $service, from: $from, to: $to, timeZone: $zone, staffIds: $staff) { __typename
    ... on AvailableSlots { timeZone slots { start end staffIds } }
    ... on ValidationError { message path } ... on NotFound { message path } } }"""
MORNING = [{"weekday": d, "ranges": [{"start": "09:00", "end": "12:00"}]}
           for d in ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")]


def starts(data: dict) -> list[str]:  # type: ignore[type-arg]
    return [slot["start"] for slot in data["availableSlots"]["slots"]]


async def test_slots_skip_bookings_and_blocked_time_and_come_in_the_asked_zone(api: GraphQLClient) -> None:
    # given a 09:00-12:00 Berlin morning, a 60-minute service on a 30-minute step
    shop = await given_shop(api, hours=MORNING)
    await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(9), "walkIn": True}},
              shop.owner_token)
    await api("""mutation($input: BlockTimeInput!) { blockTime(input: $input) { __typename } }""",
              {"input": {"staffId": shop.staff_id, "startsAt": at(11, 30), "endsAt": at(11, 45), "title": "Call"}},
              shop.owner_token)
    # when an anonymous visitor asks for the day in UTC
    data = await api(SLOTS, {"service": shop.service_id, "from": at(0), "to": at(0, day=1), "zone": "UTC"})
    # then 09:00 and 09:30 are gone (booked), 10:30 ends as the block starts (touching is fine), 11:00 overlaps it
    assert data["availableSlots"] == {"__typename": "AvailableSlots", "timeZone": "UTC", "slots": [
        {"start": utc(10), "end": utc(11), "staffIds": [shop.staff_id]},
        {"start": utc(10, 30), "end": utc(11, 30), "staffIds": [shop.staff_id]}]}
    # and asked in New York time, the same instant is shown with New York's offset
    ny = await api(SLOTS, {"service": shop.service_id, "from": at(0), "to": at(0, day=1), "zone": "America/New_York"})
    new_york = ZoneInfo("America/New_York")
    assert starts(ny) == [datetime.fromisoformat(utc(h, m)).astimezone(new_york).isoformat() for h, m in ((10, 0),
                                                                                                         (10, 30))]


async def test_removing_blocked_time_frees_its_slots(api: GraphQLClient) -> None:
    shop = await given_shop(api, hours=MORNING)
    block = await api("""mutation($input: BlockTimeInput!) { blockTime(input: $input) {
        ... on BusyBlock { id } } }""", {"input": {"staffId": shop.staff_id, "startsAt": at(9), "endsAt": at(12)}},
                      shop.owner_token)
    blocked = await api(SLOTS, {"service": shop.service_id, "from": at(0), "to": at(0, day=1), "zone": "UTC"})
    await api("""mutation($input: RemoveBlockedTimeInput!) { removeBlockedTime(input: $input) { __typename } }""",
              {"input": {"id": block["blockTime"]["id"]}}, shop.owner_token)
    freed = await api(SLOTS, {"service": shop.service_id, "from": at(0), "to": at(0, day=1), "zone": "UTC"})
    assert starts(blocked) == []
    assert starts(freed) == [utc(9), utc(9, 30), utc(10), utc(10, 30), utc(11)]


async def test_window_and_zone_errors_are_typed(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    too_long = await api(SLOTS, {"service": shop.service_id, "from": at(0), "to": at(0, day=63), "zone": "UTC"})
    reversed_window = await api(SLOTS, {"service": shop.service_id, "from": at(1), "to": at(0), "zone": "UTC"})
    bad_zone = await api(SLOTS, {"service": shop.service_id, "from": at(0), "to": at(1), "zone": "Berlin"})
    not_performing = await api(SLOTS, {"service": shop.service_id, "from": at(0), "to": at(1), "zone": "UTC",
                                       "staff": ["U3RhZmZNZW1iZXI6OTk5"]})
    assert too_long["availableSlots"] == {"__typename": "ValidationError", "message": "Ask for at most 62 days at once",
                                          "path": ["to"]}
    assert reversed_window["availableSlots"] == {"__typename": "ValidationError", "path": ["to"],
                                                 "message": "The end of the window must be after its start"}
    assert bad_zone["availableSlots"]["path"] == ["timeZone"]
    assert not_performing["availableSlots"] == {"__typename": "NotFound", "path": ["staffIds", "0"],
                                                "message": "Staff performing this service not found"}


def next_spring_forward(zone: ZoneInfo, after: date) -> date:
    """The first date on or after `after` whose noon is further ahead of UTC than its midnight."""

    def offset(day: date, hour: int) -> timedelta:
        return datetime(day.year, day.month, day.day, hour, tzinfo=zone).utcoffset() or timedelta(0)

    day = after
    while offset(day, 12) <= offset(day, 0):
        day += timedelta(days=1)
    return day


async def test_the_same_local_hours_before_and_after_a_dst_change(api: GraphQLClient) -> None:
    # given a New York technician working 09:00-11:00, and the next spring-forward date
    zone = ZoneInfo("America/New_York")
    change = next_spring_forward(zone, datetime.now(UTC).date() + timedelta(days=2))
    shop = await given_shop(api, zone="America/New_York", horizon=400, hours=[
        {"weekday": d, "ranges": [{"start": "09:00", "end": "11:00"}]}
        for d in ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")])
    before, after = change - timedelta(days=1), change + timedelta(days=1)
    # when slots are asked across the change, in New York time
    data = await api(SLOTS, {"service": shop.service_id, "zone": "America/New_York",
                             "from": f"{before}T00:00:00+00:00", "to": f"{after}T23:00:00-04:00"})
    # then each day has 09:00 and 09:30 and 10:00 local, whatever the offset
    local = [datetime.fromisoformat(start) for start in starts(data)]
    assert [(moment.date(), moment.strftime("%H:%M")) for moment in local] == [
        (day, clock) for day in (before, change, after) for clock in ("09:00", "09:30", "10:00")]
    assert {moment.utcoffset() for moment in local if moment.date() == before} == {timedelta(hours=-5)}
    assert {moment.utcoffset() for moment in local if moment.date() == after} == {timedelta(hours=-4)}


async def test_staff_schedule_hides_private_titles_from_everyone_but_the_staff_member(api: GraphQLClient) -> None:
    # given a staff member with an imported personal event and a manual block
    shop = await given_shop(api, hours=MORNING)
    accepted = await api("""mutation($input: AcceptStaffInviteInput!) { acceptStaffInvite(input: $input) {
        ... on AuthPayload { accessToken } } }""", {"input": {"code": shop.staff_invite, "password": "staff pass 123"}})
    staff_token = accepted["acceptStaffInvite"]["accessToken"]
    staff = await Staff.get()
    await BusyBlock.create(staff=staff, source=BusyBlockSource.EXTERNAL, title="Dentist",
                           starts_at=datetime.fromisoformat(utc(9)), ends_at=datetime.fromisoformat(utc(10)))
    block = """mutation($input: BlockTimeInput!) { blockTime(input: $input) { __typename } }"""
    await api(block, {"input": {"staffId": shop.staff_id, "startsAt": at(10), "endsAt": at(11), "title": "Therapy"}},
              staff_token)
    await api(block, {"input": {"staffId": shop.staff_id, "startsAt": at(11), "endsAt": at(12), "title": "Lunch"}},
              shop.owner_token)
    query = """query($staff: ID!, $from: DateTime!, $to: DateTime!) { staffSchedule(staffId: $staff, from: $from,
      to: $to) { __typename ... on StaffSchedule { entries { kind title } } ... on NotAuthorized { message } } }"""
    variables = {"staff": shop.staff_id, "from": at(0), "to": at(0, day=1)}
    # when the staff member, the owner and a customer look
    mine = await api(query, variables, staff_token)
    owners = await api(query, variables, shop.owner_token)
    customer = await sign_up(api, "c@example.com")
    customers = await api(query, variables, customer["accessToken"])
    # then titles are seen by the staff member and by whoever typed the block in; customers see nothing
    assert [e["title"] for e in mine["staffSchedule"]["entries"]] == ["Dentist", "Therapy", "Lunch"]
    assert [e["title"] for e in owners["staffSchedule"]["entries"]] == ["Busy", "Busy", "Lunch"]
    assert customers["staffSchedule"] == {"__typename": "NotAuthorized",
                                          "message": "Only the business's owner and staff may do this"}
