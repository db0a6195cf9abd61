"""Availability from the database: loads what the pure engine needs, then asks it.

The same loader serves both the slot query and the booking transaction's re-check, so what a customer is offered and
what the database accepts can never disagree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.availability import (
    SlotRules,
    StaffAvailability,
    WorkingRange,
    available_slots,
)
from domain.intervals import Span
from models import (
    Booking,
    BookingStatus,
    BusyBlock,
    ScheduleOverride,
    Service,
    Staff,
    WorkingHoursRange,
)
from services import validation
from services.access import block_title, require_member
from services.auth import Viewer
from services.errors import InvalidInputError, NotFoundError

MAX_WINDOW = timedelta(days=62)
# Busy time this far outside a window can still touch a slot inside it (service up to 24 h plus buffers).
_MARGIN = timedelta(days=2)


def slot_rules(service: Service) -> SlotRules:
    return SlotRules(
        duration=timedelta(minutes=service.duration_minutes),
        buffer_before=timedelta(minutes=service.buffer_before_minutes),
        buffer_after=timedelta(minutes=service.buffer_after_minutes),
        step=timedelta(minutes=service.slot_step_minutes),
        minimum_notice=timedelta(minutes=service.minimum_notice_minutes),
        horizon=timedelta(days=service.booking_horizon_days),
    )


def window(starts: datetime, ends: datetime, path: tuple[str, str] = ("from", "to")) -> Span:
    start = validation.instant(starts, [path[0]]).astimezone(UTC)
    end = validation.instant(ends, [path[1]]).astimezone(UTC)
    if end <= start:
        raise InvalidInputError([path[1]], "The end of the window must be after its start")
    if end - start > MAX_WINDOW:
        raise InvalidInputError([path[1]], "Ask for at most 62 days at once")
    return Span(start, end)


async def load_availability(
    staff: Sequence[Staff], around: Span, *, ignore_booking_ids: Iterable[int] = (), connection: Any = None
) -> list[StaffAvailability]:
    """Each staff member's hours, overrides and busy spans (bookings' buffered spans and busy blocks) near `around`."""
    ids = [member.id for member in staff]
    low, high = around.start - _MARGIN, around.end + _MARGIN
    hours = await WorkingHoursRange.filter(staff_id__in=ids).using_db(connection).values_list(
        "staff_id", "weekday", "start_minute", "end_minute")
    overrides = await ScheduleOverride.filter(
        staff_id__in=ids, date__gte=low.date(), date__lte=high.date()
    ).using_db(connection).values_list("staff_id", "date", "ranges")
    bookings = await Booking.filter(
        staff_id__in=ids, status=BookingStatus.CONFIRMED, buffered_end__gt=low, buffered_start__lt=high
    ).exclude(id__in=list(ignore_booking_ids)).using_db(connection).values_list(
        "staff_id", "buffered_start", "buffered_end")
    blocks = await BusyBlock.filter(
        staff_id__in=ids, ends_at__gt=low, starts_at__lt=high
    ).using_db(connection).values_list("staff_id", "starts_at", "ends_at")

    weekly: dict[int, dict[int, list[WorkingRange]]] = defaultdict(lambda: defaultdict(list))
    for staff_id, weekday, start, end in hours:
        weekly[staff_id][weekday].append(WorkingRange(start, end))
    dated: dict[int, dict[Any, tuple[WorkingRange, ...]]] = defaultdict(dict)
    for staff_id, day, ranges in overrides:
        dated[staff_id][day] = tuple(WorkingRange(start, end) for start, end in ranges)
    busy: dict[int, list[Span]] = defaultdict(list)
    for staff_id, start, end in [*bookings, *blocks]:
        busy[staff_id].append(Span(start.astimezone(UTC), end.astimezone(UTC)))
    return [
        StaffAvailability(
            staff_id=member.id,
            zone=member.time_zone,
            weekly={day: tuple(sorted(ranges, key=lambda r: r.start_minute))
                    for day, ranges in weekly[member.id].items()},
            overrides=dated[member.id],
            busy=tuple(busy[member.id]),
        )
        for member in staff
    ]


async def qualified_staff(service: Service, staff_ids: Sequence[int] | None, path: list[str | int],
                          *, indexed: bool = True) -> list[Staff]:
    """The staff who perform the service, narrowed to `staff_ids` when given (each must perform it).

    `path` names the input field; `indexed` says it is a list, so an error names the offending position."""
    if staff_ids is None:
        return list(await service.staff.all().order_by("id"))
    performing = await service.staff.filter(id__in=list(staff_ids))
    by_id = {member.id: member for member in performing}
    chosen = []
    for index, staff_id in enumerate(staff_ids):
        if staff_id not in by_id:
            raise NotFoundError("Staff performing this service", [*path, index] if indexed else path)
        chosen.append(by_id[staff_id])
    return chosen


@dataclass(frozen=True)
class OfferedSlot:
    start: datetime
    end: datetime
    staff_ids: tuple[int, ...]


async def offered_slots(
    service_id: int, starts: datetime, ends: datetime, staff_ids: Sequence[int] | None, now: datetime
) -> list[OfferedSlot]:
    """Bookable slots of a service in a window: public information, it never says why a time is taken."""
    span = window(starts, ends)
    service = await Service.get_or_none(id=service_id)
    if service is None:
        raise NotFoundError("Service", ["serviceId"])
    staff = await qualified_staff(service, staff_ids, ["staffIds"])
    if not staff:
        return []
    availability = await load_availability(staff, span)
    slots = available_slots(availability, slot_rules(service), span, now)
    return [OfferedSlot(slot.start, slot.end, slot.staff_ids) for slot in slots]


@dataclass(frozen=True)
class ScheduleEntry:
    """One taken span of a staff member's schedule: a booking or a busy block."""

    kind: str  # "booking" or "busy"
    starts_at: datetime
    ends_at: datetime
    title: str
    booking: Booking | None
    busy_block: BusyBlock | None


async def staff_schedule(viewer: Viewer, staff_id: int, starts: datetime, ends: datetime) -> list[ScheduleEntry]:
    staff = await Staff.get_or_none(id=staff_id)
    if staff is None:
        raise NotFoundError("Staff", ["staffId"])
    await require_member(viewer, staff.business_id)
    span = window(starts, ends)
    bookings = await Booking.filter(
        staff_id=staff.id, status=BookingStatus.CONFIRMED, ends_at__gt=span.start, starts_at__lt=span.end
    ).select_related("service")
    blocks = await BusyBlock.filter(staff_id=staff.id, ends_at__gt=span.start, starts_at__lt=span.end)
    entries = [
        ScheduleEntry("booking", b.starts_at, b.ends_at, f"{b.service.name} – {b.customer_name}", b, None)
        for b in bookings
    ]
    for block in blocks:
        entries.append(ScheduleEntry("busy", block.starts_at, block.ends_at, block_title(viewer, block, staff), None,
                                     block))
    entries.sort(key=lambda entry: entry.starts_at)
    return entries


