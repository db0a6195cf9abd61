"""What people ask of the sync engine: a connection's health and sync log, "sync now", retrying a failed item, and
their notifications.

Terms: a *sync item* is one event mapping (a booking's event in one calendar); a *failed* one gave up after every
retry and waits for someone to retry it. The sync log is read newest first, a page at a time, behind an opaque
cursor. Only a *calendar manager* sees or touches any of it: the business owner, or the staff member the
calendars belong to (the same rule as for their schedule).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from models import CalendarConnection, ConnectionHealth, EventMapping, Notification, Staff, SyncLogEntry
from models.database import MAX_ROW_ID, ROW_ID_DIGITS
from services.access import require_schedule_manager, require_signed_in
from services.auth import Viewer
from services.errors import InvalidInputError, NotAuthorizedError, NotFoundError
from services.sync_dispatch import request_pull, retry_mapping
from services.sync_health import HealthReport, health_report, log_action
from services.validation import FieldChecks

MAX_PAGE = 100
_CURSOR_PREFIX = "log:"


async def managed_staff(viewer: Viewer, staff_id: int, path: Sequence[str | int]) -> Staff:
    """The staff member, if the viewer manages their calendars (NotAuthorized otherwise, as for schedules)."""
    require_signed_in(viewer)
    staff = await Staff.get_or_none(id=staff_id)
    if staff is None:
        raise NotFoundError("Staff", path)
    await require_schedule_manager(viewer, staff)
    return staff


async def managed_connection(viewer: Viewer, connection_id: int, path: Sequence[str | int],
                             kind: str = "Calendar connection") -> CalendarConnection:
    """The connection, if the viewer manages it. Someone else's is reported exactly like one that does not exist, as
    a missing `kind` (the thing the input named: the connection, or one of its calendars or sync items)."""
    require_signed_in(viewer)
    connection = await CalendarConnection.get_or_none(id=connection_id).select_related("staff")
    if connection is None:
        raise NotFoundError(kind, path)
    try:
        await require_schedule_manager(viewer, connection.staff)
    except NotAuthorizedError:
        raise NotFoundError(kind, path) from None
    return connection


@dataclass(frozen=True)
class SyncLogPage:
    entries: list[SyncLogEntry]
    cursors: list[str]
    has_next_page: bool


def _cursor(entry: SyncLogEntry) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{entry.id}".encode()).decode()


def _page_size(first: int) -> None:
    if not 1 <= first <= MAX_PAGE:
        raise InvalidInputError(["first"], f"Ask for between 1 and {MAX_PAGE} entries")


def _after_id(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not raw.startswith(_CURSOR_PREFIX):
            raise ValueError("not a sync log cursor")
        key = raw[len(_CURSOR_PREFIX):]
        if not ROW_ID_DIGITS.fullmatch(key) or int(key) > MAX_ROW_ID:
            raise ValueError("not a sync log entry ID")
        return int(key)
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise InvalidInputError(["after"], "This cursor is not valid") from exc


async def sync_log(viewer: Viewer, connection_id: int, first: int, after: str | None) -> SyncLogPage:
    """A page of the connection's sync log, newest entry first."""
    connection = await managed_connection(viewer, connection_id, ["connectionId"])
    checks = FieldChecks()
    checks.check(_page_size, first)
    before = checks.check(_after_id, after) if after else None
    checks.done()
    query = SyncLogEntry.filter(connection_id=connection.id)
    if before is not None:
        query = query.filter(id__lt=before)
    rows = await query.order_by("-id").limit(first + 1)
    page = rows[:first]
    return SyncLogPage(page, [_cursor(row) for row in page], len(rows) > first)


async def connection_health(connection: CalendarConnection, now: datetime) -> HealthReport:
    """The health of a connection the caller already checked the viewer may see."""
    return await health_report(connection, now)


async def sync_now(viewer: Viewer, connection_id: int, now: datetime) -> CalendarConnection:
    """"Sync now": every calendar of the connection, and every pending push, is due at once."""
    connection = await managed_connection(viewer, connection_id, ["input", "connectionId"])
    if connection.health == ConnectionHealth.DISCONNECTED:
        raise InvalidInputError(["input", "connectionId"], "This calendar connection is disconnected")
    if connection.health == ConnectionHealth.REAUTHORIZATION_REQUIRED:
        # Nothing is tried with refused credentials; saying so beats a "sync" that silently does nothing.
        raise InvalidInputError(["input", "connectionId"],
                                "The calendar refused Lockstep's credentials: connect the account again first")
    calendars = await request_pull(connection.id, now)
    await log_action(connection.id, "none", "sync_now", "ok", detail=f"{len(calendars)} calendars due now")
    return connection


async def retry_sync(viewer: Viewer, mapping_id: int, now: datetime) -> EventMapping:
    """Put one failed item back in the queue alone."""
    mapping = await EventMapping.get_or_none(id=mapping_id).select_related("external_calendar")
    if mapping is None:
        raise NotFoundError("Sync item", ["input", "mappingId"])
    connection = await managed_connection(viewer, mapping.external_calendar.connection_id, ["input", "mappingId"],
                                          "Sync item")
    if not await retry_mapping(mapping.id, now):
        raise InvalidInputError(["input", "mappingId"], "Only a failed item can be retried")
    await log_action(connection.id, "export", "retry", "ok", booking_id=mapping.booking_id, mapping_id=mapping.id,
                     detail="retry requested")
    return await EventMapping.get(id=mapping.id)


async def notifications(viewer: Viewer, unread_only: bool, first: int) -> list[Notification]:
    """The viewer's own notifications, newest first."""
    user_id = require_signed_in(viewer)
    if not 1 <= first <= MAX_PAGE:
        raise InvalidInputError(["first"], f"Ask for between 1 and {MAX_PAGE} notifications")
    query = Notification.filter(user_id=user_id)
    if unread_only:
        query = query.filter(read_at=None)
    return await query.order_by("-id").limit(first)


async def unread_count(viewer: Viewer) -> int:
    user_id = require_signed_in(viewer)
    return await Notification.filter(user_id=user_id, read_at=None).count()


async def mark_notifications_read(viewer: Viewer, ids: Sequence[int], now: datetime) -> list[Notification]:
    """Mark the viewer's notifications read (one read earlier keeps its first read time). Any ID that is not one of
    the viewer's notifications refuses the whole request."""
    user_id = require_signed_in(viewer)
    wanted = list(dict.fromkeys(ids))
    own = set(await Notification.filter(id__in=wanted, user_id=user_id).values_list("id", flat=True))
    for index, notification_id in enumerate(ids):
        if notification_id not in own:
            raise NotFoundError("Notification", ["input", "ids", index])
    await Notification.filter(id__in=wanted, read_at=None).update(read_at=now)
    found = {row.id: row for row in await Notification.filter(id__in=wanted)}
    return [found[notification_id] for notification_id in wanted]
