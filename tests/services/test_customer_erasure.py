"""A customer deleting their account erases them from what the business keeps: the events of their bookings in the
staff member's calendar are rewritten without their name, contact details or notes (through the real dispatch and
push jobs, against the in-memory calendar), and the staff notices that listed their bookings name a "Former
customer" instead; another customer's booking, event and entry stay as they were, and a refused deletion changes
nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
import pytest

from jobs.push import push_mapping
from models import (
    Booking,
    BookingStatus,
    EventMapping,
    ExternalCalendar,
    MailOutbox,
    Notification,
    OutboxEntry,
    User,
    UserRole,
)
from providers.base import RemoteCalendar
from services.auth import Viewer
from services.booking_party import BookingRequest
from services.bookings import CANCEL_THIS, cancel_booking, create_booking
from services.errors import InvalidInputError
from services.profile import FORMER_CUSTOMER, delete_my_account
from services.sync_dispatch import claim_due_pushes, dispatch_outbox
from services.sync_health import record_failure, record_success
from tests.fakes.memory import MemoryProvider
from tests.support.sync import ConnectedStaff, book, given_connected_staff

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)
TEN_BERLIN = datetime(2030, 1, 8, 9, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
CLEO = "cleo@example.com"
PHONE = "+49 30 1234567"
NOTES = "Gate code 1234"
PERSONAL = ("Cleo", CLEO, PHONE, NOTES)
ANONYMOUS_DESCRIPTION = ("Service: Boiler check (60 min)\nCustomer: Former customer\nBooked with Lockstep: change it "
                         "there, or move it here and Lockstep follows if the time is free.")


def memory() -> MemoryProvider:
    return MemoryProvider([RemoteCalendar("work", "Work", "", "Europe/Berlin", writable=True, primary=True)])


async def given_customer(name: str = "Cleo Customer", email: str = CLEO) -> Viewer:
    user = await User.create(email=email, name=name, password_hash="-", role=UserRole.CUSTOMER)
    return Viewer(user.id, UserRole.CUSTOMER)


async def customer_books(given: ConnectedStaff, customer: Viewer, starts_at: datetime, *, now: datetime = NOW,
                         recurrence: str | None = None) -> list[Booking]:
    """The customer books for themself, with notes; the business took down their phone too."""
    rows = await create_booking(customer, BookingRequest(service_id=given.service.id, starts_at=starts_at,
                                                         staff_id=given.staff.id, customer_notes=NOTES,
                                                         recurrence=recurrence), now)
    await Booking.filter(id__in=[row.id for row in rows]).update(customer_phone=PHONE)
    return rows


async def push_everything(provider: MemoryProvider, now: datetime) -> list[str]:
    """The outbox dispatched and every push due run, as the scheduler and a worker do; the pushes' actions."""
    await dispatch_outbox(now)
    return [str((await push_mapping(mapping_id, provider, now)).action) for mapping_id in await claim_due_pushes(now)]


def unfolded(provider: MemoryProvider, event_id: str) -> str:
    return provider.calendars["work"].events[event_id].payload.replace("\r\n ", "").replace("\r\n\t", "")


def vevent(provider: MemoryProvider, event_id: str) -> Any:
    payload = provider.calendars["work"].events[event_id].payload
    return next(iter(icalendar.Calendar.from_ical(payload).walk("VEVENT")))


async def an_outage_listed(given: ConnectedStaff, bookings: list[Booking]) -> None:
    """The calendar was unreachable while the bookings waited, and answers again: the staff member and the owner
    are told, by name, which bookings are on their way."""
    await record_success(given.connection.id, NOW - timedelta(minutes=10))
    for minutes in (9, 5, 1):
        await record_failure(given.connection.id, "unreachable", NOW - timedelta(minutes=minutes))
    await record_success(given.connection.id, NOW)
    notes = await Notification.filter(kind="sync_recovered")
    assert [note.data["bookingIds"] for note in notes] == [[booking.id for booking in bookings]] * 2


