"""Setting a business up: the business itself, its staff and its services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import Business, Service, Staff, UserRole
from services import live, validation
from services.access import require_owner, require_signed_in
from services.auth import Viewer, invite_code, normalise_email
from services.booking_mail import reminders_replanned
from services.errors import InvalidInputError, NotAuthorizedError, NotFoundError
from services.locks import hold_staff, lock_business, lock_owner
from services.quotas import DEFAULT_QUOTAS, Quota, Quotas, check_quota


async def create_business(viewer: Viewer, name: str, time_zone: str, quotas: Quotas = DEFAULT_QUOTAS, *,
                          address: str = "", phone: str = "") -> Business:
    """A new business of the viewer (an owner); its address and phone go into customers' invitations and mail."""
    user_id = require_signed_in(viewer)
    if viewer.role != UserRole.OWNER:
        raise NotAuthorizedError("Only business owner accounts may create a business")
    checks = validation.FieldChecks()
    clean_name = checks.check(validation.text, name, ["input", "name"])
    zone = checks.check(validation.zone, time_zone, ["input", "timeZone"])
    clean_address = checks.check(validation.text, address, ["input", "address"], max_length=500, required=False)
    clean_phone = checks.check(validation.phone, phone, ["input", "phone"])
    checks.done()
    async with in_transaction() as connection:
        # Count and insert under the owner's lock, so concurrent requests cannot both take the last place.
        await lock_owner(user_id, connection)
        owned = await Business.filter(owner_id=user_id).using_db(connection).count()
        check_quota(Quota.BUSINESSES_PER_OWNER, quotas, owned, "businesses per owner")
        return await Business.create(using_db=connection, name=clean_name, time_zone=zone, owner_id=user_id,
                                         address=clean_address, phone=clean_phone)


async def create_staff(viewer: Viewer, business_id: int, name: str, email: str, time_zone: str,
                       quotas: Quotas = DEFAULT_QUOTAS) -> tuple[Staff, str]:
    """A new staff member and the one-time code with which they create their sign-in."""
    # Ownership first: a business that does not exist and one that is not yours get the same answer.
    await require_owner(viewer, business_id)
    checks = validation.FieldChecks()
    clean_name = checks.check(validation.text, name, ["input", "name"])
    address = checks.check(normalise_email, email, ["input", "email"])
    zone = checks.check(validation.zone, time_zone, ["input", "timeZone"])
    checks.done()
    code, digest = invite_code()
    try:
        async with in_transaction() as connection:
            await lock_business(business_id, connection)
            existing = await Staff.filter(business_id=business_id).using_db(connection).count()
            check_quota(Quota.STAFF_PER_BUSINESS, quotas, existing, "staff per business")
            staff = await Staff.create(using_db=connection, business_id=business_id, name=clean_name,
                                       email=address, time_zone=zone, invite_code_hash=digest)
    except IntegrityError as exc:
        raise InvalidInputError(["input", "email"], "This business already has staff with this email") from exc
    return staff, code


@dataclass
class ServiceFields:
    """The editable fields of a service; None leaves a field as it is (on update)."""

    name: str | None = None
    duration_minutes: int | None = None
    buffer_before_minutes: int | None = None
    buffer_after_minutes: int | None = None
    slot_step_minutes: int | None = None
    minimum_notice_minutes: int | None = None
    booking_horizon_days: int | None = None
    colour: str | None = None
    staff_ids: list[int] | None = field(default=None)
    reminder_hours: int | None = None  # 0: no reminder mail


_LIMITS = {
    "duration_minutes": ("durationMinutes", 1, 24 * 60),
    "buffer_before_minutes": ("bufferBeforeMinutes", 0, 12 * 60),
    "buffer_after_minutes": ("bufferAfterMinutes", 0, 12 * 60),
    "slot_step_minutes": ("slotStepMinutes", 1, 24 * 60),
    "minimum_notice_minutes": ("minimumNoticeMinutes", 0, 60 * 24 * 60),
    "booking_horizon_days": ("bookingHorizonDays", 1, 730),
    "reminder_hours": ("reminderHours", 0, 24 * 30),
}


