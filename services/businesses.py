"""Setting a business up: the business itself, its staff and its services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import Business, Service, Staff, UserRole
from services import live, staff_priorities, validation
from services.access import require_owner, require_signed_in
from services.auth import AccountSecurity, Viewer, invite_code, normalise_email
from services.booking_mail import reminders_replanned
from services.errors import InvalidInputError, NotAuthorizedError, NotFoundError
from services.locks import hold_staff, lock_business, lock_owner
from services.quotas import DEFAULT_QUOTAS, Quota, Quotas, check_quota
from services.staff_invites import mail_staff_invite
from services.staff_priorities import PriorityOf


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
                       security: AccountSecurity, quotas: Quotas = DEFAULT_QUOTAS) -> tuple[Staff, str]:
    """A new staff member and the one-time code with which they create their sign-in; the code is also mailed to
    them, as a link, in the same transaction (services.staff_invites)."""
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
            await mail_staff_invite(staff, code, security, datetime.now(UTC), connection)
    except IntegrityError as exc:
        raise InvalidInputError(["input", "email"], "This business already has staff with this email") from exc
    return staff, code


@dataclass(frozen=True)
class Price:
    """A price as given: a whole number of the currency's minor units (domain.currencies) and its ISO 4217 code."""

    amount_minor: int
    currency: str


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
    assignment_policy: str | None = None  # an AssignmentPolicy value: who gets a booking that names no staff member
    staff_priorities: list[PriorityOf] | None = None  # replaces them all; staff not named have priority 0
    price: Price | None = None
    clear_price: bool = False  # on update: the service shows no price any more
    description: str | None = None  # "" clears it
    image_url: str | None = None  # "" clears it


# The highest price a service may have, in minor units: ten million in a currency of two decimals, and well inside
# the 32-bit column whatever the currency.
MAX_PRICE_MINOR = 1_000_000_000
MAX_DESCRIPTION = 2000


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
    if fields.assignment_policy is not None:
        values["assignment_policy"] = checks.check(staff_priorities.policy, fields.assignment_policy)
    if fields.price is not None:
        values["price_minor"] = checks.check(validation.whole_number, fields.price.amount_minor,
                                             ["input", "price", "amountMinor"], minimum=0, maximum=MAX_PRICE_MINOR)
        values["currency"] = checks.check(validation.currency, fields.price.currency, ["input", "price", "currency"])
    elif fields.clear_price:
        values["price_minor"], values["currency"] = None, ""
    if fields.description is not None:
        values["description"] = checks.check(validation.text, fields.description, ["input", "description"],
                                             max_length=MAX_DESCRIPTION, required=False)
    if fields.image_url is not None:
        values["image_url"] = checks.check(validation.https_url, fields.image_url, ["input", "imageUrl"])
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
    priorities = staff_priorities.checked_priorities(fields.staff_priorities or [], {member.id for member in staff})
    async with in_transaction() as connection:
        await lock_business(business_id, connection)
        existing = await Service.filter(business_id=business_id).using_db(connection).count()
        check_quota(Quota.SERVICES_PER_BUSINESS, quotas, existing, "services per business")
        service = await Service.create(using_db=connection, business_id=business_id, **values)
        if staff:
            await service.staff.add(*staff, using_db=connection)
        await staff_priorities.replace_priorities(service.id, priorities, connection)
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
    performing = before if staff is None else [member.id for member in staff]
    priorities = None
    if fields.staff_priorities is not None:
        priorities = staff_priorities.checked_priorities(fields.staff_priorities, performing)
    new_lead = "reminder_hours" in values and values["reminder_hours"] != service.reminder_hours
    async with in_transaction() as db:
        if new_lead:
            # Under the staff members' locks (taken first, in order, as a booking takes its own): a booking made
            # meanwhile plans its reminder after this commits, reading the new lead time, or before, and is planned
            # again here.
            for staff_id in sorted(await Staff.filter(business_id=service.business_id).using_db(db).values_list(
                    "id", flat=True)):
                await hold_staff(int(str(staff_id)), db)
        if staff is not None or priorities is not None:
            # Two changes of one service's staff and priorities, one after the other (after the staff locks, as
            # every lock). NO KEY: a booking of the service (its foreign key) need not wait for this.
            await Service.filter(id=service.id).using_db(db).select_for_update(no_key=True).first()
        if values:
            service.update_from_dict(values)
            await service.save(using_db=db)
        if staff is not None:
            await service.staff.clear(using_db=db)
            if staff:
                await service.staff.add(*staff, using_db=db)
            await staff_priorities.forget_former_staff(service.id, performing, db)
        if priorities is not None:
            await staff_priorities.replace_priorities(service.id, priorities, db)
        if new_lead:
            await reminders_replanned(service.id, now or datetime.now(UTC), db)
    # Length, buffers, step, notice, horizon or who performs it: the service's slots may differ anywhere ahead.
    await live.publish_schedule_changed([*before, *(member.id for member in staff or [])], service_ids=[service.id])
    return service


async def archive_service(viewer: Viewer, service_id: int, archived: bool, now: datetime) -> Service:
    """Archive a service (no longer offered: no slots, no new bookings; its bookings stay as they are), or with
    `archived` False offer it again. Archiving twice keeps the first time it was archived."""
    service = await Service.get_or_none(id=service_id)
    if service is None:
        raise NotFoundError("Service", ["input", "id"])
    await require_owner(viewer, service.business_id)
    performers = sorted(int(str(staff_id)) for staff_id in await service.staff.all().values_list("id", flat=True))
    async with in_transaction() as db:
        # Under the performers' locks, as a booking takes them: a booking made meanwhile either committed first
        # (and is one of the bookings that stay) or reads the service archived inside its own transaction.
        for staff_id in performers:
            await hold_staff(staff_id, db)
        if archived:
            await Service.filter(id=service.id, archived_at=None).using_db(db).update(archived_at=now)
        else:
            await Service.filter(id=service.id).using_db(db).update(archived_at=None)
        changed = await Service.get(id=service.id, using_db=db)
    await live.publish_schedule_changed(performers, service_ids=[service.id])
    return changed
