"""Booking through the API: creation, recurrence, reschedule, cancel, listing, and what denial leaves behind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from models import Booking, BookingSeries, OutboxEntry
from tests.support.graphql import CREATE_BOOKING, GraphQLClient, given_shop, sign_up

# A Monday well inside every horizon used here; the shop works 09:00-17:00 in Europe/Berlin.
DAY = (datetime.now(UTC) + timedelta(days=14)).date()
MONDAY = DAY + timedelta(days=(7 - DAY.weekday()) % 7)
BERLIN = ZoneInfo("Europe/Berlin")


def at(hour: int, minute: int = 0, day: int = 0) -> str:
    """A Berlin wall-clock time on MONDAY (+ days), as the client sends it."""
    local = datetime(MONDAY.year, MONDAY.month, MONDAY.day, hour, minute, tzinfo=BERLIN) + timedelta(days=day)
    return local.isoformat()


def utc(hour: int, minute: int = 0) -> str:
    """The same Berlin wall-clock time on MONDAY, as the API answers it (UTC)."""
    return datetime.fromisoformat(at(hour, minute)).astimezone(UTC).isoformat()


RESCHEDULE = """mutation($input: RescheduleBookingInput!) { rescheduleBooking(input: $input) { __typename
  ... on BookingPayload { booking { startsAt endsAt version } } ... on SlotUnavailable { message }
  ... on NotFound { path } ... on ValidationError { message path } } }"""
CANCEL = """mutation($input: CancelBookingInput!) { cancelBooking(input: $input) { __typename
  ... on BookingPayload { occurrences { startsAt status } } ... on ValidationError { message path }
  ... on NotFound { path } } }"""


async def test_customer_books_a_free_slot_and_an_outbox_row_is_written(api: GraphQLClient) -> None:
    # given
    shop = await given_shop(api)
    customer = await sign_up(api, "c@example.com", name="Cleo Customer")
    # when
    data = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(10),
                                                "customerNotes": "Side door"}}, customer["accessToken"])
    # then
    booking = data["createBooking"]["booking"]
    assert data["createBooking"]["__typename"] == "BookingPayload"
    assert (booking["startsAt"], booking["endsAt"]) == (utc(10), utc(11))
    assert booking["customerName"] == "Cleo Customer"
    assert booking["merchantNotes"] is None  # customers never see merchant notes
    row = await Booking.get()
    outbox = await OutboxEntry.all().values_list("topic", "aggregate_id", "payload")
    assert outbox == [("booking.created", row.id, {"booking_id": row.id, "version": 1, "series_id": None})]


async def test_a_taken_slot_is_slot_unavailable_and_writes_nothing(api: GraphQLClient) -> None:
    shop = await given_shop(api, buffer_after=15)
    customer = await sign_up(api, "c@example.com")
    await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(10)}}, customer["accessToken"])
    before = (await Booking.all().count(), await OutboxEntry.all().count())
    # 11:00 touches the first booking's 15-minute buffer after
    data = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(11)}},
                     customer["accessToken"])
    assert data["createBooking"] == {"__typename": "SlotUnavailable", "message": "That time is not available",
                                     "unavailableStarts": [utc(11)]}
    assert (await Booking.all().count(), await OutboxEntry.all().count()) == before


async def test_customer_cannot_book_outside_availability_or_off_the_step(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    customer = await sign_up(api, "c@example.com")
    for start in (at(8), at(16, 30), at(10, 10)):
        data = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": start}},
                         customer["accessToken"])
        assert data["createBooking"]["__typename"] == "SlotUnavailable", start
    assert await Booking.all().count() == 0
    assert await OutboxEntry.all().count() == 0


async def test_staff_book_a_walk_in_off_the_step(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    data = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(10, 10), "walkIn": True,
                                                "merchantNotes": "Pays cash"}}, shop.owner_token)
    booking = data["createBooking"]["booking"]
    assert (booking["customerName"], booking["merchantNotes"]) == ("Walk-in", "Pays cash")


async def test_naive_date_time_and_unknown_service_are_typed_errors(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    customer = await sign_up(api, "c@example.com")
    naive = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(10)[:-6]}},
                      customer["accessToken"])
    unknown = await api(CREATE_BOOKING, {"input": {"serviceId": "U2VydmljZTo5OTk", "startsAt": at(10)}},
                        customer["accessToken"])
    assert naive["createBooking"]["path"] == ["input", "startsAt"]
    assert unknown["createBooking"] == {"__typename": "NotFound", "message": "Service not found",
                                        "path": ["input", "serviceId"]}
    assert await Booking.all().count() == 0


async def test_weekly_series_is_booked_all_or_nothing(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    customer = await sign_up(api, "c@example.com")
    # given one booking in the third week at 10:00
    blocker = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(10, day=14),
                                                   "walkIn": True}}, shop.owner_token)
    assert blocker["createBooking"]["__typename"] == "BookingPayload"
    # when a weekly series of four at 10:00 is requested
    data = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(10),
                                                "recurrence": "FREQ=WEEKLY;COUNT=4"}}, customer["accessToken"])
    # then it fails naming the taken occurrence and nothing of it is written
    assert data["createBooking"]["__typename"] == "SlotUnavailable"
    assert len(data["createBooking"]["unavailableStarts"]) == 1
    assert await Booking.all().count() == 1
    assert await BookingSeries.all().count() == 0
    # and at 12:00 the whole series is booked
    booked = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(12),
                                                  "recurrence": "RRULE:FREQ=WEEKLY;COUNT=4"}}, customer["accessToken"])
    occurrences = booked["createBooking"]["occurrences"]
    assert [o["startsAt"][:10] for o in occurrences] == [str(MONDAY + timedelta(weeks=w)) for w in range(4)]
    assert await OutboxEntry.filter(topic="booking.created").count() == 5


async def test_unbounded_or_too_long_recurrence_is_a_validation_error(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    customer = await sign_up(api, "c@example.com")
    for rule in ("FREQ=WEEKLY", "FREQ=DAILY;COUNT=53", "FREQ=YEARLY;COUNT=2", "NONSENSE"):
        data = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(10),
                                                    "recurrence": rule}}, customer["accessToken"])
        assert data["createBooking"]["__typename"] == "ValidationError", rule
        assert data["createBooking"]["path"] == ["input", "recurrence"]
    assert await Booking.all().count() == 0
    assert await BookingSeries.all().count() == 0


async def test_reschedule_moves_the_booking_and_bumps_its_version(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    customer = await sign_up(api, "c@example.com")
    created = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(10)}},
                        customer["accessToken"])
    booking_id = created["createBooking"]["booking"]["id"]
    # moving into its own old span (overlapping itself) is fine
    data = await api(RESCHEDULE, {"input": {"id": booking_id, "startsAt": at(10, 30)}}, customer["accessToken"])
    assert data["rescheduleBooking"]["booking"] == {"startsAt": utc(10, 30),
                                                    "endsAt": utc(11, 30), "version": 2}
    assert await OutboxEntry.filter(topic="booking.rescheduled").count() == 1


async def test_reschedule_onto_a_taken_time_changes_nothing(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    customer = await sign_up(api, "c@example.com")
    first = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(10)}},
                      customer["accessToken"])
    await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(12)}}, customer["accessToken"])
    data = await api(RESCHEDULE, {"input": {"id": first["createBooking"]["booking"]["id"], "startsAt": at(12, 30)}},
                     customer["accessToken"])
    assert data["rescheduleBooking"]["__typename"] == "SlotUnavailable"
    row = await Booking.filter(version=1).order_by("starts_at").first()
    assert row is not None and row.starts_at.isoformat() == utc(10)
    assert await OutboxEntry.filter(topic="booking.rescheduled").count() == 0


async def test_another_customer_cannot_see_or_change_a_booking(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    owner_of_it = await sign_up(api, "c@example.com")
    stranger = await sign_up(api, "s@example.com")
    created = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(10)}},
                        owner_of_it["accessToken"])
    booking_id = created["createBooking"]["booking"]["id"]
    cancel = await api(CANCEL, {"input": {"id": booking_id}}, stranger["accessToken"])
    read = await api("query($id: ID!) { booking(id: $id) { __typename } }", {"id": booking_id},
                     stranger["accessToken"])
    assert cancel["cancelBooking"] == {"__typename": "NotFound", "path": ["input", "id"]}
    assert read["booking"] == {"__typename": "NotFound"}
    assert (await Booking.get()).status == "confirmed"


async def test_cancel_this_and_following_occurrences(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    customer = await sign_up(api, "c@example.com")
    series = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(10),
                                                  "recurrence": "FREQ=DAILY;COUNT=4"}}, customer["accessToken"])
    third = series["createBooking"]["occurrences"][2]["id"]
    data = await api(CANCEL, {"input": {"id": third, "scope": "THIS_AND_FOLLOWING"}}, customer["accessToken"])
    assert [o["status"] for o in data["cancelBooking"]["occurrences"]] == ["CANCELLED", "CANCELLED"]
    statuses = await Booking.all().order_by("starts_at").values_list("status", flat=True)
    assert statuses == ["confirmed", "confirmed", "cancelled", "cancelled"]
    assert await OutboxEntry.filter(topic="booking.cancelled").count() == 2
    # cancelling again changes nothing
    await api(CANCEL, {"input": {"id": third, "scope": "THIS_AND_FOLLOWING"}}, customer["accessToken"])
    assert await OutboxEntry.filter(topic="booking.cancelled").count() == 2


async def test_bookings_list_pages_with_cursors_and_filters(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    customer = await sign_up(api, "c@example.com")
    for hour in (9, 11, 13):
        await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(hour)}},
                  customer["accessToken"])
    query = """query($after: String) { bookings(first: 2, after: $after, filter: {status: CONFIRMED}) {
      ... on BookingConnection { edges { cursor node { startsAt } } pageInfo { hasNextPage endCursor } } } }"""
    page1 = (await api(query, {}, shop.owner_token))["bookings"]
    page2 = (await api(query, {"after": page1["pageInfo"]["endCursor"]}, shop.owner_token))["bookings"]
    assert [e["node"]["startsAt"] for e in page1["edges"]] == [utc(9), utc(11)]
    assert page1["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["startsAt"] for e in page2["edges"]] == [utc(13)]
    assert page2["pageInfo"]["hasNextPage"] is False
    stranger = await sign_up(api, "s@example.com")
    assert (await api(query, {}, stranger["accessToken"]))["bookings"]["edges"] == []


async def test_date_filters_compare_instants_whatever_the_offset(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    customer = await sign_up(api, "c@example.com")
    await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(10)}}, customer["accessToken"])
    start = datetime.fromisoformat(utc(10))
    tokyo, los_angeles = ZoneInfo("Asia/Tokyo"), ZoneInfo("America/Los_Angeles")
    query = """query($from: DateTime) { bookings(filter: {from: $from}) {
      ... on BookingConnection { edges { node { startsAt } } } } }"""
    just_before = (start - timedelta(minutes=30)).astimezone(tokyo).isoformat()
    just_after = (start + timedelta(minutes=30)).astimezone(los_angeles).isoformat()
    assert len((await api(query, {"from": just_before}, shop.owner_token))["bookings"]["edges"]) == 1
    assert (await api(query, {"from": just_after}, shop.owner_token))["bookings"]["edges"] == []


async def test_cancel_following_goes_by_position_in_the_series_not_by_time(api: GraphQLClient) -> None:
    # given a daily series of three whose first occurrence was moved after the second
    shop = await given_shop(api)
    series = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(10), "walkIn": True,
                                                  "recurrence": "FREQ=DAILY;COUNT=3"}}, shop.owner_token)
    first, second, _ = (o["id"] for o in series["createBooking"]["occurrences"])
    moved = await api(RESCHEDULE, {"input": {"id": first, "startsAt": at(14, day=1)}}, shop.owner_token)
    assert moved["rescheduleBooking"]["__typename"] == "BookingPayload"
    # when "this and following" is cancelled from the second occurrence
    await api(CANCEL, {"input": {"id": second, "scope": "THIS_AND_FOLLOWING"}}, shop.owner_token)
    # then the first occurrence, though now later in time, stays
    statuses = await Booking.all().order_by("occurrence_index").values_list("occurrence_index", "status")
    assert statuses == [(0, "confirmed"), (1, "cancelled"), (2, "cancelled")]


async def test_a_variable_that_is_not_a_date_time_is_explained_not_masked(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    body = await api.raw(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": "2026-13-45T10:00Z"}},
                         shop.owner_token)
    assert body["errors"][0]["message"] != "Unexpected error."
    assert "startsAt" in body["errors"][0]["message"]
    assert await Booking.all().count() == 0


async def test_far_off_years_are_a_validation_error(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    data = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": "9999-12-31T23:30:00Z",
                                                "walkIn": True}}, shop.owner_token)
    assert data["createBooking"] == {"__typename": "ValidationError", "path": ["input", "startsAt"],
                                     "message": "Use a date between the years 1970 and 2999"}


async def test_a_customer_cannot_cancel_or_move_a_booking_that_has_started(api: GraphQLClient) -> None:
    # given a customer's booking that began an hour ago (staff recorded it)
    shop = await given_shop(api, hours=[{"weekday": d, "ranges": [{"start": "00:00", "end": "24:00"}]}
                                        for d in ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY",
                                                  "SUNDAY")])
    customer = await sign_up(api, "c@example.com")
    created = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(10)}},
                        customer["accessToken"])
    booking_id = created["createBooking"]["booking"]["id"]
    started = datetime.now(UTC) - timedelta(hours=1)
    await Booking.filter().update(starts_at=started, ends_at=started + timedelta(hours=1), buffered_start=started,
                                  buffered_end=started + timedelta(hours=1))
    # when the customer tries to cancel or move it
    cancel = await api("""mutation($input: CancelBookingInput!) { cancelBooking(input: $input) { __typename
        ... on NotAuthorized { message } } }""", {"input": {"id": booking_id}}, customer["accessToken"])
    move = await api(RESCHEDULE, {"input": {"id": booking_id, "startsAt": at(12)}}, customer["accessToken"])
    # then both are refused and nothing changed, while the business can still cancel it
    message = "This booking has already started; contact the business to change it"
    assert cancel["cancelBooking"] == {"__typename": "NotAuthorized", "message": message}
    assert move["rescheduleBooking"]["__typename"] == "NotAuthorized"
    row = await Booking.get()
    assert (row.status, row.version, row.starts_at) == ("confirmed", 1, started)
    by_owner = await api(CANCEL, {"input": {"id": booking_id}}, shop.owner_token)
    assert by_owner["cancelBooking"]["__typename"] == "BookingPayload"


async def test_a_series_reaching_past_the_supported_years_is_rejected(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    data = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(10), "walkIn": True,
                                                "recurrence": "FREQ=MONTHLY;INTERVAL=12000;COUNT=2"}},
                     shop.owner_token)
    assert data["createBooking"] == {"__typename": "ValidationError", "path": ["input", "recurrence"],
                                     "message": "The series runs past the year 2999"}
    assert await Booking.all().count() == 0


async def test_a_customer_cannot_reach_a_started_occurrence_through_an_earlier_cancelled_one(
    api: GraphQLClient,
) -> None:
    # given a customer's daily series of three whose first occurrence they cancelled, and whose second has started
    shop = await given_shop(api, hours=[{"weekday": d, "ranges": [{"start": "00:00", "end": "24:00"}]}
                                        for d in ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY",
                                                  "SUNDAY")])
    customer = await sign_up(api, "c@example.com")
    series = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(10),
                                                  "recurrence": "FREQ=DAILY;COUNT=3"}}, customer["accessToken"])
    first = series["createBooking"]["occurrences"][0]["id"]
    await api(CANCEL, {"input": {"id": first, "scope": "THIS_OCCURRENCE"}}, customer["accessToken"])
    now = datetime.now(UTC)
    for index, start in ((0, now - timedelta(days=1)), (1, now - timedelta(minutes=30))):
        await Booking.filter(occurrence_index=index).update(starts_at=start, ends_at=start + timedelta(hours=1),
                                                            buffered_start=start,
                                                            buffered_end=start + timedelta(hours=1))
    before = await Booking.all().order_by("occurrence_index").values_list("status", "version")
    outbox_before = await OutboxEntry.all().count()
    # when the customer cancels "this and following" from the cancelled first occurrence
    data = await api("""mutation($input: CancelBookingInput!) { cancelBooking(input: $input) { __typename
        ... on NotAuthorized { message } } }""", {"input": {"id": first, "scope": "THIS_AND_FOLLOWING"}},
                     customer["accessToken"])
    # then it is refused, and neither the started nor the later occurrence changed
    assert data["cancelBooking"] == {"__typename": "NotAuthorized",
                                     "message": "This booking has already started; contact the business to change it"}
    assert before == [("cancelled", 2), ("confirmed", 1), ("confirmed", 1)]
    assert await Booking.all().order_by("occurrence_index").values_list("status", "version") == before
    assert await OutboxEntry.all().count() == outbox_before


async def test_a_rule_that_never_matches_until_a_far_date_is_refused_and_books_nothing(api: GraphQLClient) -> None:
    # given a shop, when a series is asked for every 7 days on Tuesdays from a Monday, until 2999
    shop = await given_shop(api)
    data = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(10), "walkIn": True,
                                                "recurrence": "FREQ=DAILY;INTERVAL=7;BYDAY=TU;UNTIL=29991231"}},
                     shop.owner_token)
    # then it is a validation error of the rule, and nothing is written
    assert data["createBooking"] == {
        "__typename": "ValidationError", "path": ["input", "recurrence"],
        "message": "the rule matches too rarely: a series has all its occurrences within 104 times INTERVAL weeks of "
                   "the first, and this UNTIL is later; give COUNT, or an earlier UNTIL"}
    assert (await Booking.all().count(), await BookingSeries.all().count(), await OutboxEntry.all().count()) \
        == (0, 0, 0)