# The smallest slot step a service may have unless the caller says otherwise: a finer grid multiplies the cost of
# every slot query (docs/availability.md) without offering a customer a time they would miss.
MIN_SLOT_STEP_MINUTES = 5


def _validated(fields: ServiceFields, min_step: int) -> dict[str, Any]:
    """The fields given, checked all together (every invalid one is reported at once)."""
    checks = validation.FieldChecks()
    values: dict[str, Any] = {}
    if fields.name is not None:
        values["name"] = checks.check(validation.text, fields.name, ["input", "name"])
    for attr, (input_name, low, high) in _LIMITS.items():
        value = getattr(fields, attr)
        if attr == "slot_step_minutes":
            low = min_step
        if value is not None:
            values[attr] = checks.check(validation.whole_number, value, ["input", input_name], minimum=low,
                                        maximum=high)
    if fields.colour is not None:
        values["colour"] = checks.check(validation.colour, fields.colour, ["input", "colour"])
    checks.done()
    return values


async def _staff_of_business(business_id: int, staff_ids: list[int]) -> list[Staff]:
    staff = await Staff.filter(id__in=staff_ids, business_id=business_id)
    found = {member.id for member in staff}
    for index, staff_id in enumerate(staff_ids):
        if staff_id not in found:
            raise NotFoundError("Staff", ["input", "staffIds", index])
    return staff


async def create_service(viewer: Viewer, business_id: int, fields: ServiceFields,
                         quotas: Quotas = DEFAULT_QUOTAS, min_step: int = MIN_SLOT_STEP_MINUTES) -> Service:
    # Ownership first: a business that does not exist and one that is not yours get the same answer.
    await require_owner(viewer, business_id)
    if fields.name is None or fields.duration_minutes is None:
        raise InvalidInputError(["input"], "name and durationMinutes are required")
    values = _validated(fields, min_step)
    staff = await _staff_of_business(business_id, fields.staff_ids or [])
    async with in_transaction() as connection:
        await lock_business(business_id, connection)
        existing = await Service.filter(business_id=business_id).using_db(connection).count()
        check_quota(Quota.SERVICES_PER_BUSINESS, quotas, existing, "services per business")
        service = await Service.create(using_db=connection, business_id=business_id, **values)
        if staff:
            await service.staff.add(*staff, using_db=connection)
    return service


async def update_service(viewer: Viewer, service_id: int, fields: ServiceFields,
                         min_step: int = MIN_SLOT_STEP_MINUTES, now: datetime | None = None) -> Service:
    """Change a service. A new reminder lead time moves the reminders owed for its bookings ahead in the same
    transaction (services.booking_mail.reminders_replanned)."""
    service = await Service.get_or_none(id=service_id)
    if service is None:
        raise NotFoundError("Service", ["input", "id"])
    await require_owner(viewer, service.business_id)
    values = _validated(fields, min_step)
    staff = None
    if fields.staff_ids is not None:
        staff = await _staff_of_business(service.business_id, fields.staff_ids)
    before = [member.id for member in await service.staff.all()]
    new_lead = "reminder_hours" in values and values["reminder_hours"] != service.reminder_hours
    async with in_transaction() as db:
        if new_lead:
            # Under the staff members' locks (taken first, in order, as a booking takes its own): a booking made
            # meanwhile plans its reminder after this commits, reading the new lead time, or before, and is planned
            # again here.
            for staff_id in sorted(await Staff.filter(business_id=service.business_id).using_db(db).values_list(
                    "id", flat=True)):
                await hold_staff(int(str(staff_id)), db)
        if values:
            service.update_from_dict(values)
            await service.save(using_db=db)
        if staff is not None:
            await service.staff.clear(using_db=db)
            if staff:
                await service.staff.add(*staff, using_db=db)
        if new_lead:
            await reminders_replanned(service.id, now or datetime.now(UTC), db)
    # Length, buffers, step, notice, horizon or who performs it: the service's slots may differ anywhere ahead.
    await live.publish_schedule_changed([*before, *(member.id for member in staff or [])], service_ids=[service.id])
    return service
