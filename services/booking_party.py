"""Who a booking is for: the request's customer details, checked, and whether customer rules apply."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models import Booking, Service, User, UserRole
from services import validation
from services.access import is_member, require_signed_in
from services.auth import Viewer, normalise_email
from services.errors import InvalidInputError, NotAuthorizedError, NotFoundError


@dataclass(frozen=True)
class CustomerDetails:
    """Who the booking is for when staff book it: an existing customer account, or a name with contact details."""

    user_id: int | None = None
    name: str = ""
    email: str = ""
    phone: str = ""


@dataclass(frozen=True)
class BookingRequest:
    service_id: int
    starts_at: datetime
    staff_id: int | None = None  # None: any staff member who performs the service and is free
    customer: CustomerDetails | None = None
    walk_in: bool = False
    customer_notes: str = ""
    merchant_notes: str = ""
    recurrence: str | None = None


async def booking_party(viewer: Viewer, service: Service, request: BookingRequest,
                        checks: validation.FieldChecks) -> tuple[bool, dict[str, object]]:
    """Whether customer rules apply, and the customer fields of the new rows (their refusals go to `checks`)."""
    user_id = require_signed_in(viewer)
    if await is_member(viewer, service.business_id):
        details = request.customer
        if request.walk_in:
            name = (details.name if details else "").strip() or "Walk-in"
            return False, {"customer_id": None, "walk_in": True,
                           "customer_name": checks.check(validation.text, name, ["input", "customer", "name"])}
        if details is None:
            raise InvalidInputError(["input", "customer"], "Name the customer, or mark the booking as a walk-in")
        if details.user_id is not None:
            customer = await User.get_or_none(id=details.user_id, role=UserRole.CUSTOMER)
            # Only customers this business already knows: otherwise any owner could read any account's details.
            known = customer is not None and await Booking.exists(business_id=service.business_id,
                                                                  customer_id=customer.id)
            if customer is None or not known:
                raise NotFoundError("Customer", ["input", "customer", "userId"])
            return False, {"customer_id": customer.id, "customer_name": customer.name,
                           "customer_email": customer.email}
        name = checks.check(validation.text, details.name, ["input", "customer", "name"])
        email = checks.check(normalise_email, details.email, ["input", "customer", "email"]) if details.email.strip() \
            else ""
        return False, {"customer_id": None, "customer_name": name, "customer_email": email,
                       "customer_phone": checks.check(validation.text, details.phone, ["input", "customer", "phone"],
                                                      max_length=40, required=False)}
    if viewer.role != UserRole.CUSTOMER:
        raise NotAuthorizedError("Only customers and this business's staff may book here")
    if request.customer is not None or request.walk_in or request.merchant_notes:
        raise NotAuthorizedError("Customers book for themselves, without merchant notes")
    me = await User.get(id=user_id)
    return True, {"customer_id": me.id, "customer_name": me.name, "customer_email": me.email}
