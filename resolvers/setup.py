"""Setting up a business: the business, staff, services and schedules."""

from __future__ import annotations

from collections.abc import Sequence

import strawberry
from strawberry.types import Info

from models import Business as BusinessModel, Service as ServiceModel, Staff as StaffModel
from resolvers.errors import pk, typed_errors
from resolvers.permissions import IS_BUSINESS_SIDE, IS_OWNER, AllowAny, IsSignedIn, permission, viewer_of
from schema.inputs import (
    AddScheduleOverrideInput,
    BlockTimeInput,
    CreateBusinessInput,
    CreateServiceInput,
    CreateStaffInput,
    RemoveBlockedTimeInput,
    RemoveScheduleOverrideInput,
    SetWorkingHoursInput,
    StaffPriorityInput,
    UpdateServiceInput,
)
from schema.management import ArchiveServiceInput
from schema.payloads import (
    BusinessResult,
    BusyBlockResult,
    CreateStaffPayload,
    CreateStaffResult,
    MyBusinessesResult,
    ScheduleOverrideResult,
    ServiceResult,
    StaffMemberResult,
)
from schema.types import Business, BusinessList, BusyBlock, ScheduleOverride, Service, StaffMember
from services import businesses, schedules
from services.access import block_title
from services.businesses import Price, ServiceFields
from services.errors import NotFoundError
from services.quotas import DAYS_PER_WEEK, Quotas, at_most
from services.schedules import ClockRange, WeekdayHours
from services.staff_priorities import PriorityOf
from services.validation import FieldChecks


@permission(IS_OWNER)
@typed_errors
async def create_business(input: CreateBusinessInput, info: Info) -> BusinessResult:
    return Business.from_model(await businesses.create_business(
        viewer_of(info), input.name, input.time_zone, info.context.quotas, address=input.address, phone=input.phone))


@permission(IS_OWNER)
@typed_errors
async def create_staff(input: CreateStaffInput, info: Info) -> CreateStaffResult:
    business_id = pk(input.business_id, "Business", ["input", "businessId"])
    staff, code = await businesses.create_staff(viewer_of(info), business_id, input.name, input.email,
                                                input.time_zone, info.context.accounts, info.context.quotas)
    return CreateStaffPayload(staff=StaffMember.from_model(staff), invite_code=code)


def _staff_pks(ids: Sequence[str] | None, quotas: Quotas, checks: FieldChecks) -> list[int] | None:
    if ids is None:
        return None
    # A service cannot have more staff than its business may have.
    at_most(ids, quotas.staff_per_business, ["input", "staffIds"], "staff per service")
    return [checks.check(pk, value, "StaffMember", ["input", "staffIds", index]) for index, value in enumerate(ids)]


def _service_fields(input: CreateServiceInput | UpdateServiceInput, quotas: Quotas, checks: FieldChecks
                    ) -> ServiceFields:
    """The service fields of either input; on update an omitted field is None and stays as it is (the price: left
    out stays, null removes it)."""
    values = {name: getattr(input, name) for name in (
        "name", "duration_minutes", "buffer_before_minutes", "buffer_after_minutes", "slot_step_minutes",
        "minimum_notice_minutes", "booking_horizon_days", "colour", "reminder_hours", "description", "image_url")}
    staff = None if input.staff_ids is None else list(input.staff_ids)
    policy = None if input.assignment_policy is None else input.assignment_policy.value
    given = input.price is not strawberry.UNSET
    price = Price(input.price.amount_minor, input.price.currency) if given and input.price is not None else None
    return ServiceFields(**values, staff_ids=_staff_pks(staff, quotas, checks), assignment_policy=policy,
                         staff_priorities=_priorities(input.staff_priorities, quotas, checks), price=price,
                         clear_price=given and input.price is None)


def _priorities(entries: Sequence[StaffPriorityInput] | None, quotas: Quotas, checks: FieldChecks
                ) -> list[PriorityOf] | None:
    if entries is None:
        return None
    at_most(entries, quotas.staff_per_business, ["input", "staffPriorities"], "staff priorities")
    return [PriorityOf(checks.check(pk, entry.staff_id, "StaffMember", ["input", "staffPriorities", index, "staffId"]),
                       entry.priority) for index, entry in enumerate(entries)]


@permission(IS_OWNER)
@typed_errors
async def create_service(input: CreateServiceInput, info: Info) -> ServiceResult:
    ids = FieldChecks()  # every malformed ID at once; the service then checks every other field
    business_id = ids.check(pk, input.business_id, "Business", ["input", "businessId"])
    fields = _service_fields(input, info.context.quotas, ids)
    ids.done()
    return Service.from_model(await businesses.create_service(viewer_of(info), business_id, fields,
                                                              info.context.quotas,
                                                              info.context.slot_limits.min_step_minutes))


