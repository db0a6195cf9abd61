"""Object types. Each has `from_model`; nested objects resolve through the request's DataLoaders."""

from __future__ import annotations

from datetime import date, datetime, tzinfo

import strawberry
from strawberry.permission import PermissionExtension
from strawberry.types import Info

from models import (
    Booking as BookingModel,
    Business as BusinessModel,
    BusyBlock as BusyBlockModel,
    ScheduleOverride as ScheduleOverrideModel,
    Service as ServiceModel,
    Staff as StaffModel,
    User as UserModel,
    WorkingHoursRange,
)
from schema.enums import AssignmentPolicy, BookingStatus, Role, ScheduleEntryKind, Weekday
from schema.ids import encode_id
from schema.money import Money
from schema.node import Node
from schema.permissions import IsBusinessMember, is_business_member
from schema.sync_enums import BookingSource
from schema.zones import in_zone


def _MEMBERS_ONLY() -> PermissionExtension:
    # Hours and overrides (and their notes) are the business's, not the public's: others get an empty list.
    return PermissionExtension(permissions=[IsBusinessMember()], fail_silently=True)


def clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def time_range(start_minute: int, end_minute: int) -> TimeRange:
    """A stored range as a person writes it: an end past 1440 (the next day's) shows as that day's clock time."""
    end = end_minute - 1440 if end_minute > 1440 else end_minute
    return TimeRange(start=clock(start_minute), end=clock(end))


@strawberry.type
class User(Node):
    id: strawberry.ID
    email: str
    name: str
    role: Role
    phone: str
    photo_url: str | None
    email_verified: bool = strawberry.field(description="Whether the owner of `email` has shown they hold it (a "
                                                        "verification link, or a provider that vouches for it)")

    @classmethod
    def from_model(cls, user: UserModel) -> User:
        return cls(id=encode_id("User", user.id), email=user.email, name=user.name, role=Role(str(user.role)),
                   phone=user.phone, photo_url=user.photo_url or None,
                   email_verified=user.email_verified_at is not None)


@strawberry.type
class Business(Node):
    id: strawberry.ID
    name: str
    time_zone: str
    address: str
    phone: str
    slug: str | None = strawberry.field(description="The public name a customer app finds it by (businessBySlug)")
    logo_url: str | None
    pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, business: BusinessModel) -> Business:
        return cls(id=encode_id("Business", business.id), name=business.name, time_zone=business.time_zone,
                   address=business.address, phone=business.phone, slug=business.slug,
                   logo_url=business.logo_url or None, pk=business.id)

    @strawberry.field(description="Its services; archived ones only for the business's owner and staff.")
    async def services(self, info: Info) -> list[Service]:
        rows = ServiceModel.filter(business_id=self.pk)
        if not await is_business_member(info, self.pk):
            rows = rows.filter(archived_at=None)
        return [Service.from_model(row) for row in await rows.order_by("id")]

    @strawberry.field(description="Its staff; inactive ones only for the business's owner and staff.")
    async def staff(self, info: Info) -> list[StaffMember]:
        rows = StaffModel.filter(business_id=self.pk)
        if not await is_business_member(info, self.pk):
            rows = rows.filter(active=True)
        return [StaffMember.from_model(row) for row in await rows.order_by("id")]


@strawberry.type
class TimeRange:
    start: str = strawberry.field(description="Local wall-clock time, HH:MM")
    end: str = strawberry.field(description="Local wall-clock time, HH:MM; 24:00 is the end of the day, and an end "
                                            "before the start is the next day's (22:00 to 06:00)")


@strawberry.type
class WeekdayHours:
    weekday: Weekday
    ranges: list[TimeRange]


@strawberry.type
class ScheduleOverride(Node):
    id: strawberry.ID
    date: date
    closed: bool
    ranges: list[TimeRange]
    note: str

    @classmethod
    def from_model(cls, row: ScheduleOverrideModel) -> ScheduleOverride:
        ranges = [time_range(start, end) for start, end in row.ranges]
        return cls(id=encode_id("ScheduleOverride", row.id), date=row.date, closed=not ranges, ranges=ranges,
                   note=row.note)


