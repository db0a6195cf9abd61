"""bookings, booking and staffSchedule answer every date-time in the `timeZone` asked for, as availableSlots does:
the same instants on that zone's clock. Without one they answer in UTC, as before; an unknown zone is a typed
ValidationError."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from models import Booking
from tests.resolvers.test_bookings import at
from tests.support.graphql import CREATE_BOOKING, GraphQLClient, given_shop, sign_up

TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")
BOOKING_TIMES = "startsAt endsAt createdAt cancelledAt"
INVALID = """... on ValidationError { message path }"""
UNKNOWN_ZONE = "'Mars/Olympus' is not an IANA time zone name (for example Europe/Berlin)"


def on_clock(value: str, zone: ZoneInfo | None) -> str:
    """`value` as the API gives it in `zone` (UTC without one)."""
    moment = datetime.fromisoformat(value)
    return moment.astimezone(zone or ZoneInfo("UTC")).isoformat()


async def test_bookings_and_booking_answer_on_the_clock_of_the_zone_asked_for(api: GraphQLClient) -> None:
    # given a cancelled booking at 10:00 Berlin time
    shop = await given_shop(api)
    customer = await sign_up(api, "c@example.com")
    created = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(10)}},
                        customer["accessToken"])
    booking_id = created["createBooking"]["booking"]["id"]
    await api("""mutation($input: CancelBookingInput!) { cancelBooking(input: $input) { __typename } }""",
              {"input": {"id": booking_id}}, customer["accessToken"])
    row = await Booking.get()
    assert row.cancelled_at is not None
    stored: dict[str, datetime] = {"startsAt": row.starts_at, "endsAt": row.ends_at, "createdAt": row.created_at,
              "cancelledAt": row.cancelled_at}
    listed = f"""query($zone: String) {{ bookings(timeZone: $zone) {{ ... on BookingConnection {{
      edges {{ node {{ {BOOKING_TIMES} }} }} }} }} }}"""
    one = f"""query($id: ID!, $zone: String) {{ booking(id: $id, timeZone: $zone) {{ ... on Booking {{
      {BOOKING_TIMES} }} }} }}"""
    # when the owner lists it in Tokyo time, and the customer reads it in New York time and with no zone
    in_tokyo = (await api(listed, {"zone": "Asia/Tokyo"}, shop.owner_token))["bookings"]["edges"][0]["node"]
    in_new_york = (await api(one, {"id": booking_id, "zone": "America/New_York"}, customer["accessToken"]))["booking"]
    as_before = (await api(one, {"id": booking_id}, customer["accessToken"]))["booking"]
    # then every date-time is the stored instant on that clock, and UTC without a zone
    assert in_tokyo == {name: value.astimezone(TOKYO).isoformat() for name, value in stored.items()}
    assert in_new_york == {name: value.astimezone(NEW_YORK).isoformat() for name, value in stored.items()}
    assert as_before == {name: on_clock(value.isoformat(), None) for name, value in stored.items()}
    assert in_tokyo["startsAt"].endswith("+09:00") and as_before["startsAt"].endswith("+00:00")


async def test_the_staff_schedule_answers_its_entries_bookings_and_blocks_in_the_zone(api: GraphQLClient) -> None:
    # given a staff member with a booking at 10:00 and a block at 12:00, Berlin time
    shop = await given_shop(api)
    await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(10), "walkIn": True}},
              shop.owner_token)
    await api("""mutation($input: BlockTimeInput!) { blockTime(input: $input) { __typename } }""",
              {"input": {"staffId": shop.staff_id, "startsAt": at(12), "endsAt": at(13), "title": "Lunch"}},
              shop.owner_token)
    query = """query($staff: ID!, $from: DateTime!, $to: DateTime!, $zone: String) {
      staffSchedule(staffId: $staff, from: $from, to: $to, timeZone: $zone) { ... on StaffSchedule { entries {
        startsAt endsAt booking { startsAt endsAt } busyBlock { startsAt endsAt } } } } }"""
    # when the owner reads the day in Tokyo time
    entries = (await api(query, {"staff": shop.staff_id, "from": at(0), "to": at(0, day=1), "zone": "Asia/Tokyo"},
                         shop.owner_token))["staffSchedule"]["entries"]
    # then the entries and the booking and block inside them are on Tokyo's clock
    tokyo = {"startsAt": on_clock(at(10), TOKYO), "endsAt": on_clock(at(11), TOKYO)}
    block = {"startsAt": on_clock(at(12), TOKYO), "endsAt": on_clock(at(13), TOKYO)}
    assert entries == [{**tokyo, "booking": tokyo, "busyBlock": None}, {**block, "booking": None, "busyBlock": block}]


async def test_a_zone_that_is_not_an_iana_name_is_a_validation_error(api: GraphQLClient) -> None:
    # given a shop with a booking
    shop = await given_shop(api)
    created = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(10), "walkIn": True}},
                        shop.owner_token)
    booking_id = created["createBooking"]["booking"]["id"]
    # when each query is asked for in a zone that does not exist
    listed = await api(f"""{{ bookings(timeZone: "Mars/Olympus") {{ __typename {INVALID} }} }}""",
                       token=shop.owner_token)
    one = await api(f"""query($id: ID!) {{ booking(id: $id, timeZone: "Mars/Olympus") {{ __typename {INVALID} }}
      }}""", {"id": booking_id}, shop.owner_token)
    schedule = await api(f"""query($staff: ID!, $from: DateTime!, $to: DateTime!) {{ staffSchedule(staffId: $staff,
      from: $from, to: $to, timeZone: "Mars/Olympus") {{ __typename {INVALID} }} }}""",
                         {"staff": shop.staff_id, "from": at(0), "to": at(0, day=1)}, shop.owner_token)
    # then each names the argument
    refusal = {"__typename": "ValidationError", "message": UNKNOWN_ZONE, "path": ["timeZone"]}
    assert (listed["bookings"], one["booking"], schedule["staffSchedule"]) == (refusal, refusal, refusal)
