"""One object by its primary key, as the viewer may see it: what `node(id)` answers.

Each function applies the rule of the query that lists the object (staffSchedule for busy blocks, calendarConnections
for connections and their calendars, syncLog, conflicts, notifications, StaffMember.scheduleOverrides, calendarFeeds).
An object the viewer may not see raises NotFoundError exactly like a missing one, so no ID can be probed.
"""

from __future__ import annotations

from models import (
    BusyBlock,
    CalendarConnection,
    CalendarFeed,
    EventMapping,
    ExternalCalendar,
    Notification,
    ScheduleOverride,
    SyncConflict,
    SyncLogEntry,
    User,
)
from services.access import is_member, manages_schedule
from services.auth import Viewer
from services.calendar_feeds import listed_to
from services.errors import NotFoundError
from services.sync_queries import managed_connection

_PATH = ["id"]


async def own_user(viewer: Viewer, user_id: int) -> User:
    """The viewer's own account: nobody else's is shown (as `viewer`)."""
    user = await User.get_or_none(id=user_id) if viewer.user_id == user_id else None
    if user is None:
        raise NotFoundError("User", _PATH)
    return user


async def member_busy_block(viewer: Viewer, block_id: int) -> BusyBlock:
    """A busy block, with its staff, for the owner and staff of its business (as staffSchedule)."""
    block = await BusyBlock.get_or_none(id=block_id).select_related("staff")
    if block is None or not await is_member(viewer, block.staff.business_id):
        raise NotFoundError("BusyBlock", _PATH)
    return block


async def member_schedule_override(viewer: Viewer, override_id: int) -> ScheduleOverride:
    """A dated override of a staff member's hours, for the owner and staff of the business (as the staff member's
    scheduleOverrides)."""
    override = await ScheduleOverride.get_or_none(id=override_id).select_related("staff")
    if override is None or not await is_member(viewer, override.staff.business_id):
        raise NotFoundError("ScheduleOverride", _PATH)
    return override


async def managed_calendar_connection(viewer: Viewer, connection_id: int) -> CalendarConnection:
    """A connection, for the owner and the staff member whose it is (as calendarConnections)."""
    return await managed_connection(viewer, connection_id, _PATH)


async def managed_external_calendar(viewer: Viewer, calendar_id: int) -> ExternalCalendar:
    calendar = await ExternalCalendar.get_or_none(id=calendar_id)
    if calendar is None:
        raise NotFoundError("Calendar", _PATH)
    await managed_connection(viewer, calendar.connection_id, _PATH, "Calendar")
    return calendar


async def managed_sync_log_entry(viewer: Viewer, entry_id: int) -> SyncLogEntry:
    """A sync log entry of a connection the viewer manages (as syncLog); one left by no connection is no one's."""
    entry = await SyncLogEntry.get_or_none(id=entry_id)
    if entry is None or entry.connection_id is None:
        raise NotFoundError("Sync log entry", _PATH)
    await managed_connection(viewer, entry.connection_id, _PATH, "Sync log entry")
    return entry


async def managed_sync_item(viewer: Viewer, mapping_id: int) -> EventMapping:
    mapping = await EventMapping.get_or_none(id=mapping_id).select_related("external_calendar")
    if mapping is None:
        raise NotFoundError("Sync item", _PATH)
    await managed_connection(viewer, mapping.external_calendar.connection_id, _PATH, "Sync item")
    return mapping


async def managed_conflict(viewer: Viewer, conflict_id: int) -> SyncConflict:
    """A conflict, with its booking, for the owner and the staff member whose it is (as conflicts)."""
    conflict = await SyncConflict.get_or_none(id=conflict_id).select_related("staff", "booking")
    if conflict is None or not await manages_schedule(viewer, conflict.staff):
        raise NotFoundError("Conflict", _PATH)
    return conflict


async def own_notification(viewer: Viewer, notification_id: int) -> Notification:
    notification = await Notification.get_or_none(id=notification_id)
    if notification is None or viewer.user_id is None or notification.user_id != viewer.user_id:
        raise NotFoundError("Notification", _PATH)
    return notification


async def listed_calendar_feed(viewer: Viewer, feed_id: int) -> CalendarFeed:
    """A feed while calendarFeeds lists it to the viewer (active, and theirs to manage: a staff member's own and the
    owner's of their bookings, the owner's business's and staff's, a customer's own)."""
    feed = await CalendarFeed.filter(await listed_to(viewer), id=feed_id).first()
    if feed is None:
        raise NotFoundError("CalendarFeed", _PATH)
    return feed
