"""Applying a report of a Calendly appointment (services.appointments.apply_appointment) on the real database: a
mapped event type's appointment becomes a booking of its service, an unmapped one a busy block, one overlapping a
customer's booking a busy block that goes through the conflict policy, a reschedule pair (in either order, twice)
moves the same booking, a cancellation cancels it without telling Calendly back, and a report Lockstep must not
apply (a disconnected connection, a calendar not importing, an older report) changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.appointments import AppointmentStep
from domain.calendly import Appointment
from domain.conflicts import ConflictPolicy
from models import (
    AppointmentType,
    Booking,
    BookingStatus,
    BusyBlock,
    BusyBlockSource,
    CalendarConnection,
    ConflictStatus,
    ConnectionHealth,
    EventMapping,
    EventMappingState,
    ExternalCalendar,
    ImportedAppointment,
    Notification,
    OutboxEntry,
    Staff,
    SyncConflict,
    SyncLogEntry,
    UserRole,
)
from services.appointments import apply_appointment
from services.auth import Viewer
from services.availability import staff_schedule
from services.sync_dispatch import dispatch_outbox
from tests.support.appointments import (
    OTHER_TYPE,
    T0,
    T1,
    appointment,
    event_uri,
    given_calendly_staff,
    given_mapped,
    invitee_uri,
    stored,
)
from tests.support.sync import ConnectedStaff, book

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)
TEN = datetime(2030, 1, 8, 9, tzinfo=UTC)  # 10:00 in Berlin
TWO = TEN + timedelta(hours=4)
HOUR = timedelta(hours=1)

BOOKED = appointment("E1", "I1", start=TEN)
# The reschedule of BOOKED to 14:00: the old invitee canceled as rescheduled, a new event with a new invitee.
OLD_HALF = appointment("E1", "I1", start=TEN, active=False, rescheduled=True, new=invitee_uri("E2", "I2"),
                       updated=T1)
NEW_HALF = appointment("E2", "I2", start=TWO, old=invitee_uri("E1", "I1"), updated=T1)
CANCELLED = appointment("E1", "I1", start=TEN, active=False, updated=T1, reason="Fixed it myself")


async def applied(given: ConnectedStaff, *reports: Appointment) -> list[AppointmentStep]:
    return [await apply_appointment(given.calendar.id, report, NOW) for report in reports]


async def test_a_mapped_appointment_becomes_a_booking_of_its_service_from_calendly(db: str) -> None:
    # given a Calendly account whose event type is mapped to the staff member's service
    given = await given_calendly_staff()
    await given_mapped(given)
    # when the appointment is reported, twice
    steps = await applied(given, BOOKED, BOOKED)
    # then it is one confirmed booking of the service, from Calendly, with the invitee as the customer
    assert steps == [AppointmentStep.CREATE, AppointmentStep.NOTHING]
    (booking,) = await Booking.all()
    assert (booking.source, booking.status, booking.service_id, booking.staff_id, booking.customer_name,
            booking.customer_email, booking.customer_notes, booking.version) == (
        "calendly", BookingStatus.CONFIRMED, given.service.id, given.staff.id, "Ann Lee", "ann@example.org",
        "Boiler make?: Vaillant\nAccess: Side door", 1)
    assert (booking.starts_at, booking.ends_at, booking.buffered_start, booking.buffered_end) == (
        TEN, TEN + HOUR, TEN, TEN + HOUR)
    # and the appointment is its event in the account calendar, as written (synced: nothing to push)
    assert await EventMapping.all().values_list("booking_id", "external_calendar_id", "external_event_id", "state",
                                                "version_written") == [
        (booking.id, given.calendar.id, event_uri("E1"), EventMappingState.SYNCED, 1)]
    # and the booking's change is in the outbox, for the staff member's own calendars
    assert await OutboxEntry.all().values_list("topic", "aggregate_id") == [("booking.created", booking.id)]
    # and the appointment is known with its holder and the invitee's reschedule link; no busy block was made
    assert await ImportedAppointment.all().values_list("event_uri", "invitee_uri", "active", "booking_id",
                                                       "busy_block_id", "reschedule_url") == [
        (event_uri("E1"), invitee_uri("E1", "I1"), True, booking.id, None, "https://calendly.com/reschedulings/I1")]
    assert await BusyBlock.all().count() == 0
    assert await SyncLogEntry.all().values_list("action", "outcome", "booking_id") == [
        ("appointment_create", "ok", booking.id)]


async def test_an_unmapped_appointment_is_busy_time_whose_title_only_the_staff_member_sees(db: str) -> None:
    # given a Calendly account whose event types are not mapped (one is mapped to no service)
    given = await given_calendly_staff()
    await AppointmentType.create(connection=given.connection, type_uri=OTHER_TYPE, name="Call", service=None)
    # when appointments of both are reported
    steps = await applied(given, BOOKED, appointment("E3", "I3", start=TWO, event_type=OTHER_TYPE))
    # then each is a busy block of the account calendar holding its time, and no booking was made
    assert steps == [AppointmentStep.CREATE, AppointmentStep.CREATE]
    blocks = await BusyBlock.all().order_by("starts_at")
    assert [(block.source, block.external_calendar_id, block.external_event_id, block.starts_at, block.ends_at,
             block.title) for block in blocks] == [
        (BusyBlockSource.EXTERNAL, given.calendar.id, event_uri("E1"), TEN, TEN + HOUR, "Boiler check with Ann Lee"),
        (BusyBlockSource.EXTERNAL, given.calendar.id, event_uri("E3"), TWO, TWO + HOUR, "Boiler check with Ann Lee")]
    assert await Booking.all().count() == 0
    assert await OutboxEntry.all().count() == 0
    assert await ImportedAppointment.all().order_by("id").values_list("busy_block_id", "booking_id") == [
        (blocks[0].id, None), (blocks[1].id, None)]
    # and the staff member sees its title, the owner only that the time is busy
    staff = await Staff.get(id=given.staff.id)
    mine = Viewer(staff.user_id, UserRole.STAFF)
    day = (TEN - HOUR, TWO + 2 * HOUR)
    assert [entry.title for entry in await staff_schedule(mine, staff.id, *day)] == [
        "Boiler check with Ann Lee", "Boiler check with Ann Lee"]
    assert [entry.title for entry in await staff_schedule(given.owner, staff.id, *day)] == ["Busy", "Busy"]


@pytest.mark.parametrize("mapped", [True, False], ids=["mapped", "unmapped"])
async def test_an_appointment_over_a_customers_booking_is_busy_time_and_asks_a_person(db: str, mapped: bool) -> None:
    # given a customer's confirmed Lockstep booking at 10:00, on a connection whose conflict policy is "ask"
    given = await given_calendly_staff(ConflictPolicy.ASK)
    if mapped:
        await given_mapped(given)
    (customer,) = await book(given, TEN, NOW)
    outbox_before = await OutboxEntry.all().count()
    # when a Calendly appointment at 10:30 is reported
    (step,) = await applied(given, appointment("E1", "I1", start=TEN + HOUR / 2))
    # then it holds its time as a busy block, never as a second booking
    assert step == AppointmentStep.CREATE
    (block,) = await BusyBlock.all()
    assert (block.external_event_id, block.starts_at, block.ends_at) == (event_uri("E1"), TEN + HOUR / 2,
                                                                         TEN + 3 * HOUR / 2)
    assert await Booking.all().values_list("id", "status", "version") == [(customer.id, BookingStatus.CONFIRMED, 1)]
    assert await OutboxEntry.all().count() == outbox_before
    # and a conflict is open for a person to settle, and the staff member and the owner are told
    assert await SyncConflict.all().values_list("booking_id", "connection_id", "kind", "external_event_id",
                                                "status") == [
        (customer.id, given.connection.id, "busy_overlap", event_uri("E1"), ConflictStatus.OPEN)]
    staff = await Staff.get(id=given.staff.id)
    assert sorted(await Notification.all().values_list("user_id", "kind")) == sorted(
        [(staff.user_id, "busy_overlap"), (given.owner.user_id, "busy_overlap")])


async def test_under_keep_both_the_overlap_is_settled_with_a_warning_and_the_booking_stands(db: str) -> None:
    # given a customer's booking on a connection whose conflict policy is "keep both"
    given = await given_calendly_staff(ConflictPolicy.KEEP_BOTH)
    await given_mapped(given)
    (customer,) = await book(given, TEN, NOW)
    # when an appointment over it is reported
    await applied(given, appointment("E1", "I1", start=TEN))
    # then both stand, the conflict is recorded as settled, and both people are told
    assert await Booking.all().values_list("id", "status") == [(customer.id, BookingStatus.CONFIRMED)]
    assert await BusyBlock.all().count() == 1
    assert await SyncConflict.all().values_list("status", "resolution") == [(ConflictStatus.SETTLED, "keep_both")]
    assert await Notification.all().count() == 2


@pytest.mark.parametrize("order", [
    (BOOKED, OLD_HALF, NEW_HALF), (BOOKED, NEW_HALF, OLD_HALF),
    (BOOKED, OLD_HALF, OLD_HALF, NEW_HALF, NEW_HALF), (BOOKED, NEW_HALF, NEW_HALF, OLD_HALF, OLD_HALF),
    (BOOKED, NEW_HALF, OLD_HALF, NEW_HALF, BOOKED)],
    ids=["canceled_first", "created_first", "canceled_first_twice", "created_first_twice", "late_copies"])
async def test_a_reschedule_pair_moves_the_same_booking_whatever_the_order(db: str,
                                                                            order: tuple[Appointment, ...]) -> None:
    # given a mapped appointment held as a booking
    given = await given_calendly_staff()
    await given_mapped(given)
    # when the reschedule pair (and copies) is reported in this order
    await applied(given, *order)
    # then the one booking is at the new time, its version grown, and its mapping names the new event
    (booking,) = await Booking.all()
    assert (booking.status, booking.starts_at, booking.ends_at, booking.version) == (
        BookingStatus.CONFIRMED, TWO, TWO + HOUR, 2)
    assert await EventMapping.all().values_list("booking_id", "external_event_id", "state", "version_written") == [
        (booking.id, event_uri("E2"), EventMappingState.SYNCED, 2)]
    # and the booking was created once and moved once: never cancelled
    assert await OutboxEntry.all().order_by("id").values_list("topic", flat=True) == [
        "booking.created", "booking.rescheduled"]
    assert await BusyBlock.all().count() == 0
    # and the new event holds it; the old one is known as rescheduled away
    assert await ImportedAppointment.all().order_by("event_uri").values_list(
        "event_uri", "active", "successor", "booking_id") == [
        (event_uri("E1"), False, invitee_uri("E2", "I2"), None), (event_uri("E2"), True, "", booking.id)]


async def test_a_rescheduled_busy_block_moves_to_the_new_time(db: str) -> None:
    # given an unmapped appointment held as a busy block
    given = await given_calendly_staff()
    await applied(given, BOOKED)
    (before,) = await BusyBlock.all()
    # when it is rescheduled, the new half first
    await applied(given, NEW_HALF, OLD_HALF)
    # then the same block holds the new time, keyed by the new event
    assert await BusyBlock.all().values_list("id", "external_event_id", "starts_at", "ends_at") == [
        (before.id, event_uri("E2"), TWO, TWO + HOUR)]
    assert await SyncConflict.all().count() == 0


async def test_busy_time_rescheduled_onto_a_customers_booking_asks_a_person(db: str) -> None:
    # given an unmapped appointment held as a busy block, and a customer's booking at 14:00
    given = await given_calendly_staff(ConflictPolicy.ASK)
    await applied(given, BOOKED)
    (customer,) = await book(given, TWO, NOW)
    # when the appointment is rescheduled to 14:00
    await applied(given, OLD_HALF, NEW_HALF)
    # then the block holds 14:00, the booking stands, and a conflict is open with both people told
    assert await BusyBlock.all().values_list("starts_at", flat=True) == [TWO]
    assert await Booking.all().values_list("id", "status") == [(customer.id, BookingStatus.CONFIRMED)]
    assert await SyncConflict.all().values_list("booking_id", "external_event_id", "status") == [
        (customer.id, event_uri("E2"), ConflictStatus.OPEN)]
    assert await Notification.filter(kind="busy_overlap").count() == 2


async def test_a_cancellation_cancels_the_booking_and_tells_calendly_nothing_back(db: str) -> None:
    # given a mapped appointment held as a booking, its creation dispatched
    given = await given_calendly_staff()
    await given_mapped(given)
    await applied(given, BOOKED)
    await dispatch_outbox(NOW)
    (booking,) = await Booking.all()
    (mapping,) = await EventMapping.all()
    # when the invitee's cancellation is reported
    (step,) = await applied(given, CANCELLED)
    # then the booking is cancelled and its Calendly mapping unlinked
    assert step == AppointmentStep.CANCEL
    cancelled = await Booking.get(id=booking.id)
    assert (cancelled.status, cancelled.version) == (BookingStatus.CANCELLED, 2)
    assert (await EventMapping.get(id=mapping.id)).state == EventMappingState.UNLINKED
    assert await ImportedAppointment.all().values_list("active", "booking_id") == [(False, None)]
    # and dispatching the cancellation owes Calendly no push (it made the cancellation itself)
    assert await OutboxEntry.filter(processed_at=None).values_list("topic", flat=True) == ["booking.cancelled"]
    assert mapping.id not in await dispatch_outbox(NOW)
    assert (await EventMapping.get(id=mapping.id)).state == EventMappingState.UNLINKED


async def test_a_cancellation_of_busy_time_removes_its_block(db: str) -> None:
    given = await given_calendly_staff()
    await applied(given, BOOKED)
    assert await BusyBlock.all().count() == 1
    await applied(given, CANCELLED)
    assert await BusyBlock.all().count() == 0
    assert await ImportedAppointment.all().values_list("active", "busy_block_id") == [(False, None)]


@pytest.mark.parametrize("state", ["disconnected", "not_importing"])
async def test_a_report_for_a_calendar_that_does_not_sync_changes_nothing(db: str, state: str) -> None:
    # given a mapped event type on a connection that was disconnected, or whose calendar imports nothing
    given = await given_calendly_staff()
    await given_mapped(given)
    if state == "not_importing":
        await ExternalCalendar.filter(id=given.calendar.id).update(import_busy=False)
    else:
        await CalendarConnection.filter(id=given.connection.id).update(health=ConnectionHealth.DISCONNECTED,
                                                                       credentials="")
    before = await stored()
    # when an appointment is reported
    (step,) = await applied(given, BOOKED)
    # then nothing is applied and nothing changed
    assert step == AppointmentStep.NOTHING
    assert await stored() == before


async def test_a_connection_awaiting_reauthorisation_still_takes_its_appointments_time(db: str) -> None:
    # given a mapped event type on a connection whose token Calendly stopped accepting
    given = await given_calendly_staff()
    await given_mapped(given)
    await CalendarConnection.filter(id=given.connection.id).update(
        health=ConnectionHealth.REAUTHORIZATION_REQUIRED)
    # when an appointment is delivered
    (step,) = await applied(given, BOOKED)
    # then its time is taken all the same: the delivery carries the appointment, no call to Calendly is needed
    assert step == AppointmentStep.CREATE
    assert await Booking.filter(status="confirmed").count() == 1


async def test_a_report_older_than_the_cancellation_does_not_book_again(db: str) -> None:
    # given a mapped appointment booked, then cancelled
    given = await given_calendly_staff()
    await given_mapped(given)
    await applied(given, BOOKED, CANCELLED)
    before = await stored()
    # when the booking's report comes again, late
    (step,) = await applied(given, BOOKED)
    # then nothing changed: the cancellation is newer
    assert step == AppointmentStep.NOTHING
    assert await stored() == before


async def test_an_older_cancellation_after_a_newer_report_changes_nothing(db: str) -> None:
    # given an appointment whose latest report (at T1) says it is on
    given = await given_calendly_staff()
    await given_mapped(given)
    await applied(given, appointment("E1", "I1", start=TEN, updated=T1))
    before = await stored()
    # when a cancellation from before that (T0) arrives
    (step,) = await applied(given, appointment("E1", "I1", start=TEN, active=False, updated=T0))
    # then the booking stands and nothing changed
    assert step == AppointmentStep.NOTHING
    assert await stored() == before


async def test_a_cancellation_never_known_takes_no_time_even_when_its_booking_report_comes_later(db: str) -> None:
    # given a cancellation of an appointment Lockstep never heard of
    given = await given_calendly_staff()
    await given_mapped(given)
    assert await applied(given, CANCELLED) == [AppointmentStep.NOTHING]
    # when the older report of its booking arrives after it
    assert await applied(given, BOOKED) == [AppointmentStep.NOTHING]
    # then it holds no time
    assert await Booking.all().count() == 0
    assert await BusyBlock.all().count() == 0
