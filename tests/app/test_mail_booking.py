"""Booking mail through the real ASGI app and the real mail job, to a real SMTP server on loopback: the customer
hears of a booking made, moved by the business, and cancelled, each in the business's name with a plain-text and an
HTML part and the calendar invitation (one event whose SEQUENCE grows, a CANCEL at the end); a reminder goes out
at its time and never after a cancel; a kind turned off is not sent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from zoneinfo import ZoneInfo

import pytest

from domain.mail import MailKind
from models import Business, MailOutbox, MailState
from schema.ids import decode_id
from tests.support.graphql import CREATE_BOOKING, GraphQLClient, Shop, given_shop, sign_up
from tests.support.invitations import invitation_of
from tests.support.mail import MAIL_FROM, MailTimeline, mail_runtime, states
from tests.support.smtp import SmtpTestServer, parts, running_smtp

BERLIN = ZoneInfo("Europe/Berlin")
CUSTOMER = "cleo@example.com"
RESCHEDULE = """mutation($input: RescheduleBookingInput!) { rescheduleBooking(input: $input) { __typename
  ... on BookingPayload { booking { id startsAt } } } }"""
CANCEL = """mutation($input: CancelBookingInput!) { cancelBooking(input: $input) { __typename
  ... on BookingPayload { booking { id status } } } }"""
SET_PREFERENCES = """mutation($input: SetMailPreferencesInput!) { setMailPreferences(input: $input) { __typename
  ... on MailPreferences { preferences { kind enabled } } ... on ValidationError { message path } } }"""
UPDATE_SERVICE = """mutation($input: UpdateServiceInput!) { updateService(input: $input) { __typename
  ... on Service { reminderHours } ... on NotAuthorized { message } } }"""


@pytest.fixture
def smtp() -> Iterator[SmtpTestServer]:
    with running_smtp() as server:
        yield server


@pytest.fixture
def mail_jobs(db: str, redis_url: str, smtp: SmtpTestServer) -> Iterator[MailTimeline]:
    with mail_runtime(db, redis_url, smtp.url):
        yield MailTimeline(redis_url)


def at_ten_in(days: int) -> datetime:
    local = datetime.now(BERLIN).replace(hour=10, minute=0, second=0, microsecond=0) + timedelta(days=days)
    return local.astimezone(UTC)


async def signed_up_customer(api: GraphQLClient) -> str:
    """A customer's access token. The account mail of the accounts and staff set up so far (verifying addresses,
    inviting staff) is left out: these tests read booking mail alone (tests/app/test_account_links.py and
    tests/app/test_staff_invite_mail.py read account mail)."""
    customer = (await sign_up(api, CUSTOMER, name="Cleo Customer"))["accessToken"]
    await MailOutbox.filter(kind__in=[MailKind.ACCOUNT_VERIFY.value, MailKind.STAFF_INVITE.value]).delete()
    return str(customer)


async def given_customer_booking(api: GraphQLClient, starts_at: datetime) -> tuple[Shop, str, str]:
    shop = await given_shop(api)
    customer = await signed_up_customer(api)
    made = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "staffId": shop.staff_id,
                                                "startsAt": starts_at.isoformat()}}, customer)
    assert made["createBooking"]["__typename"] == "BookingPayload", made
    return shop, customer, made["createBooking"]["booking"]["id"]


async def test_the_customer_is_told_of_a_booking_made_moved_by_the_business_and_cancelled(
        api: GraphQLClient, mail_jobs: MailTimeline, smtp: SmtpTestServer) -> None:
    # given a customer's booking in three days
    start = at_ten_in(3)
    shop, customer, booking_id = await given_customer_booking(api, start)
    # when the scheduler ticks and its mail job runs
    assert await mail_jobs.tick(datetime.now(UTC)) == ["sent"]
    # then one confirmation arrived, from the business's name at the deployment's address, in text and HTML
    (confirmed,) = smtp.to(CUSTOMER)
    sender = confirmed["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == ("Fix-It", MAIL_FROM)
    assert confirmed["To"].addresses == (Address(addr_spec=CUSTOMER),)
    local = start.astimezone(BERLIN)
    assert confirmed["Subject"] == f"Your booking on {local:%A} {local.day} {local:%B %Y}, 10:00 is confirmed"
    bodies = parts(confirmed)
    assert sorted(bodies) == ["text/calendar", "text/html", "text/plain"]
    assert "Hello Cleo Customer," in bodies["text/plain"]
    assert "Boiler check" in bodies["text/plain"] and "Sam Tech" in bodies["text/plain"]
    assert "<td>Boiler check</td>" in bodies["text/html"]
    # and it carries the invitation: the booking at its time in the staff member's zone, from the business
    first = invitation_of(confirmed, "REQUEST")
    assert first.uid == f"invitation-booking-{decode_pk(booking_id)}@lockstep.example"
    assert (first.sequence, first.starts_at, first.ends_at) == (1, start, start + timedelta(hours=1))
    assert (first.time_zone, first.status) == ("Europe/Berlin", "CONFIRMED")
    assert (first.organizer_email, first.organizer_name) == (MAIL_FROM, "Fix-It")
    assert (first.attendee_email, first.attendee_name) == (CUSTOMER, "Cleo Customer")
    assert first.summary == "Boiler check at Fix-It"

    # when the owner moves the booking an hour later
    moved = await api(RESCHEDULE, {"input": {"id": booking_id, "startsAt": (start + timedelta(hours=1)).isoformat()}},
                      shop.owner_token)
    assert moved["rescheduleBooking"]["__typename"] == "BookingPayload", moved
    assert await mail_jobs.tick(datetime.now(UTC)) == ["sent"]
    # then the customer is told the new time, and the old one
    rescheduled = smtp.to(CUSTOMER)[1]
    assert rescheduled["Subject"].startswith("Your booking has moved to ")
    assert rescheduled["Subject"].endswith(", 11:00")
    assert "(it was " in parts(rescheduled)["text/plain"]
    # with the same event at its new time, a higher SEQUENCE
    second = invitation_of(rescheduled, "REQUEST")
    assert (second.uid, second.sequence) == (first.uid, 2)
    assert second.starts_at == start + timedelta(hours=1)

    # when the owner cancels it
    cancelled = await api(CANCEL, {"input": {"id": booking_id}}, shop.owner_token)
    assert cancelled["cancelBooking"]["booking"]["status"] == "CANCELLED"
    assert await mail_jobs.tick(datetime.now(UTC)) == ["sent"]
    # then a cancellation arrives, and nothing else is owed: both reminders were dropped
    assert smtp.to(CUSTOMER)[2]["Subject"].endswith(" is cancelled")
    third = invitation_of(smtp.to(CUSTOMER)[2], "CANCEL")
    assert (third.uid, third.sequence, third.status) == (first.uid, 3, "CANCELLED")
    assert len(smtp.received) == 3
    assert await states() == [("booking_confirmed", "sent"), ("booking_reminder", "dropped"),
                              ("booking_rescheduled", "sent"), ("booking_reminder", "dropped"),
                              ("booking_cancelled", "sent")]
    # and no mail holds a token of either account
    for item in smtp.received:
        assert customer not in item.raw.decode() and shop.owner_token not in item.raw.decode()


async def test_the_reminder_goes_out_its_lead_time_before_the_start_and_not_earlier(
        api: GraphQLClient, mail_jobs: MailTimeline, smtp: SmtpTestServer) -> None:
    # given a booking in three days, its confirmation sent
    start = at_ten_in(3)
    await given_customer_booking(api, start)
    now = datetime.now(UTC)
    assert await mail_jobs.tick(now) == ["sent"]
    # when the clock reaches a minute before the reminder's time, nothing goes
    assert await mail_jobs.tick(start - timedelta(hours=24, minutes=1)) == []
    # when it reaches the reminder's time (24 hours before the start, the default), the reminder goes, once
    assert await mail_jobs.tick(start - timedelta(hours=24)) == ["sent"]
    assert await mail_jobs.tick(start - timedelta(hours=23)) == []
    reminder = smtp.to(CUSTOMER)[1]
    assert reminder["Subject"].startswith("Reminder: your booking on ")
    assert sorted(parts(reminder)) == ["text/html", "text/plain"]  # a reminder changes nothing in the calendar
    assert list(reminder.iter_attachments()) == []


async def test_no_reminder_after_a_cancel(api: GraphQLClient, mail_jobs: MailTimeline,
                                          smtp: SmtpTestServer) -> None:
    start = at_ten_in(3)
    _, customer, booking_id = await given_customer_booking(api, start)
    cancelled = await api(CANCEL, {"input": {"id": booking_id}}, customer)
    assert cancelled["cancelBooking"]["booking"]["status"] == "CANCELLED"
    # when the confirmation and cancellation go, and later the reminder's time comes
    assert await mail_jobs.tick(datetime.now(UTC)) == ["sent", "sent"]
    assert await mail_jobs.tick(start - timedelta(hours=24)) == []
    assert [message["Subject"].rsplit(" ", 2)[-2:] for message in smtp.to(CUSTOMER)] == [
        ["is", "confirmed"], ["is", "cancelled"]]


async def lead_changed(api: GraphQLClient, shop: Shop, hours: int, token: str | None = None) -> dict[str, object]:
    answer = await api(UPDATE_SERVICE, {"input": {"id": shop.service_id, "reminderHours": hours}},
                       token or shop.owner_token)
    result: dict[str, object] = answer["updateService"]
    return result


async def reminders() -> list[tuple[str, datetime]]:
    """Every reminder row's state and send time, in the order they were written."""
    return [(str(row.state), row.next_attempt_at)
            for row in await MailOutbox.filter(kind=MailKind.BOOKING_REMINDER.value).order_by("id")]


