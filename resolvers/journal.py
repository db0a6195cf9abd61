"""The journal (calendarEvents) and why a time is not bookable (slotExplanation): for owners and staff only."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.errors import optional_pk, pk, typed_errors
from resolvers.permissions import IS_BUSINESS_SIDE, permission, viewer_of
from schema.ids import encode_id
from schema.journal_types import (
    BLOCK_ENTRY,
    BOOKING_ENTRY,
    BookingSyncState,
    CalendarEvent,
    CalendarEventConnection,
    CalendarEventEdge,
    CalendarEventFilter,
    CalendarEventKind,
    CalendarEventSource,
    CalendarEventsResult,
    CalendarEventStatus,
    CalendarSyncState,
    SlotExplanation,
    SlotExplanationResult,
    UnbookableReason,
    UnbookableReasonKind,
)
from schema.types import Booking, BusyBlock, PageInfo, StaffMember
from services import journal, slot_explanation, validation
from services.journal import JournalEntry, JournalFilter
from services.quotas import at_most

From = Annotated[datetime, strawberry.argument(name="from")]


def calendar_event(entry: JournalEntry, zone: tzinfo) -> CalendarEvent:
    """The entry as a CalendarEvent, its times in `zone`."""
    return CalendarEvent(
        id=encode_id(BOOKING_ENTRY if entry.booking is not None else BLOCK_ENTRY, entry.ref),
        kind=CalendarEventKind(entry.kind.value), starts_at=entry.starts_at.astimezone(zone),
        ends_at=entry.ends_at.astimezone(zone), all_day=entry.all_day, title=entry.title,
        source=CalendarEventSource(entry.source), status=CalendarEventStatus(entry.status.value),
        calendar_name=entry.calendar_name, calendar_colour=entry.calendar_colour,
        sync_states=[BookingSyncState(connection_id=encode_id("CalendarConnection", state.connection_id),
                                      calendar_id=encode_id("ExternalCalendar", state.calendar_id),
                                      calendar_name=state.calendar_name, state=CalendarSyncState(state.state.value))
                     for state in entry.sync_states],
        booking=Booking.from_model(entry.booking, for_business=True) if entry.booking is not None else None,
        busy_block=BusyBlock.from_model(entry.busy_block, entry.title) if entry.busy_block is not None else None,
        staff_pk=entry.staff_id)


def _criteria(where: CalendarEventFilter | None) -> JournalFilter:
    where = where or CalendarEventFilter()
    for name, values, every in (("kinds", where.kinds, CalendarEventKind), ("sources", where.sources,
                                CalendarEventSource), ("statuses", where.statuses, CalendarEventStatus)):
        if values is not None:
            at_most(values, len(every), ["filter", name], f"{name} (there are no more)")
    return journal.journal_filter(_values(where.kinds), _values(where.sources), _values(where.statuses),
                                  where.include_cancelled)


def _values(members: list[CalendarEventKind] | list[CalendarEventSource] | list[CalendarEventStatus] | None
            ) -> list[str] | None:
    return None if members is None else [member.value for member in members]


@permission(IS_BUSINESS_SIDE)
@typed_errors
async def calendar_events(
    from_: From, to: datetime, info: Info, staff_id: strawberry.ID | None = None,
    business_id: strawberry.ID | None = None, filter: CalendarEventFilter | None = None, first: int = 50,
    after: str | None = None, time_zone: str | None = None,
) -> CalendarEventsResult:
    """The journal of one staff member or of a whole business: bookings, imported busy blocks and blocked time in
    one list, a page at a time. Owners see their business or any staff member; a staff member sees themself."""
    zone = validation.zone_info(time_zone or "UTC", ["timeZone"])
    criteria = _criteria(filter)
    staff = await journal.journal_staff(viewer_of(info), optional_pk(staff_id, "StaffMember", ["staffId"]),
                                        optional_pk(business_id, "Business", ["businessId"]))
    page = await journal.journal(viewer_of(info), staff, from_, to, criteria, first, after, info.context.now())
    edges = [CalendarEventEdge(cursor=cursor, node=calendar_event(entry, zone))
             for entry, cursor in zip(page.entries, page.cursors, strict=True)]
    return CalendarEventConnection(time_zone=time_zone or "UTC", edges=edges, page_info=PageInfo(
        has_next_page=page.has_next_page, end_cursor=page.cursors[-1] if page.cursors else None))


@permission(IS_BUSINESS_SIDE)
@typed_errors
async def slot_explanation_of(staff_id: strawberry.ID, start: datetime, end: datetime, info: Info,
                              service_id: strawberry.ID | None = None) -> SlotExplanationResult:
    """Why a staff member cannot be booked for a span (with a service: as a customer books it), with the entries
    that take the time; no reasons means it is bookable. For the staff member themself and the business owner."""
    found = await slot_explanation.explain_slot(
        viewer_of(info), pk(staff_id, "StaffMember", ["staffId"]), start, end,
        optional_pk(service_id, "Service", ["serviceId"]),
        info.context.now())
    reasons = [UnbookableReason(kind=UnbookableReasonKind(reason.kind.value), message=reason.message,
                                event=calendar_event(reason.event, UTC) if reason.event is not None else None)
               for reason in found.reasons]
    return SlotExplanation(staff=StaffMember.from_model(found.staff), start=found.span.start, end=found.span.end,
                           bookable=not found.reasons, reasons=reasons, has_more_reasons=found.more_reasons)
