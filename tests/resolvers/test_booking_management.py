"""Reassigning a booking to another staff member (reassignBooking) through the API, and what the sync then does with
the events in both staff members' calendars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobs.push import push_mapping
from models import (
    Booking,
    BookingStatus,
    CalendarConnection,
    EventMapping,
    EventMappingState,
    ExternalCalendar,
    MailOutbox,
    OutboxEntry,
    Provider,
)
from providers.base import RemoteCalendar
from schema.ids import decode_id
from services.sync_dispatch import dispatch_outbox
from tests.fakes.memory import MemoryProvider
from tests.support.graphql import GraphQLClient, Shop, given_shop, sign_up
from tests.support.management import at, book, join, second_staff, utc

REASSIGN = """mutation($input: ReassignBookingInput!) { reassignBooking(input: $input) { __typename
  ... on BookingPayload { booking { id startsAt version staff { name } } occurrences { id status staff { name } } }
  ... on SlotUnavailable { message unavailableStarts } ... on StaffInactive { message path }
  ... on ValidationError { message path } ... on NotAuthorized { message } ... on NotFound { message path } } }"""
DEACTIVATE = """mutation($input: DeactivateStaffInput!) { deactivateStaff(input: $input) { __typename } }"""
CANCEL = """mutation($input: CancelBookingInput!) { cancelBooking(input: $input) { __typename } }"""


def pk(global_id: str) -> int:
    decoded = decode_id(global_id)
    assert decoded is not None and decoded.pk is not None
    return decoded.pk


async def _connected(staff_id: str, calendar_id: str) -> tuple[MemoryProvider, ExternalCalendar]:
    """The staff member's calendar account (a memory fake), with one calendar that is their destination."""
    connection = await CalendarConnection.create(staff_id=pk(staff_id), provider=Provider.CALDAV,
                                                 account_label=calendar_id)
    calendar = await ExternalCalendar.create(connection=connection, provider_calendar_id=calendar_id, name="Work",
                                             time_zone="Europe/Berlin", import_busy=True, is_destination=True,
                                             primary=True)
    provider = MemoryProvider([RemoteCalendar(calendar_id, "Work", "", "Europe/Berlin", writable=True, primary=True)])
    return provider, calendar


async def _push_all(providers: dict[int, MemoryProvider]) -> None:
    """Dispatch the outbox and run every push it owes, each with its calendar's account."""
    now = datetime.now(UTC) + timedelta(seconds=1)
    for mapping_id in await dispatch_outbox(now):
        mapping = await EventMapping.get(id=mapping_id)
        outcome = await push_mapping(mapping_id, providers[mapping.external_calendar_id], now)
        assert outcome.status == "done", outcome


async def _state() -> list[object]:
    bookings = await Booking.all().order_by("id").values_list("id", "staff_id", "status", "version", "starts_at")
    return [*bookings, await OutboxEntry.all().count(), await MailOutbox.all().count()]