async def test_a_service_with_a_two_hour_lead_reminds_exactly_two_hours_before_the_start(
        api: GraphQLClient, mail_jobs: MailTimeline, smtp: SmtpTestServer) -> None:
    # given a service whose reminders go 2 hours ahead, and a customer's booking of it in three days
    shop = await given_shop(api)
    assert await lead_changed(api, shop, 2) == {"__typename": "Service", "reminderHours": 2}
    customer = await signed_up_customer(api)
    start = at_ten_in(3)
    made = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": start.isoformat()}},
                     customer)
    assert made["createBooking"]["__typename"] == "BookingPayload", made
    # then its reminder is due exactly 2 hours before the start
    assert await reminders() == [("pending", start - timedelta(hours=2))]
    assert await mail_jobs.tick(datetime.now(UTC)) == ["sent"]  # the confirmation
    # when the clock reaches a second before that, nothing goes; at it, the reminder goes, once
    assert await mail_jobs.tick(start - timedelta(hours=2, seconds=1)) == []
    assert await mail_jobs.tick(start - timedelta(hours=2)) == ["sent"]
    assert await mail_jobs.tick(start - timedelta(hours=1)) == []
    assert smtp.to(CUSTOMER)[1]["Subject"].startswith("Reminder: your booking on ")
    assert len(smtp.received) == 2