async def notices() -> list[tuple[str, list[str]]]:
    """What the staff notices say: each notification's message, and each recovery mail's message and lines."""
    notes: list[tuple[str, list[str]]] = [
        (note.message, []) for note in await Notification.filter(kind="sync_recovered").order_by("id")]
    for mail in await MailOutbox.filter(kind="sync_recovered").order_by("id"):
        lines = mail.data["lines"]
        assert isinstance(lines, list)
        notes.append((str(mail.data["message"]), [str(line) for line in lines]))
    return notes


async def test_deleting_an_account_rewrites_its_events_and_the_staff_notices_without_the_customer(db: str) -> None:
    # given Cleo's booking and Dora's, in the staff member's calendar after an outage that listed both by name
    given = await given_connected_staff()
    cleo = await given_customer()
    (mine,) = await customer_books(given, cleo, TEN_BERLIN)
    (theirs,) = await book(given, TEN_BERLIN + timedelta(hours=2), NOW, name="Dora Other")
    provider = memory()
    assert await dispatch_outbox(NOW) != []
    await an_outage_listed(given, [mine, theirs])
    assert sorted(await push_everything(provider, NOW)) == ["create", "create"]
    my_event, their_event = f"booking-{mine.id}@lockstep.ics", f"booking-{theirs.id}@lockstep.ics"
    assert all(text in unfolded(provider, my_event) for text in PERSONAL)
    their_payload = provider.calendars["work"].events[their_event].payload
    listed = ("Calendar sync is working again; 2 bookings made while it was down are being written: "
              "{} Tue 08 Jan 10:00, Dora Other Tue 08 Jan 12:00")
    lines = ["Tuesday 8 January 2030, 10:00: {}, Boiler check",
             "Tuesday 8 January 2030, 12:00: Dora Other, Boiler check"]
    named = (listed.format("Cleo Customer"), [line.format("Cleo Customer") for line in lines])
    # (the owner is told, the staff member told and mailed)
    assert await notices() == [(named[0], []), (named[0], []), named]

    # when Cleo deletes her account
    await delete_my_account(cleo, CLEO, LATER)

    # then her booking is anonymous, at a new version, and owed to the calendar like any change of its details
    erased = await Booking.get(id=mine.id)
    assert (erased.customer_id, erased.customer_name, erased.customer_email, erased.customer_phone,
            erased.customer_notes, erased.version) == (None, FORMER_CUSTOMER, "", "", "", 2)
    owed = await OutboxEntry.filter(processed_at=None).values_list("topic", "aggregate_id", "payload")
    assert owed == [("booking.updated", mine.id, {"booking_id": mine.id, "version": 2, "series_id": None})]
    # and when the scheduler and a worker push it, the event keeps its time and loses everything of hers
    assert await push_everything(provider, LATER) == ["update"]
    event = vevent(provider, my_event)
    assert (str(event["SUMMARY"]), str(event["DESCRIPTION"]), event["DTSTART"].dt) == (
        "Boiler check – Former customer", ANONYMOUS_DESCRIPTION, TEN_BERLIN)
    assert [text for text in PERSONAL if text in unfolded(provider, my_event)] == []
    mapping = await EventMapping.get(booking_id=mine.id)
    assert (mapping.state, mapping.version_written) == ("synced", 2)
    # and the staff notices name a former customer where they named her, Dora as before
    anonymous = (listed.format(FORMER_CUSTOMER), [line.format(FORMER_CUSTOMER) for line in lines])
    assert await notices() == [(anonymous[0], []), (anonymous[0], []), anonymous]
    # while Dora's booking and event are untouched
    kept = await Booking.get(id=theirs.id)
    assert (kept.customer_name, kept.customer_email, kept.version) == ("Dora Other", CLEO, 1)
    assert provider.calendars["work"].events[their_event].payload == their_payload


