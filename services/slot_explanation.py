"""Why a staff member's time is not bookable, for that staff member and the business owner: the database side of
domain.slot_reasons. Customers never see it: what they are offered says nothing about why a time is taken.

The span is read exactly as the availability engine reads it (services.availability.load_availability for the
hours; confirmed bookings' buffered spans and every busy block for the taken time), so an explanation with no
reasons is a time the engine offers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domain.availability import SlotRules
from domain.intervals import Span
from domain.journal import EventKind
from domain.slot_reasons import ReasonKind, TakenTime, explain_span
from models import Booking, BookingStatus, BusyBlock, BusyBlockSource, Service, Staff
from services import validation
from services.auth import Viewer
from services.availability import load_availability, slot_rules
from services.errors import InvalidInputError, NotFoundError
from services.journal import JournalEntry, entries_of
from services.sync_queries import managed_staff

MAX_SPAN = timedelta(hours=24)
# A span crowded by more taken time than this lists the first of it and says there is more.
MAX_TAKEN = 100


@dataclass(frozen=True)
class ExplainedReason:
    """One reason, with the calendar event that causes it (a booking, busy block or blocked time) when there is
    one, as the journal shows it to the viewer."""

    kind: ReasonKind
    message: str
    event: JournalEntry | None


@dataclass(frozen=True)
class SlotExplanation:
    staff: Staff
    span: Span
    reasons: list[ExplainedReason]
    more_reasons: bool  # more taken time overlaps the span than MAX_TAKEN


def _span(start: datetime, end: datetime) -> Span:
    first = validation.instant(start, ["start"]).astimezone(UTC)
    last = validation.instant(end, ["end"]).astimezone(UTC)
    if last <= first:
        raise InvalidInputError(["end"], "The end must be after the start")
    if last - first > MAX_SPAN:
        raise InvalidInputError(["end"], "Ask about at most 24 hours at once")
    return Span(first, last)


async def _rules(staff: Staff, service_id: int | None) -> SlotRules | None:
    if service_id is None:
        return None
    service = await Service.get_or_none(id=service_id, business_id=staff.business_id)
    if service is None:
        raise NotFoundError("Service", ["serviceId"])
    if not await service.staff.filter(id=staff.id).exists():
        raise NotFoundError("Staff performing this service", ["serviceId"])
    return slot_rules(service)


def _block_kind(row: BusyBlock) -> EventKind:
    return EventKind.BLOCKED_TIME if row.source == BusyBlockSource.MANUAL else EventKind.BUSY_BLOCK


def _message(kind: ReasonKind, rules: SlotRules | None, event: JournalEntry | None) -> str:
    if event is not None and event.kind == EventKind.BUSY_BLOCK:
        return f"Busy in the calendar {event.calendar_name}"
    if kind == ReasonKind.MINIMUM_NOTICE and rules is not None:
        return f"Sooner than the service's minimum notice of {int(rules.minimum_notice.total_seconds() // 60)} minutes"
    if kind == ReasonKind.BEYOND_HORIZON and rules is not None:
        return f"Past the service's booking horizon of {rules.horizon.days} days"
    if kind == ReasonKind.OFF_STEP and rules is not None:
        return f"Not on the service's {int(rules.step.total_seconds() // 60)}-minute step"
    return _MESSAGES[kind]


_MESSAGES = {
    ReasonKind.IN_PAST: "In the past",
    ReasonKind.OUTSIDE_WORKING_HOURS: "Outside working hours",
    ReasonKind.BOOKING: "Booked",
    ReasonKind.BLOCKED_TIME: "Blocked time",
    ReasonKind.BUSY_BLOCK: "Busy in a connected calendar",
}


async def explain_slot(viewer: Viewer, staff_id: int, start: datetime, end: datetime, service_id: int | None,
                       now: datetime) -> SlotExplanation:
    """Every reason the span cannot be booked with the staff member (with a service: as a customer books it)."""
    staff = await managed_staff(viewer, staff_id, ["staffId"])
    span = _span(start, end)
    rules = await _rules(staff, service_id)
    before, after = (rules.buffer_before, rules.buffer_after) if rules is not None else (timedelta(0), timedelta(0))
    needed = Span(span.start - before, span.end + after)
    hours = (await load_availability([staff], needed))[0]
    bookings = await Booking.filter(
        staff_id=staff.id, status=BookingStatus.CONFIRMED, buffered_end__gt=needed.start,
        buffered_start__lt=needed.end).order_by("buffered_start", "id").limit(MAX_TAKEN + 1).select_related("service")
    blocks = await BusyBlock.filter(staff_id=staff.id, ends_at__gt=needed.start, starts_at__lt=needed.end).order_by(
        "starts_at", "id").limit(MAX_TAKEN + 1).select_related("external_calendar__connection")
    taken = [TakenTime(EventKind.BOOKING, row.id, Span(row.buffered_start, row.buffered_end)) for row in bookings]
    taken += [TakenTime(_block_kind(row), row.id, Span(row.starts_at, row.ends_at)) for row in blocks]
    reasons = explain_span(hours, taken, span, now, rules)
    listed = [reason for reason in reasons if reason.taken is None]
    listed += [reason for reason in reasons if reason.taken is not None][:MAX_TAKEN]
    rows: dict[tuple[EventKind, int], Booking | BusyBlock] = {(EventKind.BOOKING, row.id): row for row in bookings}
    rows.update({(_block_kind(row), row.id): row for row in blocks})
    causes = [rows[(reason.taken.kind, reason.taken.ref)] for reason in listed if reason.taken is not None]
    events = {(event.kind, event.ref): event for event in await entries_of(viewer, [staff], causes, now)}
    explained = []
    for reason in listed:
        event = None if reason.taken is None else events[(reason.taken.kind, reason.taken.ref)]
        explained.append(ExplainedReason(reason.kind, _message(reason.kind, rules, event), event))
    return SlotExplanation(staff, span, explained, len(bookings) + len(blocks) > MAX_TAKEN)
