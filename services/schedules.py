"""A staff member's working hours, dated overrides and manually blocked time."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from tortoise.transactions import in_transaction

from domain.intervals import Span
from models import (
    BusyBlock,
    BusyBlockSource,
    ScheduleOverride,
    Staff,
    WorkingHoursRange,
)
from services import live, validation
from services.access import manages_schedule, require_schedule_manager
from services.auth import Viewer
from services.errors import FieldProblem, InvalidInputError, NotFoundError
from services.locks import lock_staff

MAX_BLOCK = timedelta(days=366)
_CLOCK = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


@dataclass(frozen=True)
class ClockRange:
    """A range as typed by a person: "09:00" to "17:30"; "24:00" is the end of the day."""

    start: str
    end: str


def _minute(value: str, path: list[str | int]) -> int:
    match = _CLOCK.match(value)
    if not match or (match.group(1) == "24" and match.group(2) != "00"):
        raise InvalidInputError(path, "Use a 24-hour time like 09:00 (24:00 for the end of the day)")
    return int(match.group(1)) * 60 + int(match.group(2))


def _range(clock: ClockRange, path: list[str | int]) -> tuple[int, int]:
    checks = validation.FieldChecks()
    start = checks.check(_minute, clock.start, [*path, "start"])
    end = checks.check(_minute, clock.end, [*path, "end"])
    checks.done()
    if start == 1440:
        raise InvalidInputError([*path, "start"], "A range cannot start at 24:00")
    if end <= start:
        raise InvalidInputError([*path, "end"], "The end must be after the start")
    return start, end


def parse_ranges(ranges: list[ClockRange], path: list[str | int]) -> list[tuple[int, int]]:
    """Minutes since midnight for each range, rejecting empty, reversed and overlapping ranges (touching is fine).
    Every invalid range is reported; overlaps are looked for once every range is valid."""
    checks = validation.FieldChecks()
    parsed: list[tuple[int, int, int]] = []
    for index, clock in enumerate(ranges):
        with checks.field():
            parsed.append((*_range(clock, [*path, index]), index))
    checks.done()
    parsed.sort()
    for (_, previous_end, _), (start, _, index) in itertools.pairwise(parsed):
        if start < previous_end:
            checks.problems.append(FieldProblem((*path, index), "This range overlaps another range of the same day"))
    checks.done()
    return [(start, end) for start, end, _ in parsed]


async def staff_for(staff_id: int, path: list[str | int]) -> Staff:
    staff = await Staff.get_or_none(id=staff_id)
    if staff is None:
        raise NotFoundError("Staff", path)
    return staff


@dataclass(frozen=True)
class WeekdayHours:
    weekday: int  # 0 = Monday
    ranges: list[ClockRange]


async def set_working_hours(viewer: Viewer, staff_id: int, week: list[WeekdayHours]) -> Staff:
    """Replace the staff member's weekly hours. A weekday not listed has no working hours."""
    staff = await staff_for(staff_id, ["input", "staffId"])
    await require_schedule_manager(viewer, staff)
    rows: list[WorkingHoursRange] = []
    seen: set[int] = set()
    checks = validation.FieldChecks()
    for index, day in enumerate(week):
        if day.weekday in seen:
            checks.problems.append(FieldProblem(("input", "days", index, "weekday"), "Each weekday may appear once"))
        seen.add(day.weekday)
        with checks.field():
            rows.extend(WorkingHoursRange(staff_id=staff.id, weekday=day.weekday, start_minute=start, end_minute=end)
                        for start, end in parse_ranges(day.ranges, ["input", "days", index, "ranges"]))
    checks.done()
    async with in_transaction() as connection:
        await lock_staff(staff.id, connection)
        await WorkingHoursRange.filter(staff_id=staff.id).using_db(connection).delete()
        if rows:
            await WorkingHoursRange.bulk_create(rows, using_db=connection)
    await live.publish_schedule_changed([staff.id])
    return staff


async def add_schedule_override(
    viewer: Viewer, staff_id: int, day: date, ranges: list[ClockRange], note: str
) -> ScheduleOverride:
    """Set the hours of one local date: no ranges means closed. A second override of the same date replaces it."""
    staff = await staff_for(staff_id, ["input", "staffId"])
    await require_schedule_manager(viewer, staff)
    checks = validation.FieldChecks()
    checks.check(validation.calendar_date, day, ["input", "date"])
    parsed = checks.check(parse_ranges, ranges, ["input", "ranges"])
    clean_note = checks.check(validation.text, note, ["input", "note"], required=False)
    checks.done()
    async with in_transaction() as connection:
        await lock_staff(staff.id, connection)
        await ScheduleOverride.filter(staff_id=staff.id, date=day).using_db(connection).delete()
        override = await ScheduleOverride.create(
            using_db=connection, staff_id=staff.id, date=day, ranges=[list(pair) for pair in parsed], note=clean_note
        )
    await live.publish_day_changed(staff.id, day, staff.time_zone)
    return override


async def remove_schedule_override(viewer: Viewer, override_id: int) -> ScheduleOverride:
    """Overrides are private and numbered in sequence: someone else's is "not found", exactly like a missing one, so
    IDs cannot be probed."""
    override = await ScheduleOverride.get_or_none(id=override_id).select_related("staff")
    if override is None or not await manages_schedule(viewer, override.staff):
        raise NotFoundError("ScheduleOverride", ["input", "id"])
    async with in_transaction() as connection:
        await lock_staff(override.staff.id, connection)
        await override.delete(using_db=connection)
    await live.publish_day_changed(override.staff.id, override.date, override.staff.time_zone)
    return override


async def block_time(viewer: Viewer, staff_id: int, starts_at: datetime, ends_at: datetime, title: str) -> BusyBlock:
    """Manual busy time: stored as a busy block, so it blocks slots exactly as an imported event does. Returns the
    block with its staff loaded."""
    staff = await staff_for(staff_id, ["input", "staffId"])
    await require_schedule_manager(viewer, staff)
    checks = validation.FieldChecks()
    start = checks.check(validation.instant, starts_at, ["input", "startsAt"])
    end = checks.check(validation.instant, ends_at, ["input", "endsAt"])
    clean_title = checks.check(validation.text, title, ["input", "title"], required=False)
    checks.done()
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        raise InvalidInputError(["input", "endsAt"], "The end must be after the start")
    if end - start > MAX_BLOCK:
        raise InvalidInputError(["input", "endsAt"], "Block at most 366 days at once")
    async with in_transaction() as connection:
        await lock_staff(staff.id, connection)
        block = await BusyBlock.create(using_db=connection, staff=staff, source=BusyBlockSource.MANUAL,
                                       title=clean_title, starts_at=start, ends_at=end, created_by_id=viewer.user_id)
    await live.publish_availability_changed(staff.id, [Span(start, end)])
    return block


async def remove_blocked_time(viewer: Viewer, block_id: int) -> BusyBlock:
    """Returns the removed block with its staff loaded. Someone else's block is "not found", like a missing one."""
    block = await BusyBlock.get_or_none(id=block_id, source=BusyBlockSource.MANUAL).select_related("staff")
    if block is None or not await manages_schedule(viewer, block.staff):
        raise NotFoundError("BusyBlock", ["input", "id"])
    async with in_transaction() as connection:
        await lock_staff(block.staff_id, connection)
        await block.delete(using_db=connection)
    await live.publish_availability_changed(block.staff_id, [Span(block.starts_at, block.ends_at)])
    return block
