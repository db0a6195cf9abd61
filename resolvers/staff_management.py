"""Managing staff members: their details, deactivating them, and their invitation (services.staff_management)."""

from __future__ import annotations

from strawberry.types import Info

from resolvers.errors import pk, typed_errors
from resolvers.permissions import IS_BUSINESS_SIDE, IS_OWNER, permission, viewer_of
from schema.management import (
    DeactivateStaffInput,
    DeactivateStaffPayload,
    DeactivateStaffResult,
    ResendStaffInviteInput,
    ResendStaffInvitePayload,
    ResendStaffInviteResult,
    UpdateStaffInput,
)
from schema.payloads import StaffMemberResult
from schema.types import Booking, StaffMember
from services import staff_management
from services.staff_management import StaffChange


@permission(IS_BUSINESS_SIDE)
@typed_errors
async def update_staff(input: UpdateStaffInput, info: Info) -> StaffMemberResult:
    """Change a staff member's name, zone or photo (the owner, or they themself) or whether they take bookings
    (the owner)."""
    change = StaffChange(name=input.name, time_zone=input.time_zone, photo_url=input.photo_url, active=input.active)
    staff_id = pk(input.staff_id, "StaffMember", ["input", "staffId"])
    return StaffMember.from_model(await staff_management.update_staff(viewer_of(info), staff_id, change))


@permission(IS_OWNER)
@typed_errors
async def deactivate_staff(input: DeactivateStaffInput, info: Info) -> DeactivateStaffResult:
    """The staff member takes no new bookings; their bookings still ahead are listed, to be reassigned."""
    staff_id = pk(input.staff_id, "StaffMember", ["input", "staffId"])
    staff, upcoming = await staff_management.deactivate_staff(viewer_of(info), staff_id, info.context.now())
    return DeactivateStaffPayload(
        staff=StaffMember.from_model(staff),
        bookings_to_reassign=[Booking.from_model(row, for_business=True) for row in upcoming.bookings],
        bookings_to_reassign_count=upcoming.total)


@permission(IS_OWNER)
@typed_errors
async def resend_staff_invite(input: ResendStaffInviteInput, info: Info) -> ResendStaffInviteResult:
    """A new invitation code for a staff member who has not joined, mailed to them; the old one stops working."""
    staff_id = pk(input.staff_id, "StaffMember", ["input", "staffId"])
    staff, code = await staff_management.resend_staff_invite(viewer_of(info), staff_id, info.context.accounts,
                                                             info.context.client_address)
    return ResendStaffInvitePayload(staff=StaffMember.from_model(staff), invite_code=code)
