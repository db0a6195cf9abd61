"""Who a new booking is for: a customer booking for themself, or staff booking for a named customer or a walk-in."""

from __future__ import annotations

from dataclasses import dataclass

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


async def booking_party(viewer: Viewer, service: Service, customer: CustomerDetails | None, walk_in: bool,
                        merchant_notes: str) -> tuple[bool, dict[str, object]]:
    """Whether customer rules apply to a new booking of `service`, and the customer fields of its rows: staff book
    for a named customer (`customer`) or a walk-in; a customer books for themself."""
    user_id = require_signed_in(viewer)
    if await is_member(viewer, service.business_id):
        if walk_in:
            name = (customer.name if customer else "").strip() or "Walk-in"
            return False, {"customer_id": None, "customer_name": validation.text(name, ["input", "customer", "name"]),
                           "walk_in": True}
        if customer is None:
            raise InvalidInputError(["input", "customer"], "Name the customer, or mark the booking as a walk-in")
        if customer.user_id is not None:
            account = await User.get_or_none(id=customer.user_id, role=UserRole.CUSTOMER)
            # Only customers this business already knows: otherwise any owner could read any account's details.
            known = account is not None and await Booking.exists(business_id=service.business_id,
                                                                 customer_id=account.id)
            if account is None or not known:
                raise NotFoundError("Customer", ["input", "customer", "userId"])
            return False, {"customer_id": account.id, "customer_name": account.name,
                           "customer_email": account.email}
        email = normalise_email(customer.email, ["input", "customer", "email"]) if customer.email.strip() else ""
        name = validation.text(customer.name, ["input", "customer", "name"])
        return False, {"customer_id": None, "customer_name": name, "customer_email": email,
                       "customer_phone": validation.text(customer.phone, ["input", "customer", "phone"],
                                                         max_length=40, required=False)}
    if viewer.role != UserRole.CUSTOMER:
        raise NotAuthorizedError("Only customers and this business's staff may book here")
    if customer is not None or walk_in or merchant_notes:
        raise NotAuthorizedError("Customers book for themselves, without merchant notes")
    me = await User.get(id=user_id)
    return True, {"customer_id": me.id, "customer_name": me.name, "customer_email": me.email}