async def test_a_reassigned_booking_leaves_the_old_calendar_and_reaches_the_new_one(api: GraphQLClient) -> None:
    # given Sam and Kim, each with a connected calendar, and a customer's booking with Sam already in Sam's calendar
    shop = await given_shop(api)
    kim, _ = await second_staff(api, shop)
    sam_account, sam_calendar = await _connected(shop.staff_id, "sam-work")
    kim_account, kim_calendar = await _connected(kim, "kim-work")
    providers = {sam_calendar.id: sam_account, kim_calendar.id: kim_account}
    booking = (await book(api, shop, at(10)))["booking"]
    await _push_all(providers)
    event = f"booking-{pk(booking['id'])}@lockstep.ics"
    assert list(sam_account.calendars["sam-work"].events) == [event]
    # when the owner reassigns it to Kim
    answer = await api(REASSIGN, {"input": {"bookingId": booking["id"], "staffId": kim}}, shop.owner_token)
    # then it is Kim's, at the same time, at a new version
    assert answer["reassignBooking"] == {
        "__typename": "BookingPayload",
        "booking": {"id": booking["id"], "startsAt": utc(10), "version": 2, "staff": {"name": "Kim Tech"}},
        "occurrences": [{"id": booking["id"], "status": "CONFIRMED", "staff": {"name": "Kim Tech"}}]}
    # and an outbox row of the change was written with it
    assert await OutboxEntry.filter(topic="booking.reassigned").values_list("aggregate_id", "payload") == [
        (pk(booking["id"]), {"booking_id": pk(booking["id"]), "version": 2, "series_id": None})]
    # and the customer is told, by a mail that names both staff members
    mail = await MailOutbox.get(kind="booking_rescheduled")
    assert (mail.booking_id, mail.address, mail.data["staff"], mail.data["previousStaff"]) == (
        pk(booking["id"]), "cleo@example.com", "Kim Tech", "Sam Tech")
    # when the sync runs, then the event leaves Sam's calendar and is written into Kim's
    await _push_all(providers)
    assert sam_account.calendars["sam-work"].events == {}
    assert list(kim_account.calendars["kim-work"].events) == [event]
    # and each calendar's mapping stays with its calendar, both written at the booking's new version
    mappings = await EventMapping.all().order_by("id").values_list(
        "external_calendar_id", "booking_id", "state", "version_written", "external_event_id")
    assert mappings == [(sam_calendar.id, pk(booking["id"]), EventMappingState.SYNCED, 2, ""),
                        (kim_calendar.id, pk(booking["id"]), EventMappingState.SYNCED, 2, event)]


async def test_an_occurrence_moves_its_whole_series_with_it(api: GraphQLClient) -> None:
    # given a weekly series of three with Sam, its second occurrence cancelled
    shop = await given_shop(api)
    kim, _ = await second_staff(api, shop)
    series = await book(api, shop, at(10), staff_id=shop.staff_id, recurrence="FREQ=WEEKLY;COUNT=3")
    first, second, third = (row["id"] for row in series["occurrences"])
    await api(CANCEL, {"input": {"id": second}}, shop.owner_token)
    # when the owner reassigns the third occurrence to Kim
    answer = await api(REASSIGN, {"input": {"bookingId": third, "staffId": kim}}, shop.owner_token)
    # then every occurrence is Kim's, the one named first
    assert answer["reassignBooking"]["occurrences"] == [
        {"id": third, "status": "CONFIRMED", "staff": {"name": "Kim Tech"}},
        {"id": first, "status": "CONFIRMED", "staff": {"name": "Kim Tech"}},
        {"id": second, "status": "CANCELLED", "staff": {"name": "Kim Tech"}}]
    assert set(await Booking.all().values_list("staff_id", flat=True)) == {pk(kim)}
    # and one outbox row per occurrence, and one mail for the series, of its next occurrence
    assert await OutboxEntry.filter(topic="booking.reassigned").count() == 3
    (mail,) = await MailOutbox.filter(kind="booking_rescheduled")
    assert (mail.booking_id, mail.data["occurrences"]) == (pk(first), 2)


async def test_a_time_taken_for_the_new_staff_member_is_refused_and_nothing_changes(api: GraphQLClient) -> None:
    # given Sam's series of two, and Kim booked at the time of its second occurrence
    shop = await given_shop(api)
    kim, _ = await second_staff(api, shop)
    series = await book(api, shop, at(10), staff_id=shop.staff_id, recurrence="FREQ=DAILY;COUNT=2")
    await book(api, shop, at(10, 30, day=1), staff_id=kim, name="Dora", email="dora@example.com")
    before = await _state()
    # when the owner reassigns the series to Kim
    answer = await api(REASSIGN, {"input": {"bookingId": series["booking"]["id"], "staffId": kim}}, shop.owner_token)
    # then the taken start is named and nothing changed
    assert answer["reassignBooking"] == {"__typename": "SlotUnavailable", "message": "That time is not available",
                                         "unavailableStarts": [utc(10, day=1)]}
    assert await _state() == before