async def test_a_new_lead_time_moves_the_reminders_already_planned_for_the_services_bookings(
        api: GraphQLClient, mail_jobs: MailTimeline, smtp: SmtpTestServer) -> None:
    # given two bookings of a service with the default lead (24 hours), their reminders planned
    shop, customer, _ = await given_customer_booking(api, first := at_ten_in(3))
    second = at_ten_in(4)
    await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": second.isoformat()}}, customer)
    assert await reminders() == [("pending", first - timedelta(hours=24)), ("pending", second - timedelta(hours=24))]
    # when a customer tries to change the lead, then it is refused and the reminders stay as they are
    refused = await lead_changed(api, shop, 1, customer)
    assert refused["__typename"] == "NotAuthorized"
    assert await reminders() == [("pending", first - timedelta(hours=24)), ("pending", second - timedelta(hours=24))]
    # when the owner makes it 2 hours
    assert await lead_changed(api, shop, 2) == {"__typename": "Service", "reminderHours": 2}
    # then the planned reminders are dropped and planned again, 2 hours before each start
    assert await reminders() == [("dropped", first - timedelta(hours=24)), ("dropped", second - timedelta(hours=24)),
                                 ("pending", first - timedelta(hours=2)), ("pending", second - timedelta(hours=2))]
    assert await mail_jobs.tick(datetime.now(UTC)) == ["sent", "sent"]  # the confirmations
    assert await mail_jobs.tick(first - timedelta(hours=24)) == []
    assert await mail_jobs.tick(first - timedelta(hours=2)) == ["sent"]
    # when the owner turns reminders off, the one still owed is dropped and none is planned
    assert await lead_changed(api, shop, 0) == {"__typename": "Service", "reminderHours": 0}
    assert [state for state, _ in await reminders()] == ["dropped", "dropped", "sent", "dropped"]
    assert await mail_jobs.tick(second - timedelta(hours=2)) == []
    assert [message["Subject"].startswith("Reminder: ") for message in smtp.to(CUSTOMER)] == [False, False, True]


async def test_a_shorter_lead_sends_no_second_reminder_for_a_booking_already_reminded(
        api: GraphQLClient, mail_jobs: MailTimeline, smtp: SmtpTestServer) -> None:
    # given a booking whose reminder went out 24 hours ahead
    shop, _, _ = await given_customer_booking(api, start := at_ten_in(3))
    assert await mail_jobs.tick(start - timedelta(hours=24)) == ["sent", "sent"]
    # when the owner shortens the lead to 2 hours
    assert await lead_changed(api, shop, 2) == {"__typename": "Service", "reminderHours": 2}
    # then no reminder is owed again
    assert [(str(row.state), row.sent_at) for row in await MailOutbox.filter(kind="booking_reminder")] == [
        ("sent", start - timedelta(hours=24))]
    assert await mail_jobs.tick(start - timedelta(hours=2)) == []