@strawberry.type(description="A person who can be booked.")
class StaffMember(Node):
    id: strawberry.ID
    name: str
    time_zone: str
    photo_url: str | None
    active: bool = strawberry.field(description="Whether they take bookings (deactivateStaff)")
    pk: strawberry.Private[int]
    business_pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, staff: StaffModel) -> StaffMember:
        return cls(id=encode_id("StaffMember", staff.id), name=staff.name, time_zone=staff.time_zone,
                   photo_url=staff.photo_url or None, active=staff.active, pk=staff.id,
                   business_pk=staff.business_id)

    @strawberry.field(description="Weekly hours in the staff member's own zone; empty unless the viewer is of the "
                                  "business.", extensions=[_MEMBERS_ONLY()])
    async def working_hours(self) -> list[WeekdayHours]:
        rows = await WorkingHoursRange.filter(staff_id=self.pk).order_by("weekday", "start_minute")
        days: dict[int, list[TimeRange]] = {}
        for row in rows:
            days.setdefault(row.weekday, []).append(time_range(row.start_minute, row.end_minute))
        return [WeekdayHours(weekday=Weekday(day), ranges=ranges) for day, ranges in days.items()]

    @strawberry.field(description="Dated exceptions to the hours; empty unless the viewer is of the business.",
                      extensions=[_MEMBERS_ONLY()])
    async def schedule_overrides(self) -> list[ScheduleOverride]:
        rows = await ScheduleOverrideModel.filter(staff_id=self.pk).order_by("date")
        return [ScheduleOverride.from_model(row) for row in rows]


@strawberry.type(description="The priority a service gives one of the staff performing it: higher is preferred.")
class StaffPriority:
    staff: StaffMember
    priority: int


@strawberry.type
class Service(Node):
    id: strawberry.ID
    name: str
    duration_minutes: int
    buffer_before_minutes: int
    buffer_after_minutes: int
    slot_step_minutes: int
    minimum_notice_minutes: int
    booking_horizon_days: int
    colour: str
    pk: strawberry.Private[int]
    reminder_hours: int = strawberry.field(description="Hours before a booking's start its customer is reminded by "
                                                       "mail; 0: no reminder")
    assignment_policy: AssignmentPolicy = strawberry.field(description="Who gets a booking that names no staff "
                                                                       "member")
    business_pk: strawberry.Private[int]
    price: Money | None = strawberry.field(description="null when the service shows no price")
    description: str
    image_url: str | None
    archived: bool = strawberry.field(description="No longer offered: no slots, no new bookings (archiveService)")

    @classmethod
    def from_model(cls, service: ServiceModel) -> Service:
        return cls(id=encode_id("Service", service.id), name=service.name, duration_minutes=service.duration_minutes,
                   buffer_before_minutes=service.buffer_before_minutes,
                   buffer_after_minutes=service.buffer_after_minutes, slot_step_minutes=service.slot_step_minutes,
                   minimum_notice_minutes=service.minimum_notice_minutes,
                   booking_horizon_days=service.booking_horizon_days, colour=service.colour, pk=service.id,
                   reminder_hours=service.reminder_hours,
                   assignment_policy=AssignmentPolicy(str(service.assignment_policy)),
                   business_pk=service.business_id, price=Money.of(service.price_minor, service.currency),
                   description=service.description, image_url=service.image_url or None,
                   archived=service.archived_at is not None)

    @strawberry.field(description="The staff who perform this service; inactive ones only for the business's owner "
                                  "and staff.")
    async def staff(self, info: Info) -> list[StaffMember]:
        rows = await info.context.loaders.staff_of_service.load(self.pk)
        # The membership check only when it matters: most services have no inactive staff.
        if any(not row.active for row in rows) and not await is_business_member(info, rows[0].business_id):
            rows = [row for row in rows if row.active]
        return [StaffMember.from_model(row) for row in rows]

    @strawberry.field(description="The priority of each staff member performing this service (0 unless set), for "
                                  "the PRIORITY policy; empty unless the viewer is of the business.",
                      extensions=[_MEMBERS_ONLY()])
    async def staff_priorities(self, info: Info) -> list[StaffPriority]:
        loaders = info.context.loaders
        staff = await loaders.staff_of_service.load(self.pk)
        priorities = await loaders.priorities_of_service.load(self.pk)
        return [StaffPriority(staff=StaffMember.from_model(member), priority=priorities.get(member.id, 0))
                for member in staff]


