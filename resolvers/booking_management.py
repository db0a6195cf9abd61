"""Changing bookings as the business manages them: reassigning one to another staff member
(services.reassignment), and cancelling many at once (services.bulk_cancel)."""

from __future__ import annotations

from strawberry.types import Info

from resolvers.bookings import booking_payload
from resolvers.errors import pk, typed_errors
from resolvers.permissions import IS_OWNER, IsSignedIn, permission, viewer_of
from schema.management import CancelBookingsInput, CancelBookingsPayload, CancelBookingsResult, ReassignBookingInput
from schema.payloads import BookingResult
from schema.types import Booking
from services import bulk_cancel, reassignment
from services.access import is_member
from services.quotas import at_most


@permission(IS_OWNER)
@typed_errors
async def reassign_booking(input: ReassignBookingInput, info: Info) -> BookingResult:
    """Give a booking (an occurrence: its whole series) to another staff member at the same time."""
    rows = await reassignment.reassign_booking(
        viewer_of(info), pk(input.booking_id, "Booking", ["input", "bookingId"]),
        pk(input.staff_id, "StaffMember", ["input", "staffId"]), info.context.now())
    return await booking_payload(viewer_of(info), rows)


@permission(IsSignedIn())
@typed_errors
async def cancel_bookings(input: CancelBookingsInput, info: Info) -> CancelBookingsResult:
    """Cancel every booking listed, or none (BookingsRefused names the ones that cannot be cancelled)."""
    # The list is bounded before any of its IDs is read.
    at_most(input.ids, bulk_cancel.MAX_BOOKINGS_PER_CANCEL, ["input", "ids"], "bookings")
    ids = [pk(value, "Booking", ["input", "ids", index]) for index, value in enumerate(input.ids)]
    viewer = viewer_of(info)
    rows = await bulk_cancel.cancel_bookings(viewer, ids, info.context.now(), reason=input.reason)
    member = {business_id: await is_member(viewer, business_id) for business_id in {row.business_id for row in rows}}
    return CancelBookingsPayload(bookings=[Booking.from_model(row, for_business=member[row.business_id])
                                           for row in rows])