async def test_only_bookings_a_calendar_shows_or_may_still_show_are_owed_a_push(db: str) -> None:
    # given a staff member whose calendar takes no bookings, and Cleo's bookings: one over, one ahead, one
    # cancelled, none of them in a calendar
    given = await given_connected_staff()
    await ExternalCalendar.filter(id=given.calendar.id).update(is_destination=False)
    cleo = await given_customer()
    (over,) = await customer_books(given, cleo, TEN_BERLIN)
    (ahead,) = await customer_books(given, cleo, TEN_BERLIN + timedelta(days=1))
    (called_off,) = await customer_books(given, cleo, TEN_BERLIN + timedelta(days=2))
    await cancel_booking(cleo, called_off.id, CANCEL_THIS, NOW)
    assert await dispatch_outbox(NOW) == []
    # when she deletes her account after the first one ended
    await delete_my_account(cleo, CLEO, TEN_BERLIN + timedelta(hours=3))
    # then each booking is anonymous at a new version, and only the one ahead is owed to calendars
    rows = await Booking.filter(id__in=[over.id, ahead.id, called_off.id]).order_by("id").values_list(
        "customer_name", "status", "version")
    assert rows == [(FORMER_CUSTOMER, BookingStatus.CONFIRMED, 2), (FORMER_CUSTOMER, BookingStatus.CONFIRMED, 2),
                    (FORMER_CUSTOMER, BookingStatus.CANCELLED, 3)]
    assert await OutboxEntry.filter(processed_at=None).values_list("aggregate_id", flat=True) == [ahead.id]


async def test_a_series_whose_first_occurrence_is_over_is_rewritten_whole(db: str) -> None:
    # given Cleo's weekly series of three in the staff member's calendar (its event hangs on the first occurrence)
    given = await given_connected_staff()
    cleo = await given_customer()
    occurrences = await customer_books(given, cleo, TEN_BERLIN, recurrence="FREQ=WEEKLY;COUNT=3")
    provider = memory()
    assert await push_everything(provider, NOW) == ["create"]
    series_event = f"series-{occurrences[0].series_id}@lockstep.ics"
    # when she deletes her account after the first occurrence
    after_first = TEN_BERLIN + timedelta(days=1)
    await delete_my_account(cleo, CLEO, after_first)
    # then every occurrence is owed, and the one push rewrites the series without her
    assert sorted(await OutboxEntry.filter(processed_at=None).values_list("aggregate_id", flat=True)) == [
        row.id for row in occurrences]
    assert await push_everything(provider, after_first) == ["update"]
    event = vevent(provider, series_event)
    assert (str(event["SUMMARY"]), str(event["DESCRIPTION"])) == ("Boiler check – Former customer",
                                                                   ANONYMOUS_DESCRIPTION)
    assert [text for text in PERSONAL if text in unfolded(provider, series_event)] == []


async def test_a_refused_deletion_owes_no_push_and_keeps_the_notices(db: str) -> None:
    # given Cleo's booking in the calendar, listed in a recovery notice
    given = await given_connected_staff()
    cleo = await given_customer()
    (mine,) = await customer_books(given, cleo, TEN_BERLIN)
    provider = memory()
    assert await dispatch_outbox(NOW) != []
    await an_outage_listed(given, [mine])
    await push_everything(provider, NOW)
    before = (await notices(), provider.calendars["work"].events[f"booking-{mine.id}@lockstep.ics"].payload)
    # when she confirms with another address
    with pytest.raises(InvalidInputError):
        await delete_my_account(cleo, "someone@example.com", LATER)
    # then nothing changed: her booking, its version, the outbox, the notices, the event
    kept = await Booking.get(id=mine.id)
    assert (kept.customer_id, kept.customer_name, kept.customer_phone, kept.version) == (
        cleo.user_id, "Cleo Customer", PHONE, 1)
    assert await OutboxEntry.filter(processed_at=None).count() == 0
    assert await push_everything(provider, LATER) == []
    assert (await notices(), provider.calendars["work"].events[f"booking-{mine.id}@lockstep.ics"].payload) == before
