"""Cancelling several bookings at once (cancelBookings) through the API: all of them, or none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models import Booking, MailOutbox, OutboxEntry
from schema.ids import decode_id, encode_id
from tests.support.graphql import GraphQLClient, given_shop, sign_up
from tests.support.management import at, book, join

CANCEL_MANY = """mutation($input: CancelBookingsInput!) { cancelBookings(input: $input) { __typename
  ... on CancelBookingsPayload { bookings { id status cancelReason merchantNotes } }
  ... on BookingsRefused { message refusals { bookingId path reason message } }
  ... on ValidationError { message path } ... on NotAuthorized { message } } }"""
CANCEL = """mutation($input: CancelBookingInput!) { cancelBooking(input: $input) { __typename } }"""


def _pk(global_id: str) -> int:
    decoded = decode_id(global_id)
    assert decoded is not None and decoded.pk is not None
    return decoded.pk


async def _state() -> list[object]:
    bookings = await Booking.all().order_by("id").values_list("id", "status", "version", "cancel_reason")
    return [*bookings, await OutboxEntry.all().count(), await MailOutbox.all().count()]


async def test_the_business_cancels_several_bookings_at_once(api: GraphQLClient) -> None:
    # given three bookings, one an occurrence of a series, and one cancelled already
    shop = await given_shop(api)
    first = (await book(api, shop, at(10)))["booking"]["id"]
    second = (await book(api, shop, at(12), name="Dora", email="dora@example.com"))["booking"]["id"]
    series = await book(api, shop, at(14), recurrence="FREQ=DAILY;COUNT=2", name="Eve", email="eve@example.com")
    occurrence, later = (row["id"] for row in series["occurrences"])
    done = (await book(api, shop, at(16), name="Finn", email="finn@example.com"))["booking"]["id"]
    await api(CANCEL, {"input": {"id": done}}, shop.owner_token)
    outbox, mail = await OutboxEntry.all().count(), await MailOutbox.filter(kind="booking_cancelled").count()
    # when the owner cancels them together
    answer = await api(CANCEL_MANY, {"input": {"ids": [second, occurrence, first, done], "reason": " Boiler broke "}},
                       shop.owner_token)
    # then each listed booking is cancelled, in the order given, with the reason (the one cancelled before as it was)
    assert answer["cancelBookings"] == {"__typename": "CancelBookingsPayload", "bookings": [
        {"id": second, "status": "CANCELLED", "cancelReason": "Boiler broke", "merchantNotes": ""},
        {"id": occurrence, "status": "CANCELLED", "cancelReason": "Boiler broke", "merchantNotes": ""},
        {"id": first, "status": "CANCELLED", "cancelReason": "Boiler broke", "merchantNotes": ""},
        {"id": done, "status": "CANCELLED", "cancelReason": "", "merchantNotes": ""}]}
    # and only the occurrence named, not the rest of its series
    assert (await Booking.get(id=_pk(later))).status == "confirmed"
    # and, as a single cancel does, one outbox row per booking cancelled and one mail to each customer
    assert await OutboxEntry.all().count() == outbox + 3
    assert await OutboxEntry.filter(topic="booking.cancelled").count() == 4
    cancelled_mail = await MailOutbox.filter(kind="booking_cancelled").order_by("id").values_list(
        "address", flat=True)
    assert list(cancelled_mail[mail:]) == ["cleo@example.com", "dora@example.com", "eve@example.com"]


async def test_one_booking_that_cannot_be_cancelled_cancels_none(api: GraphQLClient) -> None:
    # given the shop's two bookings, and a booking of another business
    shop = await given_shop(api)
    other = await given_shop(api, owner_email="other@example.com")
    first = (await book(api, shop, at(10)))["booking"]["id"]
    second = (await book(api, shop, at(12)))["booking"]["id"]
    foreign = (await book(api, other, at(10)))["booking"]["id"]
    missing = encode_id("Booking", 999)
    before = await _state()
    # when the owner cancels their two with the other business's booking and one that does not exist among them
    answer = await api(CANCEL_MANY, {"input": {"ids": [first, foreign, second, missing]}}, shop.owner_token)
    # then both strangers are named by their place in the list, and nothing was cancelled
    assert answer["cancelBookings"] == {
        "__typename": "BookingsRefused", "message": "2 of the bookings cannot be changed, so none was",
        "refusals": [
            {"bookingId": foreign, "path": ["input", "ids", "1"], "reason": "NOT_FOUND",
             "message": "Booking not found"},
            {"bookingId": missing, "path": ["input", "ids", "3"], "reason": "NOT_FOUND",
             "message": "Booking not found"}]}
    assert await _state() == before


async def test_a_customer_cancels_their_own_bookings_that_have_not_started(api: GraphQLClient) -> None:
    # given a customer with two bookings ahead and one that has started, and another customer's booking
    shop = await given_shop(api)
    cleo = (await sign_up(api, "cleo@example.com", name="Cleo"))["accessToken"]
    dora = (await sign_up(api, "dora@example.com", name="Dora"))["accessToken"]
    mine = [(await book(api, shop, at(hour), token=cleo))["booking"]["id"] for hour in (10, 12)]
    started = (await book(api, shop, at(14), token=cleo))["booking"]["id"]
    theirs = (await book(api, shop, at(16), token=dora))["booking"]["id"]
    begun = datetime.now(UTC) - timedelta(minutes=10)
    await Booking.filter(id=_pk(started)).update(starts_at=begun, ends_at=begun + timedelta(hours=1))
    before = await _state()
    # when the customer lists the one that started, and the other customer's, with their own
    refused = await api(CANCEL_MANY, {"input": {"ids": [*mine, started, theirs]}}, cleo)
    # then both are named, each with its reason, and nothing was cancelled
    assert refused["cancelBookings"] == {
        "__typename": "BookingsRefused", "message": "2 of the bookings cannot be changed, so none was",
        "refusals": [
            {"bookingId": started, "path": ["input", "ids", "2"], "reason": "NOT_AUTHORIZED",
             "message": "This booking has already started; contact the business to change it"},
            {"bookingId": theirs, "path": ["input", "ids", "3"], "reason": "NOT_FOUND",
             "message": "Booking not found"}]}
    assert await _state() == before
    # when they cancel only their own that are ahead, then both are cancelled (merchant notes stay hidden)
    answer = await api(CANCEL_MANY, {"input": {"ids": mine}}, cleo)
    assert answer["cancelBookings"]["bookings"] == [
        {"id": booking_id, "status": "CANCELLED", "cancelReason": "", "merchantNotes": None} for booking_id in mine]


async def test_the_list_is_bounded_and_checked_before_anything_is_read(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    staff_token = await join(api, shop.staff_invite)
    booking = (await book(api, shop, at(10)))["booking"]["id"]
    before = await _state()

    async def cancel(ids: list[str], token: str | None = staff_token, reason: str = "") -> object:
        return (await api(CANCEL_MANY, {"input": {"ids": ids, "reason": reason}}, token))["cancelBookings"]

    assert await cancel([encode_id("Booking", n) for n in range(1, 102)]) == {
        "__typename": "ValidationError", "path": ["input", "ids"], "message": "Give at most 100 bookings"}
    assert await cancel([]) == {"__typename": "ValidationError", "path": ["input", "ids"],
                                "message": "Name at least one booking"}
    assert await cancel([booking, booking]) == {"__typename": "ValidationError", "path": ["input", "ids", "1"],
                                                "message": "This booking is listed twice"}
    assert await cancel([booking, encode_id("Service", 1)]) == {
        "__typename": "ValidationError", "path": ["input", "ids", "1"], "message": "Not a Booking ID"}
    assert await cancel([booking], reason="x" * 501) == {"__typename": "ValidationError", "path": ["input", "reason"],
                                                         "message": "Use at most 500 characters"}
    assert await cancel([booking], token=None) == {"__typename": "NotAuthorized", "message": "Sign in first"}
    assert await _state() == before
    # and a staff member of the business may cancel its bookings
    assert (await cancel([booking]))["__typename"] == "CancelBookingsPayload"  # type: ignore[index]

