"""Availability, schedules and bookings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from models import Booking as BookingModel, BookingStatus as BookingStatusModel, Staff as StaffModel
from resolvers.errors import optional_pk, pk, typed_errors
from resolvers.permissions import AllowAny, IsSignedIn, permission, viewer_of
from schema.enums import ScheduleEntryKind
from schema.ids import encode_id
from schema.inputs import (
    BookingFilter,
    CancelBookingInput,
    CreateBookingInput,
    RescheduleBookingInput,
    UpdateBookingNotesInput,
)
from schema.payloads import (
    AvailableSlots,
    AvailableSlotsResult,
    BookingPayload,
    BookingQueryResult,
    BookingResult,
    BookingsResult,
    StaffSchedule,
    StaffScheduleResult,
)
from schema.types import Booking, BookingConnection, BookingEdge, BusyBlock, PageInfo, ScheduleEntry, Slot, StaffMember
from schema.zones import in_zone
from services import availability, booking_queries, bookings, validation
from services.access import is_member
from services.auth import Viewer
from services.booking_party import BookingRequest, CustomerDetails
from services.quotas import at_most

From = Annotated[datetime, strawberry.argument(name="from")]
TimeZone = Annotated[str | None, strawberry.argument(
    description="IANA zone to give every date-time in (e.g. Europe/Berlin); without it they are given in UTC")]


@permission(AllowAny())
@typed_errors
async def available_slots(
    service_id: strawberry.ID, from_: From, to: datetime, time_zone: str, info: Info,
    staff_ids: list[strawberry.ID] | None = None,
) -> AvailableSlotsResult:
    """Bookable slots of a service, given in `timeZone`. Public: it reveals free time only, never why."""
    zone = validation.zone_info(time_zone, ["timeZone"])
    if staff_ids is not None:
        at_most(staff_ids, info.context.quotas.staff_per_business, ["staffIds"], "staff (a business has no more)")
    staff = None if staff_ids is None else [pk(value, "StaffMember", ["staffIds", i]) for i, value in
                                            enumerate(staff_ids)]
    context = info.context
    found = await availability.offered_slots(pk(service_id, "Service", ["serviceId"]), from_, to, staff,
                                             context.now(), budget=context.slot_budget, limits=context.slot_limits,
                                             cache=context.slot_cache)
    # Each staff member's ID is encoded once, however many slots list them.
    ids = {staff_id: encode_id("StaffMember", staff_id) for staff_id in set().union(*(s.staff_ids for s in found))}
    slots = [Slot(start=in_zone(slot.start, zone), end=in_zone(slot.end, zone),
                  staff_ids=[ids[staff_id] for staff_id in slot.staff_ids]) for slot in found]
    return AvailableSlots(time_zone=time_zone, slots=slots)


@permission(IsSignedIn())
@typed_errors
async def staff_schedule(staff_id: strawberry.ID, from_: From, to: datetime, info: Info,
                         time_zone: TimeZone = None) -> StaffScheduleResult:
    """Bookings and busy blocks of one staff member, for staff and owners of the business."""
    zone = validation.answer_zone(time_zone, ["timeZone"])
    staff_pk = pk(staff_id, "StaffMember", ["staffId"])
    entries = await availability.staff_schedule(viewer_of(info), staff_pk, from_, to)
    staff = await StaffModel.get(id=staff_pk)
    return StaffSchedule(staff=StaffMember.from_model(staff), entries=[
        ScheduleEntry(kind=ScheduleEntryKind(entry.kind), starts_at=in_zone(entry.starts_at, zone),
                      ends_at=in_zone(entry.ends_at, zone), title=entry.title,
                      booking=Booking.from_model(entry.booking, for_business=True, zone=zone) if entry.booking
                      else None,
                      busy_block=BusyBlock.from_model(entry.busy_block, entry.title, zone) if entry.busy_block
                      else None)
        for entry in entries])


async def booking_payload(viewer: Viewer, rows: list[BookingModel]) -> BookingPayload:
    """The payload of a mutation that changed `rows` (the first is the booking named); merchant notes for the
    business only."""
    for_business = await is_member(viewer, rows[0].business_id)
    converted = [Booking.from_model(row, for_business=for_business) for row in rows]
    return BookingPayload(booking=converted[0], occurrences=converted)


@permission(IsSignedIn())
@typed_errors
async def create_booking(input: CreateBookingInput, info: Info) -> BookingResult:
    ids = validation.FieldChecks()  # every malformed ID at once; the service then checks every other field
    service_id = ids.check(pk, input.service_id, "Service", ["input", "serviceId"])
    staff_id = ids.check(optional_pk, input.staff_id, "StaffMember", ["input", "staffId"])
    customer = None
    if input.customer is not None:
        customer = CustomerDetails(
            user_id=ids.check(optional_pk, input.customer.user_id, "User", ["input", "customer", "userId"]),
            name=input.customer.name, email=input.customer.email, phone=input.customer.phone)
    ids.done()
    request = BookingRequest(
        service_id=service_id, starts_at=input.starts_at, staff_id=staff_id, customer=customer,
        walk_in=input.walk_in, customer_notes=input.customer_notes, merchant_notes=input.merchant_notes,
        recurrence=input.recurrence)
    rows = await bookings.create_booking(viewer_of(info), request, info.context.now())
    return await booking_payload(viewer_of(info), rows)


@permission(IsSignedIn())
@typed_errors
async def reschedule_booking(input: RescheduleBookingInput, info: Info) -> BookingResult:
    moved = await bookings.reschedule_booking(
        viewer_of(info), pk(input.id, "Booking", ["input", "id"]), input.starts_at,
        optional_pk(input.staff_id, "StaffMember", ["input", "staffId"]), info.context.now())
    return await booking_payload(viewer_of(info), [moved])


@permission(IsSignedIn())
@typed_errors
async def cancel_booking(input: CancelBookingInput, info: Info) -> BookingResult:
    rows = await bookings.cancel_booking(viewer_of(info), pk(input.id, "Booking", ["input", "id"]),
                                         input.scope.value, info.context.now(), reason=input.reason)
    return await booking_payload(viewer_of(info), rows)


@permission(IsSignedIn())
@typed_errors
async def update_booking_notes(input: UpdateBookingNotesInput, info: Info) -> BookingResult:
    row = await bookings.update_booking_notes(viewer_of(info), pk(input.id, "Booking", ["input", "id"]),
                                              input.customer_notes, input.merchant_notes)
    return await booking_payload(viewer_of(info), [row])


@permission(IsSignedIn())
@typed_errors
async def booking(id: strawberry.ID, info: Info, time_zone: TimeZone = None) -> BookingQueryResult:
    zone = validation.answer_zone(time_zone, ["timeZone"])
    row = await booking_queries.get_booking(viewer_of(info), pk(id, "Booking", ["id"]))
    return Booking.from_model(row, for_business=await is_member(viewer_of(info), row.business_id), zone=zone)


@permission(IsSignedIn())
@typed_errors
async def booking_list(info: Info, filter: BookingFilter | None = None, first: int = 20,
                       after: str | None = None, time_zone: TimeZone = None) -> BookingsResult:
    """The bookings the viewer may see, oldest start first: a customer's own, or their business's."""
    viewer = viewer_of(info)
    checks = validation.FieldChecks()
    zone = checks.check(validation.answer_zone, time_zone, ["timeZone"])
    where = filter or BookingFilter()
    criteria = booking_queries.BookingFilter(
        business_id=checks.check(optional_pk, where.business_id, "Business", ["filter", "businessId"]),
        staff_id=checks.check(optional_pk, where.staff_id, "StaffMember", ["filter", "staffId"]),
        starts_from=where.from_, starts_before=where.to,
        status=BookingStatusModel(where.status.value) if where.status else None)
    page = await booking_queries.list_bookings(viewer, criteria, first, after, checks)
    member = {row.business_id: await is_member(viewer, row.business_id) for row in page.bookings}
    edges = [BookingEdge(cursor=cursor, node=Booking.from_model(row, for_business=member[row.business_id],
                                                                zone=zone))
             for row, cursor in zip(page.bookings, page.cursors, strict=True)]
    return BookingConnection(edges=edges, page_info=PageInfo(has_next_page=page.has_next_page,
                                                             end_cursor=page.cursors[-1] if page.cursors else None))
