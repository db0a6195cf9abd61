"""Who may do what. Every rule is a small function of the viewer and the thing it touches.

Roles: the *owner* of a business manages everything in it; a *staff* member belongs to one business, sees it, books
for anyone in it and manages their own schedule; a *customer* books for themself and sees only their own bookings.
"""

from __future__ import annotations

from models import Booking, Business, BusyBlock, Staff, UserRole
from services.auth import Viewer
from services.errors import NotAuthorizedError


def require_signed_in(viewer: Viewer) -> int:
    if viewer.user_id is None:
        raise NotAuthorizedError(viewer.auth_problem or "Sign in first")
    return viewer.user_id


async def staff_profile(viewer: Viewer) -> Staff | None:
    if viewer.user_id is None or viewer.role != UserRole.STAFF:
        return None
    return await Staff.get_or_none(user_id=viewer.user_id)


async def is_owner(viewer: Viewer, business_id: int) -> bool:
    if viewer.user_id is None or viewer.role != UserRole.OWNER:
        return False
    return await Business.filter(id=business_id, owner_id=viewer.user_id).exists()


async def is_member(viewer: Viewer, business_id: int) -> bool:
    """Owner or staff of the business."""
    if await is_owner(viewer, business_id):
        return True
    profile = await staff_profile(viewer)
    return profile is not None and profile.business_id == business_id


async def require_owner(viewer: Viewer, business_id: int) -> None:
    require_signed_in(viewer)
    if not await is_owner(viewer, business_id):
        raise NotAuthorizedError("Only the business owner may do this")


async def require_member(viewer: Viewer, business_id: int) -> None:
    require_signed_in(viewer)
    if not await is_member(viewer, business_id):
        raise NotAuthorizedError("Only the business's owner and staff may do this")


async def manages_schedule(viewer: Viewer, staff: Staff) -> bool:
    """The owner, or the staff member themself, manages a staff member's hours and blocked time."""
    if viewer.user_id is None:
        return False
    if staff.user_id is not None and staff.user_id == viewer.user_id:
        return True
    return await is_owner(viewer, staff.business_id)


async def require_schedule_manager(viewer: Viewer, staff: Staff) -> None:
    require_signed_in(viewer)
    if not await manages_schedule(viewer, staff):
        raise NotAuthorizedError("Only the owner or this staff member may change this schedule")


async def can_see_booking(viewer: Viewer, booking: Booking) -> bool:
    if viewer.user_id is None:
        return False
    if booking.customer_id == viewer.user_id:
        return True
    return await is_member(viewer, booking.business_id)


BUSY = "Busy"


def block_title(viewer: Viewer, block: BusyBlock, staff: Staff) -> str:
    """The title of a busy block as `viewer` may see it. A personal event's title is the staff member's alone, and a
    block typed in by someone (the owner's "Vacation") is also that person's; everyone else sees "Busy"."""
    mine = viewer.user_id is not None and viewer.user_id in (staff.user_id, block.created_by_id)
    return (block.title or BUSY) if mine else BUSY
