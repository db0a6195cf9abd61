"""Merging duplicates (services.merging) through the real pull and push against an in-memory CalDAV account: each
kind of group settled, events deleted by the push and never in the request, every step in the sync log, the pull
afterwards changing nothing, and every refused merge leaving every row as it was."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.duplicates import ItemKind, ItemRef
from domain.merging import Refusal, StepKind
from jobs.booking_events import booking_event
from models import (
    Booking,
    BookingStatus,
    BusyBlock,
    EventMapping,
    EventMappingState,
    ExternalCalendar,
    RetiredEvent,
    Staff,
    SyncLogEntry,
    User,
    UserRole,
)
from providers.base import OutgoingEvent
from services.auth import Viewer
from services.availability import staff_schedule
from services.bookings import CANCEL_THIS, cancel_booking
from services.errors import InvalidInputError, NotAuthorizedError, NotFoundError
from services.event_links import EventLinkRefusedError
from services.journal import journal, journal_filter
from services.merging import merge_duplicates
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

EVENT, BLOCK, BOOKING = ItemKind.BOOKING_EVENT, ItemKind.BUSY_BLOCK, ItemKind.BOOKING
LATER_STILL = LATER + timedelta(minutes=5)


@pytest.fixture
async def calendars(db: str) -> Calendars:
    return await given_calendars()


async def mapping_of(booking_id: int, calendar: ExternalCalendar) -> EventMapping:
    return await EventMapping.get(booking_id=booking_id, external_calendar_id=calendar.id)


async def journal_refs(calendars: Calendars) -> list[tuple[str, int]]:
    staff = [calendars.given.staff]
    page = await journal(calendars.given.owner, staff, TEN - timedelta(hours=2), TEN + timedelta(hours=6),
                         journal_filter(None, None, None, include_cancelled=False), 50, None, LATER)
    return [(entry.kind.value, entry.ref) for entry in page.entries]


async def schedule_titles(calendars: Calendars) -> list[str]:
    entries = await staff_schedule(calendars.given.owner, calendars.given.staff.id, TEN - timedelta(hours=2),
                                   TEN + timedelta(hours=6))
    return [f"{entry.kind}:{entry.title}" for entry in entries]


async def test_a_copy_in_the_destination_is_deleted_by_the_push_and_the_time_counts_once(
        calendars: Calendars) -> None:
    # given the booking's event in Work, and the technician's own copy of it there
    booking_id = await booked_and_written(calendars)
    copy = by_hand(calendars, "work", "copy", TEN, "Boiler check Cleo")
    await pull_all(calendars)
    kept = await mapping_of(booking_id, calendars.work)
    block = await block_of(copy)
    assert await schedule_titles(calendars) == ["booking:Boiler check – Cleo Customer", "busy:Busy"]
    # when the booking's event is kept and the copy removed
    outcome = await merge_duplicates(calendars.given.owner, ItemRef(EVENT, kept.id), [ItemRef(BLOCK, block.id)],
                                     LATER)
    # then the copy is on its way out: no longer busy time, and deleted at the provider only by the push
    assert [(step.kind, step.item) for step in outcome.steps] == [(StepKind.DELETE_IMPORTED_EVENT,
                                                                    ItemRef(BLOCK, block.id))]
    assert await BusyBlock.all().count() == 0
    assert await RetiredEvent.all().values_list("mapping_id", "external_event_id") == [(kept.id, copy)]
    assert copy in events_in(calendars, "work")
    assert await push_due(calendars) == ["done"]
    assert events_in(calendars, "work") == {kept.external_event_id: f"UID:booking-{booking_id}@lockstep"}
    assert await SyncLogEntry.filter(action="delete_duplicate").order_by("id").values_list(
        "direction", "outcome") == [("none", "ok"), ("export", "ok")]
    # and the pull afterwards changes nothing; the booking alone holds the time, and gives it back when cancelled
    before = await snapshot()
    await pull_all(calendars, LATER_STILL)
    assert await snapshot() == before
    assert await schedule_titles(calendars) == ["booking:Boiler check – Cleo Customer"]
    await cancel_booking(calendars.given.owner, booking_id, CANCEL_THIS, LATER_STILL)
    assert await schedule_titles(calendars) == []


async def test_keeping_the_copy_takes_it_over_and_the_push_deletes_the_booking_s_earlier_event(
        calendars: Calendars) -> None:
    booking_id = await booked_and_written(calendars)
    earlier = (await mapping_of(booking_id, calendars.work)).external_event_id
    copy = by_hand(calendars, "work", "copy", TEN, "Boiler check – Cleo Customer")
    await pull_all(calendars)
    mapping = await mapping_of(booking_id, calendars.work)
    outcome = await merge_duplicates(calendars.given.owner, ItemRef(BLOCK, (await block_of(copy)).id),
                                     [ItemRef(EVENT, mapping.id)], LATER)
    assert [step.kind for step in outcome.steps] == [StepKind.ADOPT_EVENT]
    assert await push_due(calendars) == ["done"]
    assert events_in(calendars, "work") == {copy: f"UID:booking-{booking_id}@lockstep"}
    assert earlier != copy
    before = await snapshot()
    await pull_all(calendars, LATER_STILL)
    assert await snapshot() == before


async def test_a_booking_written_by_two_connections_keeps_the_destination_s_event(calendars: Calendars) -> None:
    # given the booking's event in Work, and one an earlier destination (Home) still holds
    booking_id = await booked_and_written(calendars)
    booking = await Booking.get(id=booking_id)
    written = await calendars.provider.put_event("home", await _event_of(booking_id))
    other = await EventMapping.create(booking=booking, external_calendar=calendars.home,
                                      external_event_id=written.event_id, etag=written.etag,
                                      version_written=booking.version, state=EventMappingState.SYNCED)
    kept = await mapping_of(booking_id, calendars.work)
    # when the Work event is kept and the Home one removed
    await merge_duplicates(calendars.given.owner, ItemRef(EVENT, kept.id), [ItemRef(EVENT, other.id)], LATER)
    # then the push deletes the Home event and nothing else
    assert await push_due(calendars) == ["done"]
    assert events_in(calendars, "home") == {}
    assert events_in(calendars, "work") == {kept.external_event_id: f"UID:booking-{booking_id}@lockstep"}
    assert (await EventMapping.get(id=other.id)).external_event_id == ""


async def _event_of(booking_id: int) -> OutgoingEvent:
    event = (await booking_event(booking_id)).event
    assert event is not None
    return event


async def test_the_same_personal_event_in_two_calendars_is_shown_once_and_stays_in_both(
        calendars: Calendars) -> None:
    at_noon = TEN + timedelta(hours=3)
    work = by_hand(calendars, "work", "dentist", at_noon, "Dentist")
    home = by_hand(calendars, "home", "dentist", at_noon, "dentist")
    await pull_all(calendars)
    kept = await BusyBlock.get(external_calendar_id=calendars.work.id, external_event_id=work)
    dropped = await BusyBlock.get(external_calendar_id=calendars.home.id, external_event_id=home)
    await merge_duplicates(calendars.given.owner, ItemRef(BLOCK, kept.id), [ItemRef(BLOCK, dropped.id)], LATER)
    # both events stay where they are; the schedule shows one
    assert await push_due(calendars) == []
    assert list(events_in(calendars, "work")) == [work] and list(events_in(calendars, "home")) == [home]
    assert await schedule_titles(calendars) == ["busy:Busy"]
    assert await journal_refs(calendars) == [("busy_block", kept.id)]
    assert (await BusyBlock.get(id=dropped.id)).duplicate_of_block_id == kept.id
    before = await snapshot()
    await pull_all(calendars, LATER_STILL)
    assert await snapshot() == before
    # once the one kept moves, they are two events again and both show
    by_hand(calendars, "work", "dentist", at_noon + timedelta(hours=1), "Dentist")
    await pull_all(calendars, LATER_STILL + timedelta(minutes=1))
    assert await schedule_titles(calendars) == ["busy:Busy", "busy:Busy"]
    shown = await journal_refs(calendars)
    assert len(shown) == 2 and ("busy_block", dropped.id) in shown


async def test_a_copy_lockstep_may_not_delete_is_dropped_while_the_booking_keeps_its_time(
        calendars: Calendars) -> None:
    booking_id = await booked_and_written(calendars)
    shared = by_hand(calendars, "shared", "copy", TEN, "Boiler check")
    await pull_all(calendars)
    block = await block_of(shared)
    outcome = await merge_duplicates(calendars.given.owner, ItemRef(EVENT, (await mapping_of(
        booking_id, calendars.work)).id), [ItemRef(BLOCK, block.id)], LATER)
    assert [(step.kind, step.duplicate_of) for step in outcome.steps] == [
        (StepKind.DROP_BLOCK, ItemRef(BOOKING, booking_id))]
    assert await schedule_titles(calendars) == ["booking:Boiler check – Cleo Customer"]
    assert list(events_in(calendars, "shared")) == [shared]
    # the booking cancelled, the read-only copy is busy time like any other event
    await cancel_booking(calendars.given.owner, booking_id, CANCEL_THIS, LATER_STILL)
    assert await schedule_titles(calendars) == ["busy:Busy"]


async def _refused(calendars: Calendars, viewer: Viewer, keep: ItemRef, remove: list[ItemRef]) -> Exception:
    before = await snapshot()
    with pytest.raises((EventLinkRefusedError, InvalidInputError, NotFoundError, NotAuthorizedError)) as raised:
        await merge_duplicates(viewer, keep, remove, LATER)
    assert await snapshot() == before
    return raised.value


async def test_a_merge_is_all_or_nothing_and_checks_the_group_itself(calendars: Calendars) -> None:
    owner = calendars.given.owner
    booking_id = await booked_and_written(calendars)
    copy = by_hand(calendars, "work", "copy", TEN, "Boiler check")
    home_copy = by_hand(calendars, "home", "home-copy", TEN, "Cleo")
    lunch = by_hand(calendars, "home", "lunch", TEN + timedelta(hours=3), "Lunch")
    await pull_all(calendars)
    event = ItemRef(EVENT, (await mapping_of(booking_id, calendars.work)).id)
    block, home_block, other = [ItemRef(BLOCK, (await block_of(event_id)).id) for event_id in (copy, home_copy, lunch)]
    cases: list[tuple[ItemRef, list[ItemRef], list[str | int], str]] = [
        (event, [], ["input", "remove"], "Name at least one item to remove"),
        (event, [block] * 21, ["input", "remove"], "Remove at most 20 items at once"),
        (event, [block, event], ["input", "remove", 1], "The item kept cannot be removed too"),
        (event, [block, block], ["input", "remove", 1], "This item is named twice"),
        (event, [block, other], ["input", "remove", 1], "Not a likely duplicate of the item kept"),
        (other, [block], ["input", "keep"], "No likely duplicates of this item were found"),
    ]
    for keep, remove, path, message in cases:
        refused = await _refused(calendars, owner, keep, remove)
        assert isinstance(refused, InvalidInputError) and (refused.path, refused.message) == (path, message)
    # the second item cannot go: keeping Home's copy would take it over in a calendar bookings are not written to
    refused = await _refused(calendars, owner, home_block, [block, event])
    assert isinstance(refused, EventLinkRefusedError)
    assert (refused.reason, refused.path) == (Refusal.NOT_DESTINATION, ["input", "keep"])
    refused = await _refused(calendars, owner, ItemRef(BOOKING, booking_id), [block])
    assert isinstance(refused, InvalidInputError) and refused.path == ["input", "keep"]  # it has events: not an item


async def test_only_the_owner_and_the_staff_member_may_merge(calendars: Calendars) -> None:
    booking_id = await booked_and_written(calendars)
    copy = by_hand(calendars, "work", "copy", TEN, "Boiler check")
    await pull_all(calendars)
    keep = ItemRef(EVENT, (await mapping_of(booking_id, calendars.work)).id)
    remove = [ItemRef(BLOCK, (await block_of(copy)).id)]
    colleague = await User.create(email="dora@example.com", name="Dora", password_hash="-", role=UserRole.STAFF)
    await Staff.create(business_id=calendars.given.staff.business_id, user=colleague, name="Dora",
                       email="dora@example.com", time_zone="Europe/Berlin")
    rival = await User.create(email="rival@example.com", name="Rival", password_hash="-", role=UserRole.OWNER)
    assert isinstance(await _refused(calendars, Viewer(colleague.id, UserRole.STAFF), keep, remove),
                      NotAuthorizedError)
    assert isinstance(await _refused(calendars, Viewer(rival.id, UserRole.OWNER), keep, remove), NotFoundError)
    assert isinstance(await _refused(calendars, Viewer(None, UserRole.CUSTOMER), keep, remove), NotAuthorizedError)
    member = Viewer(calendars.given.staff.user_id or 0, UserRole.STAFF)
    assert [step.kind for step in (await merge_duplicates(member, keep, remove, LATER)).steps] == [
        StepKind.DELETE_IMPORTED_EVENT]
    assert await Booking.filter(id=booking_id).values_list("status", flat=True) == [BookingStatus.CONFIRMED]


async def test_a_booking_without_an_event_is_kept_and_its_copy_deleted(calendars: Calendars) -> None:
    # a booking made while no calendar was the destination, and the technician's own event for it in Home
    await ExternalCalendar.filter(id=calendars.work.id).update(is_destination=False)
    (booking,) = await book(calendars.given, TEN, NOW)
    copy = by_hand(calendars, "home", "copy", TEN, "Cleo")
    await pull_all(calendars)
    outcome = await merge_duplicates(calendars.given.owner, ItemRef(BOOKING, booking.id),
                                     [ItemRef(BLOCK, (await block_of(copy)).id)], LATER)
    assert [step.kind for step in outcome.steps] == [StepKind.DELETE_IMPORTED_EVENT]
    assert await push_due(calendars) == ["done"]
    assert events_in(calendars, "home") == {}
    assert (await mapping_of(booking.id, calendars.home)).external_event_id == ""