@permission(IS_OWNER)
@typed_errors
async def update_service(input: UpdateServiceInput, info: Info) -> ServiceResult:
    ids = FieldChecks()
    service_id = ids.check(pk, input.id, "Service", ["input", "id"])
    fields = _service_fields(input, info.context.quotas, ids)
    ids.done()
    return Service.from_model(await businesses.update_service(viewer_of(info), service_id, fields,
                                                                 info.context.slot_limits.min_step_minutes))


@permission(IS_OWNER)
@typed_errors
async def archive_service(input: ArchiveServiceInput, info: Info) -> ServiceResult:
    """Archive a service (no slots, no new bookings; its bookings stay), or offer it again with archived: false."""
    service_id = pk(input.id, "Service", ["input", "id"])
    return Service.from_model(await businesses.archive_service(viewer_of(info), service_id, input.archived,
                                                               info.context.now()))


def _ranges(ranges: list, path: list[str | int], quotas: Quotas) -> list[ClockRange]:  # type: ignore[type-arg]
    at_most(ranges, quotas.ranges_per_day, path, "ranges per day")
    return [ClockRange(start=item.start, end=item.end) for item in ranges]


@permission(IS_BUSINESS_SIDE)
@typed_errors
async def set_working_hours(input: SetWorkingHoursInput, info: Info) -> StaffMemberResult:
    # Every list is bounded before any of its items is looked at: one week, a few ranges a day.
    at_most(input.days, DAYS_PER_WEEK, ["input", "days"], "days (one per weekday)")
    quotas = info.context.quotas
    week = [WeekdayHours(weekday=day.weekday.value, ranges=_ranges(day.ranges, ["input", "days", index, "ranges"],
                                                                   quotas))
            for index, day in enumerate(input.days)]
    staff_id = pk(input.staff_id, "StaffMember", ["input", "staffId"])
    return StaffMember.from_model(await schedules.set_working_hours(viewer_of(info), staff_id, week))


@permission(IS_BUSINESS_SIDE)
@typed_errors
async def add_schedule_override(input: AddScheduleOverrideInput, info: Info) -> ScheduleOverrideResult:
    ranges = _ranges(input.ranges, ["input", "ranges"], info.context.quotas)
    staff_id = pk(input.staff_id, "StaffMember", ["input", "staffId"])
    row = await schedules.add_schedule_override(viewer_of(info), staff_id, input.date, ranges, input.note)
    return ScheduleOverride.from_model(row)


@permission(IS_BUSINESS_SIDE)
@typed_errors
async def remove_schedule_override(input: RemoveScheduleOverrideInput, info: Info) -> ScheduleOverrideResult:
    override_id = pk(input.id, "ScheduleOverride", ["input", "id"])
    return ScheduleOverride.from_model(await schedules.remove_schedule_override(viewer_of(info), override_id))


@permission(IS_BUSINESS_SIDE)
@typed_errors
async def block_time(input: BlockTimeInput, info: Info) -> BusyBlockResult:
    staff_id = pk(input.staff_id, "StaffMember", ["input", "staffId"])
    viewer = viewer_of(info)
    block = await schedules.block_time(viewer, staff_id, input.starts_at, input.ends_at, input.title)
    return BusyBlock.from_model(block, block_title(viewer, block, block.staff))


@permission(IS_BUSINESS_SIDE)
@typed_errors
async def remove_blocked_time(input: RemoveBlockedTimeInput, info: Info) -> BusyBlockResult:
    viewer = viewer_of(info)
    block = await schedules.remove_blocked_time(viewer, pk(input.id, "BusyBlock", ["input", "id"]))
    return BusyBlock.from_model(block, block_title(viewer, block, block.staff))


@permission(AllowAny())
@typed_errors
async def business(id: strawberry.ID, info: Info) -> BusinessResult:
    """Public: a business's name, zone, services and staff names, for a booking front end."""
    found = await BusinessModel.get_or_none(id=pk(id, "Business", ["id"]))
    if found is None:
        raise NotFoundError("Business", ["id"])
    return Business.from_model(found)


@permission(IsSignedIn())
@typed_errors
async def my_businesses(info: Info) -> MyBusinessesResult:
    """The businesses the viewer owns or works for."""
    viewer = viewer_of(info)
    owned = await BusinessModel.filter(owner_id=viewer.user_id).order_by("id")
    staff_of = await StaffModel.filter(user_id=viewer.user_id).values_list("business_id", flat=True)
    worked = await BusinessModel.filter(id__in=list(staff_of)).order_by("id")
    return BusinessList(businesses=[Business.from_model(row) for row in [*owned, *worked]])


@permission(AllowAny())
@typed_errors
async def service(id: strawberry.ID, info: Info) -> ServiceResult:
    found = await ServiceModel.get_or_none(id=pk(id, "Service", ["id"]))
    if found is None:
        raise NotFoundError("Service", ["id"])
    return Service.from_model(found)

