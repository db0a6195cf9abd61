"""A staff member's working hours, dated overrides and manually blocked time."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from domain.intervals import Span
from domain.working_time import MINUTES_PER_DAY
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
    """A range as typed by a person: "09:00" to "17:30"; "24:00" is the end of the day, and an end before the start
    runs into the next day ("22:00" to "06:00")."""

    start: str
    end: str


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _minute(value: str, path: list[str | int]) -> int:
    match = _CLOCK.match(value)
    if not match or (match.group(1) == "24" and match.group(2) != "00"):
        raise InvalidInputError(path, "Use a 24-hour time like 09:00 (24:00 for the end of the day)")
    return int(match.group(1)) * 60 + int(match.group(2))


@dataclass(frozen=True)
class _Parsed:
    start: int
    end: int  # past 1440 for a range that runs into the next day
    index: int  # its position in the input


def _range(clock: ClockRange, path: list[str | int]) -> tuple[int, int]:
    checks = validation.FieldChecks()
    start = checks.check(_minute, clock.start, [*path, "start"])
    end = checks.check(_minute, clock.end, [*path, "end"])
    checks.done()
    if start == MINUTES_PER_DAY:
        raise InvalidInputError([*path, "start"], "A range cannot start at 24:00")
    if end == start:
        raise InvalidInputError([*path, "end"], "The end must differ from the start (00:00 to 24:00 is the whole day)")
    # An end before the start is the next day's: 22:00-06:00 works through the night.
    return start, end + MINUTES_PER_DAY if end < start else end


def _parse(ranges: list[ClockRange], path: list[str | int]) -> list[_Parsed]:
    """Every invalid range is reported; overlaps are looked for once every range is valid."""
    checks = validation.FieldChecks()
    parsed: list[_Parsed] = []
    for index, clock in enumerate(ranges):
        with checks.field():
            parsed.append(_Parsed(*_range(clock, [*path, index]), index))
    checks.done()
    parsed.sort(key=lambda item: (item.start, item.end))
    for previous, current in itertools.pairwise(parsed):
        if current.start < previous.end:
            checks.problems.append(FieldProblem((*path, current.index),
                                                "This range overlaps another range of the same day"))
    checks.done()
    return parsed


def parse_ranges(ranges: list[ClockRange], path: list[str | int]) -> list[tuple[int, int]]:
    """Minutes since midnight for each range, sorted, rejecting equal ends and overlapping ranges (touching is
    fine), every invalid range at once. A range whose end comes before its start runs into the next day:
    22:00-06:00 is (1320, 1800), 22:00-00:00 the same as 22:00-24:00."""
    return [(item.start, item.end) for item in _parse(ranges, path)]


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
    """Replace the staff member's weekly hours. A weekday not listed has no working hours; a night range runs into the
    next weekday (Sunday's into Monday's), and must not overlap that day's ranges."""
    staff = await staff_for(staff_id, ["input", "staffId"])
    await require_schedule_manager(viewer, staff)
    days: dict[int, tuple[int, list[_Parsed]]] = {}
    seen: set[int] = set()
    checks = validation.FieldChecks()
    for index, day in enumerate(week):
        if day.weekday in seen:
            checks.problems.append(FieldProblem(("input", "days", index, "weekday"), "Each weekday may appear once"))
        seen.add(day.weekday)
        with checks.field():
            days.setdefault(day.weekday, (index, _parse(day.ranges, ["input", "days", index, "ranges"])))
    checks.done()
    _refuse_nights_overlapping_mornings(days)
    rows = [WorkingHoursRange(staff_id=staff.id, weekday=weekday, start_minute=item.start, end_minute=item.end)
            for weekday, (_, parsed) in days.items() for item in parsed]
    async with in_transaction() as connection:
        await lock_staff(staff.id, connection)
        await WorkingHoursRange.filter(staff_id=staff.id).using_db(connection).delete()
        if rows:
            await WorkingHoursRange.bulk_create(rows, using_db=connection)
    await live.publish_schedule_changed([staff.id])
    return staff


def _refuse_nights_overlapping_mornings(days: dict[int, tuple[int, list[_Parsed]]]) -> None:
    """A weekday's night range runs into the next weekday: it may touch that day's first range, not overlap it."""
    for weekday, (_, parsed) in days.items():
        night_end = max((item.end - MINUTES_PER_DAY for item in parsed), default=0)
        index, next_day = days.get((weekday + 1) % 7, (0, []))
        for item in next_day:
            if item.start < night_end:
                raise InvalidInputError(["input", "days", index, "ranges", item.index],
                                        f"This range overlaps the night range that runs on from {_WEEKDAYS[weekday]}")


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
        replaced_end = await _latest_end(staff.id, day, connection)
        await ScheduleOverride.filter(staff_id=staff.id, date=day).using_db(connection).delete()
        override = await ScheduleOverride.create(
            using_db=connection, staff_id=staff.id, date=day, ranges=[list(pair) for pair in parsed], note=clean_note
        )
    through = max([replaced_end, *(end for _, end in parsed)])
    await live.publish_day_changed(staff.id, day, staff.time_zone, through_minute=through)
    return override


async def _latest_end(staff_id: int, day: date, connection: BaseDBAsyncClient) -> int:
    """How far the ranges that start on `day` reach, in minutes after its midnight (at least 1440): an override's
    or, without one, its weekday's. A night range reaches into the next morning."""
    override = await ScheduleOverride.filter(staff_id=staff_id, date=day).using_db(connection).first()
    if override is not None:
        ends = [end for _, end in override.ranges]
    else:
        rows = await WorkingHoursRange.filter(staff_id=staff_id, weekday=day.weekday()).using_db(connection)
        ends = [row.end_minute for row in rows]
    return max([MINUTES_PER_DAY, *ends])


async def remove_schedule_override(viewer: Viewer, override_id: int) -> ScheduleOverride:
    """Overrides are private and numbered in sequence: someone else's is "not found", exactly like a missing one, so
    IDs cannot be probed."""
    override = await ScheduleOverride.get_or_none(id=override_id).select_related("staff")
    if override is None or not await manages_schedule(viewer, override.staff):
        raise NotFoundError("ScheduleOverride", ["input", "id"])
    async with in_transaction() as connection:
        await lock_staff(override.staff.id, connection)
        await override.delete(using_db=connection)
        weekday_end = await _latest_end(override.staff.id, override.date, connection)
    through = max([weekday_end, *(end for _, end in override.ranges)])
    await live.publish_day_changed(override.staff.id, override.date, override.staff.time_zone, through_minute=through)
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