async def test_a_service_without_reminders_plans_none(api: GraphQLClient, mail_jobs: MailTimeline) -> None:
    shop = await given_shop(api)
    changed = await api("""mutation($input: UpdateServiceInput!) { updateService(input: $input) {
        ... on Service { reminderHours } } }""", {"input": {"id": shop.service_id, "reminderHours": 0}},
                        shop.owner_token)
    assert changed["updateService"] == {"reminderHours": 0}
    customer = await signed_up_customer(api)
    await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at_ten_in(3).isoformat()}},
              customer)
    assert [row.kind for row in await MailOutbox.all()] == ["booking_confirmed"]


async def test_a_kind_turned_off_is_not_sent(api: GraphQLClient, mail_jobs: MailTimeline,
                                             smtp: SmtpTestServer) -> None:
    # given a customer who turned confirmations and reminders off
    shop = await given_shop(api)
    customer = await signed_up_customer(api)
    chosen = await api(SET_PREFERENCES, {"input": {"preferences": [
        {"kind": "BOOKING_CONFIRMED", "enabled": False}, {"kind": "BOOKING_REMINDER", "enabled": False}]}},
                       customer)
    kinds = {item["kind"]: item["enabled"] for item in chosen["setMailPreferences"]["preferences"]}
    assert kinds == {"BOOKING_CONFIRMED": False, "BOOKING_RESCHEDULED": True, "BOOKING_CANCELLED": True,
                     "BOOKING_REMINDER": False, "CONFLICT": True, "REAUTHORIZATION_REQUIRED": True,
                     "SYNC_RECOVERED": True}
    # when they book and then cancel
    made = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at_ten_in(3).isoformat()}},
                     customer)
    await api(CANCEL, {"input": {"id": made["createBooking"]["booking"]["id"]}}, customer)
    assert await mail_jobs.tick(datetime.now(UTC)) == ["sent"]
    # then only the cancellation was sent
    assert [message["Subject"].endswith(" is cancelled") for message in smtp.to(CUSTOMER)] == [True]
    # and the viewer reads the same choices back
    read = await api("{ mailPreferences { __typename ... on MailPreferences { preferences { kind enabled } } } }",
                     token=customer)
    assert {item["kind"]: item["enabled"] for item in read["mailPreferences"]["preferences"]} == kinds


async def test_a_mail_turned_off_after_it_was_queued_is_dropped(api: GraphQLClient, mail_jobs: MailTimeline,
                                                                smtp: SmtpTestServer) -> None:
    start = at_ten_in(3)
    _, customer, _ = await given_customer_booking(api, start)
    await api(SET_PREFERENCES, {"input": {"preferences": [{"kind": "BOOKING_REMINDER", "enabled": False}]}},
              customer)
    assert await mail_jobs.tick(datetime.now(UTC)) == ["sent"]
    assert await mail_jobs.tick(start - timedelta(hours=24)) == ["skipped"]
    assert await MailOutbox.filter(kind="booking_reminder").values_list("state", flat=True) == [MailState.DROPPED]
    assert len(smtp.received) == 1


async def test_preferences_need_a_signed_in_viewer(api: GraphQLClient) -> None:
    body = await api.raw(SET_PREFERENCES, {"input": {"preferences": [{"kind": "CONFLICT", "enabled": False}]}})
    assert body["data"]["setMailPreferences"]["__typename"] == "NotAuthorized"


def decode_pk(global_id: str) -> int:
    decoded = decode_id(global_id)
    assert decoded is not None and decoded.pk is not None
    return decoded.pk


