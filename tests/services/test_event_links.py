"""Taking an imported event over as a booking's (services.event_links), through the real pull and push against an
in-memory CalDAV account: the event becomes the booking's, its block stops counting at once, the push writes the
booking onto it (and deletes the booking's earlier event), and pulls before and after change nothing else. Every
refusal leaves every row as it was."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.merging import Refusal
from models import (
    Booking,
    BookingStatus,
    BusyBlock,
    BusyBlockSource,
    CalendarConnection,
    ConflictStatus,
    EventMapping,
    EventMappingState,
    ExternalCalendar,
    RetiredEvent,
    Staff,
    SyncConflict,
    SyncDirection,
    SyncLogEntry,
    User,
    UserRole,
)
from services.auth import Viewer
from services.errors import NotAuthorizedError, NotFoundError
from services.event_links import EventLinkRefusedError, link_event_to_booking
from tests.support.duplicates import (
    LATER,
    NOW,
    TEN,
    Calendars,
    block_of,
    booked_and_written,
    by_hand,
    events_in,
    given_calendars,
    pull_all,
    push_due,
    snapshot,
)
from tests.support.sync import book


@pytest.fixture
async def calendars(db: str) -> Calendars:
    return await given_calendars()


async def test_an_event_made_by_hand_becomes_the_booking_s_and_lockstep_writes_no_second_one(
        calendars: Calendars) -> None:
    # given a booking not written yet, and the technician's own event for it at the same time in Work
    (booking,) = await book(calendars.given, TEN, NOW)
    event_id = by_hand(calendars, "work", "hand-made", TEN, "Cleo's boiler")
    await pull_all(calendars)
    block = await block_of(event_id)
    # when it is linked to the booking
    mapping = await link_event_to_booking(calendars.given.owner, block.id, booking.id, LATER)
    # then it is the booking's event, to be written, and no longer busy time
    assert (mapping.external_event_id, mapping.etag, mapping.version_written, mapping.state) == (
        event_id, "", 0, EventMappingState.PENDING)
    assert await BusyBlock.all().count() == 0
    assert await SyncLogEntry.filter(action="adopt_event").values_list("booking_id", "mapping_id") == [
        (booking.id, mapping.id)]
    # and the push writes the booking and Lockstep's marker onto that same event: the calendar holds one event
    assert await push_due(calendars) == ["done"]
    assert events_in(calendars, "work") == {event_id: f"UID:booking-{booking.id}@lockstep"}
    assert "Boiler check – Cleo Customer" in calendars.provider.calendars["work"].events[event_id].payload
    # and pulls afterwards read it as the booking's own event: no block, no hand edit, nothing more to push
    before = await snapshot()
    assert await pull_all(calendars, LATER + timedelta(minutes=1)) == ["done", "done", "done"]
    assert await push_due(calendars, LATER + timedelta(minutes=2)) == []
    assert await snapshot() == before
    assert (await EventMapping.get(id=mapping.id)).state == EventMappingState.SYNCED


async def test_the_booking_s_earlier_event_goes_with_the_push_that_writes_the_adopted_one(
        calendars: Calendars) -> None:
    booking_id = await booked_and_written(calendars)
    earlier = (await EventMapping.get(booking_id=booking_id)).external_event_id
    copy = by_hand(calendars, "work", "copy", TEN, "Boiler check")
    await pull_all(calendars)
    mapping = await link_event_to_booking(calendars.given.owner, (await block_of(copy)).id, booking_id, LATER)
    assert await RetiredEvent.all().values_list("mapping_id", "external_event_id") == [(mapping.id, earlier)]
    assert await push_due(calendars) == ["done"]
    assert events_in(calendars, "work") == {copy: f"UID:booking-{booking_id}@lockstep"}
    assert await RetiredEvent.all().count() == 0
    assert await SyncLogEntry.filter(booking_id=booking_id).order_by("id").values_list("action", "outcome") == [
        ("create", "ok"), ("busy_overlap", "ok"), ("replace_event", "ok"), ("adopt_event", "ok"),
        ("delete_duplicate", "ok"), ("update", "ok")]
    # the busy-overlap conflict the copy opened is explained: the event is the booking's now
    assert await SyncConflict.all().values_list("kind", "status", "resolution", "settled_by_id") == [
        ("busy_overlap", ConflictStatus.SETTLED, "", calendars.given.owner.user_id)]


async def test_a_pull_before_the_push_neither_imports_the_event_again_nor_takes_it_for_a_hand_edit(
        calendars: Calendars) -> None:
    booking_id = await booked_and_written(calendars)
    copy = by_hand(calendars, "work", "copy", TEN, "Boiler check")
    await pull_all(calendars)
    await link_event_to_booking(calendars.given.owner, (await block_of(copy)).id, booking_id, LATER)
    # the technician edits the event again before the push ran, and the calendar is listed in full
    by_hand(calendars, "work", "copy", TEN, "Boiler check (Cleo)")
    await ExternalCalendar.filter(id=calendars.work.id).update(sync_cursor="")
    assert await pull_all(calendars) == ["done", "done", "done"]
    assert await BusyBlock.all().count() == 0
    # no conflict but the busy overlap the first import opened, settled by the link
    assert await SyncConflict.all().values_list("kind", "status") == [("busy_overlap", ConflictStatus.SETTLED)]
    assert await Booking.filter(id=booking_id).values_list("starts_at", "status") == [(TEN, BookingStatus.CONFIRMED)]
    assert await push_due(calendars) == ["done"]
    assert events_in(calendars, "work") == {copy: f"UID:booking-{booking_id}@lockstep"}


async def _denied(calendars: Calendars, viewer: Viewer, block_id: int, booking_id: int) -> Exception:
    before = await snapshot()
    with pytest.raises((EventLinkRefusedError, NotFoundError, NotAuthorizedError)) as raised:
        await link_event_to_booking(viewer, block_id, booking_id, LATER)
    assert await snapshot() == before
    return raised.value


async def test_refusals_change_nothing(calendars: Calendars) -> None:
    given = calendars.given
    (booking,) = await book(given, TEN, NOW)
    (cancelled,) = await book(given, TEN + timedelta(hours=2), NOW, name="Dora")
    await Booking.filter(id=cancelled.id).update(status=BookingStatus.CANCELLED)
    series = await book(given, TEN + timedelta(hours=4), NOW, recurrence="FREQ=WEEKLY;COUNT=2", name="Eve")
    work = by_hand(calendars, "work", "work", TEN, "Cleo")
    home = by_hand(calendars, "home", "home", TEN, "Cleo")
    shared = by_hand(calendars, "shared", "shared", TEN, "Cleo")
    weekly = by_hand(calendars, "work", "weekly", TEN + timedelta(hours=6), "Cleo",
                     extra="RRULE:FREQ=WEEKLY;COUNT=2\r\n")
    await pull_all(calendars)
    manual = await BusyBlock.create(staff=given.staff, source=BusyBlockSource.MANUAL, title="Lunch",
                                    starts_at=TEN, ends_at=TEN + timedelta(hours=1))
    block = (await block_of(work)).id
    cases = [
        (manual.id, booking.id, Refusal.BLOCKED_TIME),
        (block, cancelled.id, Refusal.BOOKING_NOT_CONFIRMED),
        (block, series[0].id, Refusal.RECURRING_BOOKING),
        ((await BusyBlock.filter(external_event_id=weekly).first()).id, booking.id,  # type: ignore[union-attr]
         Refusal.RECURRING_EVENT),
        ((await block_of(home)).id, booking.id, Refusal.NOT_DESTINATION),
        ((await block_of(shared)).id, booking.id, Refusal.READ_ONLY_CALENDAR),
    ]
    for block_id, booking_id, reason in cases:
        refused = await _denied(calendars, given.owner, block_id, booking_id)
        assert isinstance(refused, EventLinkRefusedError) and refused.reason == reason, (block_id, reason)
    await CalendarConnection.filter(id=given.connection.id).update(direction=SyncDirection.IMPORT_ONLY)
    refused = await _denied(calendars, given.owner, block, booking.id)
    assert isinstance(refused, EventLinkRefusedError) and refused.reason == Refusal.IMPORT_ONLY_CONNECTION
    assert refused.path == ["input", "busyBlockId"]


async def test_only_the_owner_and_the_staff_member_may_link_and_only_their_own_booking(calendars: Calendars) -> None:
    given = calendars.given
    (booking,) = await book(given, TEN, NOW)
    event_id = by_hand(calendars, "work", "work", TEN, "Cleo")
    await pull_all(calendars)
    block = await block_of(event_id)
    colleague_user = await User.create(email="dora@example.com", name="Dora", password_hash="-",
                                       role=UserRole.STAFF)
    colleague = await Staff.create(business_id=given.staff.business_id, user=colleague_user, name="Dora",
                                   email="dora@example.com", time_zone="Europe/Berlin")
    stranger = await User.create(email="rival@example.com", name="Rival", password_hash="-", role=UserRole.OWNER)
    customer = await User.create(email="cleo@example.com", name="Cleo", password_hash="-", role=UserRole.CUSTOMER)
    as_colleague = Viewer(colleague_user.id, UserRole.STAFF)
    assert isinstance(await _denied(calendars, as_colleague, block.id, booking.id), NotAuthorizedError)
    assert isinstance(await _denied(calendars, Viewer(stranger.id, UserRole.OWNER), block.id, booking.id),
                      NotFoundError)
    assert isinstance(await _denied(calendars, Viewer(customer.id, UserRole.CUSTOMER), block.id, booking.id),
                      NotFoundError)
    # a colleague's booking at another time cannot take over this staff member's event
    (theirs,) = await book(given, TEN + timedelta(hours=3), NOW, name="Finn")
    await Booking.filter(id=theirs.id).update(staff_id=colleague.id)
    refused = await _denied(calendars, given.owner, block.id, theirs.id)
    assert isinstance(refused, EventLinkRefusedError) and refused.reason == Refusal.OTHER_STAFF_MEMBER
    # the staff member themself may
    member = Viewer(given.staff.user_id or 0, UserRole.STAFF)
    linked = await link_event_to_booking(member, block.id, booking.id, LATER)
    assert linked.external_event_id == block.external_event_id