@strawberry.type(description="A bookable time. Times are given in the time zone the query asked for.")
class Slot:
    start: datetime
    end: datetime
    staff_ids: list[strawberry.ID] = strawberry.field(description="Staff members free at this time")


@strawberry.type
class Booking(Node):
    id: strawberry.ID
    status: BookingStatus
    starts_at: datetime
    ends_at: datetime
    customer_name: str
    customer_email: str
    customer_phone: str
    walk_in: bool
    customer_notes: str
    merchant_notes: str | None = strawberry.field(description="Visible to the business only; null for customers")
    series_id: strawberry.ID | None
    occurrence_index: int | None
    version: int
    created_at: datetime
    cancelled_at: datetime | None
    source: BookingSource
    cancel_reason: str
    staff_pk: strawberry.Private[int]
    service_pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, booking: BookingModel, *, for_business: bool, zone: tzinfo | None = None) -> Booking:
        """`zone`: the zone every date-time is given in (the query's `timeZone`); None: as stored."""
        series_id = booking.series_id
        cancelled_at = booking.cancelled_at
        return cls(
            id=encode_id("Booking", booking.id), status=BookingStatus(str(booking.status)),
            starts_at=in_zone(booking.starts_at, zone), ends_at=in_zone(booking.ends_at, zone),
            customer_name=booking.customer_name,
            customer_email=booking.customer_email, customer_phone=booking.customer_phone, walk_in=booking.walk_in,
            customer_notes=booking.customer_notes, merchant_notes=booking.merchant_notes if for_business else None,
            series_id=encode_id("BookingSeries", series_id) if series_id else None,
            occurrence_index=booking.occurrence_index, version=booking.version,
            created_at=in_zone(booking.created_at, zone),
            cancelled_at=None if cancelled_at is None else in_zone(cancelled_at, zone),
            source=BookingSource(booking.source),
            cancel_reason=booking.cancel_reason, staff_pk=booking.staff_id,
            service_pk=booking.service_id,
        )

    @strawberry.field
    async def staff(self, info: Info) -> StaffMember:
        return StaffMember.from_model(await info.context.loaders.staff.load(self.staff_pk))

    @strawberry.field
    async def service(self, info: Info) -> Service:
        return Service.from_model(await info.context.loaders.service.load(self.service_pk))


@strawberry.type(description="Time taken by something other than a booking: an imported event or blocked time.")
class BusyBlock(Node):
    id: strawberry.ID
    title: str = strawberry.field(description="The real title only for the staff member; others see \"Busy\"")
    starts_at: datetime
    ends_at: datetime
    all_day: bool
    manual: bool

    @classmethod
    def from_model(cls, block: BusyBlockModel, title: str, zone: tzinfo | None = None) -> BusyBlock:
        return cls(id=encode_id("BusyBlock", block.id), title=title, starts_at=in_zone(block.starts_at, zone),
                   ends_at=in_zone(block.ends_at, zone), all_day=block.all_day, manual=block.source == "manual")


@strawberry.type
class ScheduleEntry:
    kind: ScheduleEntryKind
    starts_at: datetime
    ends_at: datetime
    title: str
    booking: Booking | None
    busy_block: BusyBlock | None


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class BookingEdge:
    cursor: str
    node: Booking


@strawberry.type
class BookingConnection:
    edges: list[BookingEdge]
    page_info: PageInfo


@strawberry.type(description="The businesses the viewer owns or works for, oldest first.")
class BusinessList:
    businesses: list[Business]