async def test_a_series_is_one_event_and_a_cancelled_occurrence_becomes_an_exdate(
        api: GraphQLClient, mail_jobs: MailTimeline, smtp: SmtpTestServer) -> None:
    # given a customer who books a weekly series of three
    shop = await given_shop(api)
    customer = await signed_up_customer(api)
    start = at_ten_in(3)
    made = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": start.isoformat(),
                                                "recurrence": "FREQ=WEEKLY;COUNT=3"}}, customer)
    occurrences = made["createBooking"]["occurrences"]
    assert len(occurrences) == 3
    assert await mail_jobs.tick(datetime.now(UTC)) == ["sent"]
    # then one confirmation, whose invitation is the whole series
    (confirmed,) = smtp.to(CUSTOMER)
    series = invitation_of(confirmed, "REQUEST")
    assert series.uid.startswith("invitation-series-")
    assert (series.starts_at, series.rrule, series.exdates, series.sequence) == (
        start, "FREQ=WEEKLY;COUNT=3", (), 3)
    assert "This is the first of 3 appointments." in parts(confirmed)["text/plain"]
    # and a reminder for each occurrence, each at its own time
    reminders = await MailOutbox.filter(kind="booking_reminder").order_by("id")
    assert [row.next_attempt_at for row in reminders] == [
        datetime.fromisoformat(item["startsAt"]).astimezone(UTC) - timedelta(hours=24) for item in occurrences]
    # when the second occurrence is cancelled
    await api(CANCEL, {"input": {"id": occurrences[1]["id"]}}, customer)
    assert await mail_jobs.tick(datetime.now(UTC)) == ["sent"]
    # then the series is sent again, that occurrence an EXDATE, with a higher SEQUENCE
    changed = invitation_of(smtp.to(CUSTOMER)[1], "REQUEST")
    second_start = datetime.fromisoformat(occurrences[1]["startsAt"]).astimezone(UTC)
    assert (changed.uid, changed.sequence, changed.exdates) == (series.uid, 4, (second_start,))
    assert [str(row.state) for row in await MailOutbox.filter(kind="booking_reminder").order_by("id")] == [
        "pending", "dropped", "pending"]
    # when the rest is cancelled, the series is a CANCEL
    await api(CANCEL, {"input": {"id": occurrences[0]["id"], "scope": "THIS_AND_FOLLOWING"}}, customer)
    assert await mail_jobs.tick(datetime.now(UTC)) == ["sent"]
    ended = invitation_of(smtp.to(CUSTOMER)[2], "CANCEL")
    assert (ended.uid, ended.sequence) == (series.uid, 6)


async def test_a_moved_occurrence_is_sent_as_the_series_with_that_instance_and_the_business_address(
        api: GraphQLClient, mail_jobs: MailTimeline, smtp: SmtpTestServer) -> None:
    # given a business with an address and phone, and a customer who books a weekly series of three
    shop = await given_shop(api)
    await Business.filter(id=decode_pk(shop.business_id)).update(
        address="Hauptstraße 1, 10827 Berlin", phone="+49 30 1234567")
    customer = await signed_up_customer(api)
    start = at_ten_in(3)
    made = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": start.isoformat(),
                                                "recurrence": "FREQ=WEEKLY;COUNT=3"}}, customer)
    occurrences = made["createBooking"]["occurrences"]
    assert await mail_jobs.tick(datetime.now(UTC)) == ["sent"]
    series = invitation_of(smtp.to(CUSTOMER)[0], "REQUEST")
    assert series.location == "Hauptstraße 1, 10827 Berlin"
    assert series.description is not None and "+49 30 1234567" in series.description
    assert "Where: Hauptstraße 1, 10827 Berlin" in parts(smtp.to(CUSTOMER)[0])["text/plain"]
    # when the business moves the third occurrence a day later
    third = datetime.fromisoformat(occurrences[2]["startsAt"]).astimezone(UTC)
    moved = await api(RESCHEDULE, {"input": {"id": occurrences[2]["id"],
                                             "startsAt": (third + timedelta(days=1)).isoformat()}}, shop.owner_token)
    assert moved["rescheduleBooking"]["__typename"] == "BookingPayload", moved
    assert await mail_jobs.tick(datetime.now(UTC)) == ["sent"]
    # then the reschedule carries the series again, with a higher SEQUENCE, its rule unchanged and the third
    # occurrence an instance of its own at the new time
    changed = invitation_of(smtp.to(CUSTOMER)[1], "REQUEST")
    duration = series.ends_at - series.starts_at
    assert (changed.uid, changed.sequence, changed.rrule, changed.exdates) == (
        series.uid, 4, "FREQ=WEEKLY;COUNT=3", ())
    assert (changed.starts_at, changed.ends_at) == (series.starts_at, series.ends_at)
    assert changed.moved == ((third, third + timedelta(days=1), third + timedelta(days=1) + duration),)
    # when that moved occurrence is cancelled, the series drops the instance and excludes its planned start
    await api(CANCEL, {"input": {"id": occurrences[2]["id"]}}, customer)
    assert await mail_jobs.tick(datetime.now(UTC)) == ["sent"]
    cancelled = invitation_of(smtp.to(CUSTOMER)[2], "REQUEST")
    assert (cancelled.sequence, cancelled.exdates, cancelled.moved) == (5, (third,), ())