async def test_reassigning_to_someone_who_cannot_take_it_is_refused_and_nothing_changes(api: GraphQLClient) -> None:
    # given Sam's booking, Kim who performs the service but was deactivated, Lee who does not perform it
    shop = await given_shop(api)
    kim, _ = await second_staff(api, shop)
    lee, _ = await second_staff(api, shop, name="Lee Tech", email="lee@example.com", performs=False)
    await api(DEACTIVATE, {"input": {"staffId": kim}}, shop.owner_token)
    booking = (await book(api, shop, at(10), staff_id=shop.staff_id))["booking"]
    cancelled = (await book(api, shop, at(12), staff_id=shop.staff_id, name="Eve"))["booking"]
    await api(CANCEL, {"input": {"id": cancelled["id"]}}, shop.owner_token)
    before = await _state()

    async def reassign(booking_id: str, staff_id: str) -> object:
        answer = await api(REASSIGN, {"input": {"bookingId": booking_id, "staffId": staff_id}}, shop.owner_token)
        return answer["reassignBooking"]

    # when it is given to each of them, to Sam again, or a cancelled booking is given away, then each is refused
    assert await reassign(booking["id"], kim) == {"__typename": "StaffInactive", "path": ["input", "staffId"],
                                                  "message": "This staff member is not taking bookings"}
    assert await reassign(booking["id"], lee) == {"__typename": "NotFound", "path": ["input", "staffId"],
                                                  "message": "Staff performing this service not found"}
    assert await reassign(booking["id"], shop.staff_id) == {
        "__typename": "ValidationError", "path": ["input", "staffId"],
        "message": "The booking is already with this staff member"}
    assert await reassign(cancelled["id"], lee) == {"__typename": "ValidationError", "path": ["input", "bookingId"],
                                                    "message": "A cancelled booking cannot be reassigned"}
    # and nothing changed
    assert await _state() == before


async def test_only_the_businesss_owner_reassigns(api: GraphQLClient) -> None:
    # given Sam's booking; Kim who joined; another owner; the booking's customer
    shop = await given_shop(api)
    kim, kim_invite = await second_staff(api, shop)
    kim_token = await join(api, kim_invite)
    other: Shop = await given_shop(api, owner_email="other@example.com")
    customer = (await sign_up(api, "c@example.com"))["accessToken"]
    booking = (await book(api, shop, at(10), token=customer))["booking"]
    before = await _state()
    change = {"input": {"bookingId": booking["id"], "staffId": kim}}
    # when anyone but the owner tries, then they may not (another owner does not see the booking at all)
    assert (await api(REASSIGN, change, kim_token))["reassignBooking"] == {
        "__typename": "NotAuthorized", "message": "Only owner accounts may do this"}
    assert (await api(REASSIGN, change, customer))["reassignBooking"] == {
        "__typename": "NotAuthorized", "message": "Only owner accounts may do this"}
    assert (await api(REASSIGN, change, other.owner_token))["reassignBooking"] == {
        "__typename": "NotFound", "message": "Booking not found", "path": ["input", "bookingId"]}
    assert await _state() == before


async def test_a_deactivated_staff_members_bookings_are_listed_and_reassigned(api: GraphQLClient) -> None:
    # given Sam's two bookings ahead
    shop = await given_shop(api)
    kim, _ = await second_staff(api, shop)
    for hour in (10, 14):
        await book(api, shop, at(hour), staff_id=shop.staff_id)
    # when Sam is deactivated and each listed booking is reassigned to Kim
    listed = await api("""mutation($input: DeactivateStaffInput!) { deactivateStaff(input: $input) {
        ... on DeactivateStaffPayload { bookingsToReassign { id } } } }""", {"input": {"staffId": shop.staff_id}},
                       shop.owner_token)
    for row in listed["deactivateStaff"]["bookingsToReassign"]:
        answer = await api(REASSIGN, {"input": {"bookingId": row["id"], "staffId": kim}}, shop.owner_token)
        assert answer["reassignBooking"]["__typename"] == "BookingPayload"
    # then Sam has nothing ahead, and Kim has both, still confirmed
    assert await Booking.filter(staff_id=pk(shop.staff_id)).count() == 0
    assert await Booking.filter(staff_id=pk(kim), status=BookingStatus.CONFIRMED).count() == 2
