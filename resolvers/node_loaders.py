"""The loaders of the nodes this API has (resolvers.node_registry): each answers an object by its key under the same
rule as the query that lists it, through services.visible or the query's own service."""

from __future__ import annotations

from datetime import UTC

from strawberry.types import Info

from models import Business as BusinessModel, Service as ServiceModel, Staff as StaffModel
from resolvers.calendars import connection_out
from resolvers.journal import calendar_event
from resolvers.node_registry import node_loader
from resolvers.permissions import viewer_of
from schema.calendar_feeds import CalendarFeed
from schema.journal_types import BLOCK_ENTRY, BOOKING_ENTRY, CalendarEvent
from schema.sync_types import CalendarConnection, ExternalCalendar, Notification, SyncConflict, SyncItem, SyncLogEntry
from schema.types import Booking, Business, BusyBlock, ScheduleOverride, Service, StaffMember, User
from services import booking_queries, journal_entry, visible
from services.access import block_title, is_member


@node_loader("User")
async def user(info: Info, key: int) -> User:
    return User.from_model(await visible.own_user(viewer_of(info), key))


# A business, its services and its staff members' names are public, as `business` and `service` answer them.
@node_loader("Business")
async def business(info: Info, key: int) -> Business | None:
    row = await BusinessModel.get_or_none(id=key)
    return None if row is None else Business.from_model(row)


@node_loader("Service")
async def service(info: Info, key: int) -> Service | None:
    row = await ServiceModel.get_or_none(id=key)
    return None if row is None else Service.from_model(row)


@node_loader("StaffMember")
async def staff_member(info: Info, key: int) -> StaffMember | None:
    # As Business.staff and Service.staff list them: an inactive staff member only to the business's own people.
    row = await StaffModel.get_or_none(id=key)
    if row is None or (not row.active and not await is_member(viewer_of(info), row.business_id)):
        return None
    return StaffMember.from_model(row)


@node_loader("Booking")
async def booking(info: Info, key: int) -> Booking:
    viewer = viewer_of(info)
    row = await booking_queries.get_booking(viewer, key)
    return Booking.from_model(row, for_business=await is_member(viewer, row.business_id))


@node_loader("BusyBlock")
async def busy_block(info: Info, key: int) -> BusyBlock:
    viewer = viewer_of(info)
    block = await visible.member_busy_block(viewer, key)
    return BusyBlock.from_model(block, block_title(viewer, block, block.staff))


@node_loader("ScheduleOverride")
async def schedule_override(info: Info, key: int) -> ScheduleOverride:
    return ScheduleOverride.from_model(await visible.member_schedule_override(viewer_of(info), key))


@node_loader("CalendarConnection")
async def calendar_connection(info: Info, key: int) -> CalendarConnection:
    row = await visible.managed_calendar_connection(viewer_of(info), key)
    return await connection_out(row, info.context.now())


@node_loader("ExternalCalendar")
async def external_calendar(info: Info, key: int) -> ExternalCalendar:
    return ExternalCalendar.from_model(await visible.managed_external_calendar(viewer_of(info), key))


@node_loader("SyncLogEntry")
async def sync_log_entry(info: Info, key: int) -> SyncLogEntry:
    return SyncLogEntry.from_model(await visible.managed_sync_log_entry(viewer_of(info), key))


@node_loader("SyncItem")
async def sync_item(info: Info, key: int) -> SyncItem:
    return SyncItem.from_model(await visible.managed_sync_item(viewer_of(info), key))


@node_loader("SyncConflict")
async def sync_conflict(info: Info, key: int) -> SyncConflict:
    return SyncConflict.from_model(await visible.managed_conflict(viewer_of(info), key))


@node_loader("Notification")
async def notification(info: Info, key: int) -> Notification:
    return Notification.from_model(await visible.own_notification(viewer_of(info), key))


@node_loader("CalendarFeed")
async def calendar_feed(info: Info, key: int) -> CalendarFeed:
    viewer = viewer_of(info)
    return CalendarFeed.from_model(await visible.listed_calendar_feed(viewer, key), viewer.user_id)


# A journal entry as calendarEvents shows it (without a timeZone: in UTC).
@node_loader(BOOKING_ENTRY)
async def booking_entry(info: Info, key: int) -> CalendarEvent:
    return calendar_event(await journal_entry.booking_entry(viewer_of(info), key, info.context.now()), UTC)


@node_loader(BLOCK_ENTRY)
async def block_entry(info: Info, key: int) -> CalendarEvent:
    return calendar_event(await journal_entry.block_entry(viewer_of(info), key, info.context.now()), UTC)
