"""Reading bookings: one by ID, and pages of the bookings a viewer may see."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.expressions import Q

from models import Booking, BookingStatus, Business, ImportedAppointment, Staff, UserRole
from models.database import MAX_ROW_ID, ROW_ID_DIGITS
from services import validation
from services.access import can_see_booking, require_signed_in, staff_profile
from services.auth import Viewer
from services.errors import InvalidInputError, MovedAtProviderOnlyError, NotFoundError

MAX_PAGE = 100


@dataclass(frozen=True)
class BookingFilter:
    business_id: int | None = None
    staff_id: int | None = None
    starts_from: datetime | None = None
    starts_before: datetime | None = None
    status: BookingStatus | None = None


@dataclass(frozen=True)
class BookingPage:
    bookings: list[Booking]
    cursors: list[str]
    has_next_page: bool


def encode_cursor(booking: Booking) -> str:
    raw = f"{booking.starts_at.astimezone(UTC).isoformat()}|{booking.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        when, _, ident = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        moment = datetime.fromisoformat(when)
        if moment.utcoffset() is None:
            raise ValueError("naive cursor")
        if not ROW_ID_DIGITS.fullmatch(ident) or int(ident) > MAX_ROW_ID:
            raise ValueError("not a booking ID")
        return moment.astimezone(UTC), int(ident)
    except (ValueError, OverflowError) as exc:
        raise InvalidInputError(["after"], "This cursor is not valid") from exc


async def get_booking(viewer: Viewer, booking_id: int, path: list[str | int] | None = None) -> Booking:
    """The booking, with its service, if the viewer may see it. `path` names the input that held the ID."""
    require_signed_in(viewer)
    booking = await Booking.get_or_none(id=booking_id).select_related("service")
    if booking is None or not await can_see_booking(viewer, booking):
        # Same answer for "absent" and "not yours", so IDs cannot be probed.
        raise NotFoundError("Booking", path or ["id"])
    return booking


LOCKSTEP_SOURCE = "lockstep"


async def refuse_provider_owned(booking: Booking) -> None:
    """A booking an appointment provider owns (its source is not Lockstep) is moved there, never here: raises
    MovedAtProviderOnlyError with the invitee's reschedule link."""
    if booking.source == LOCKSTEP_SOURCE:
        return
    links = await ImportedAppointment.filter(booking_id=booking.id).order_by("-id").values_list(
        "reschedule_url", flat=True)
    raise MovedAtProviderOnlyError(booking.source.capitalize(), str(links[0]) if links else "")


async def _visible(viewer: Viewer) -> Q:
    """The bookings a viewer may list: customers their own, staff their business's, owners their businesses'."""
    user_id = require_signed_in(viewer)
    if viewer.role == UserRole.OWNER:
        return Q(business_id__in=await Business.filter(owner_id=user_id).values_list("id", flat=True))
    if viewer.role == UserRole.STAFF:
        profile = await staff_profile(viewer)
        return Q(business_id=profile.business_id) if profile else Q(id=-1)
    return Q(customer_id=user_id)


def _page_size(first: int) -> int:
    if not 1 <= first <= MAX_PAGE:
        raise InvalidInputError(["first"], f"Ask for between 1 and {MAX_PAGE} bookings")
    return first


async def list_bookings(viewer: Viewer, where: BookingFilter, first: int, after: str | None,
                        checks: validation.FieldChecks | None = None) -> BookingPage:
    """A page of the bookings the viewer may see. Every invalid argument is reported at once, with those the caller
    found already in `checks` (IDs it could not decode: `where` holds None for them)."""
    checks = validation.FieldChecks() if checks is None else checks
    checks.check(_page_size, first)
    starts_from = None if where.starts_from is None else checks.check(validation.instant, where.starts_from,
                                                                      ["filter", "from"])
    starts_before = None if where.starts_before is None else checks.check(validation.instant, where.starts_before,
                                                                          ["filter", "to"])
    position = checks.check(decode_cursor, after) if after else None
    checks.done()
    query = Booking.filter(await _visible(viewer))
    if starts_from is not None:
        query = query.filter(starts_at__gte=starts_from.astimezone(UTC))
    if starts_before is not None:
        query = query.filter(starts_at__lt=starts_before.astimezone(UTC))
    if position is not None:
        when, ident = position
        query = query.filter(Q(starts_at__gt=when) | Q(starts_at=when, id__gt=ident))
    if where.business_id is not None:
        query = query.filter(business_id=where.business_id)
    if where.staff_id is not None:
        if not await Staff.exists(id=where.staff_id):
            raise NotFoundError("Staff", ["filter", "staffId"])
        query = query.filter(staff_id=where.staff_id)
    if where.status is not None:
        query = query.filter(status=where.status)
    rows = await query.order_by("starts_at", "id").limit(first + 1).select_related("service", "staff")
    page = rows[:first]
    return BookingPage(page, [encode_cursor(row) for row in page], len(rows) > first)
