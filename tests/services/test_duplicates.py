"""The duplicateCandidates query (services.duplicates): what each item shows, who may ask, and its bounds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.duplicates import DuplicateKind, ItemKind, ItemRef
from models import BusyBlock, BusyBlockSource, EventMapping, Staff, User, UserRole
from services.auth import Viewer
from services.duplicates import MAX_GROUPS, duplicate_candidates
from services.errors import InvalidInputError, NotAuthorizedError, NotFoundError
from tests.support.duplicates import TEN, Calendars, booked_and_written, by_hand, given_calendars, pull_all


@pytest.fixture
async def calendars(db: str) -> Calendars:
    return await given_calendars()


async def test_each_group_shows_its_items_with_their_calendars_and_a_suggested_keep(calendars: Calendars) -> None:
    booking_id = await booked_and_written(calendars)
    copy = by_hand(calendars, "home", "copy", TEN, "Boiler check")
    dentist = [by_hand(calendars, name, f"dentist-{name}", TEN + timedelta(hours=3), "Dentist")
               for name in ("work", "shared")]
    await pull_all(calendars)
    report = await duplicate_candidates(calendars.given.owner, calendars.given.staff.id, TEN - timedelta(days=1),
                                        TEN + timedelta(days=1))
    mapping = await EventMapping.get(booking_id=booking_id)
    assert report.truncated is False
    mirror, same = report.groups
    assert (mirror.kind, mirror.suggested_keep) == (DuplicateKind.BLOCK_MIRRORS_BOOKING,
                                                    ItemRef(ItemKind.BOOKING_EVENT, mapping.id))
    assert [(item.ref.kind, item.title, item.calendar.name if item.calendar else None, item.starts_at)
            for item in mirror.items] == [
        (ItemKind.BOOKING_EVENT, "Boiler check – Cleo Customer", "Work", TEN),
        (ItemKind.BUSY_BLOCK, "Busy", "Home", TEN)]  # the owner does not see a personal title
    assert mirror.items[1].block is not None and mirror.items[1].block.external_event_id == copy
    assert same.kind == DuplicateKind.SAME_EVENT_IN_TWO_CALENDARS
    assert [item.block.external_event_id for item in same.items if item.block] == dentist
    # the staff member sees their own titles
    member = Viewer(calendars.given.staff.user_id or 0, UserRole.STAFF)
    mine = await duplicate_candidates(member, calendars.given.staff.id, TEN - timedelta(days=1),
                                      TEN + timedelta(days=1))
    assert [item.title for item in mine.groups[1].items] == ["Dentist", "Dentist"]


async def test_only_the_owner_and_the_staff_member_may_ask_over_a_bounded_window(calendars: Calendars) -> None:
    staff_id = calendars.given.staff.id
    colleague = await User.create(email="dora@example.com", name="Dora", password_hash="-", role=UserRole.STAFF)
    await Staff.create(business_id=calendars.given.staff.business_id, user=colleague, name="Dora",
                       email="dora@example.com", time_zone="Europe/Berlin")
    with pytest.raises(NotAuthorizedError):
        await duplicate_candidates(Viewer(colleague.id, UserRole.STAFF), staff_id, TEN, TEN + timedelta(days=1))
    with pytest.raises(NotFoundError):
        await duplicate_candidates(calendars.given.owner, staff_id + 100, TEN, TEN + timedelta(days=1))
    with pytest.raises(InvalidInputError) as too_long:
        await duplicate_candidates(calendars.given.owner, staff_id, TEN, TEN + timedelta(days=63))
    assert (too_long.value.path, too_long.value.message) == (["to"], "Ask for at most 62 days at once")


async def test_an_answer_holds_at_most_so_many_groups(calendars: Calendars) -> None:
    staff = calendars.given.staff
    blocks = [BusyBlock(staff=staff, source=BusyBlockSource.EXTERNAL, external_calendar_id=calendar.id,
                        external_event_id=f"e{hour}", occurrence_key="k", title="Gym", recurring=False,
                        starts_at=TEN + timedelta(hours=hour), ends_at=TEN + timedelta(hours=hour, minutes=30))
              for hour in range(MAX_GROUPS + 1) for calendar in (calendars.work, calendars.home)]
    await BusyBlock.bulk_create(blocks)
    report = await duplicate_candidates(calendars.given.owner, staff.id, TEN, TEN + timedelta(days=30))
    assert (len(report.groups), report.truncated) == (MAX_GROUPS, True)
