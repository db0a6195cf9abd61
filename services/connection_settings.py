"""What each calendar of a connection does (import busy time, take bookings) and how the connection syncs
(direction, frequency, conflict policy, whether tentative and all-day events block)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from domain.conflicts import ConflictPolicy
from domain.intervals import Span
from models import BusyBlock, CalendarConnection, ExternalCalendar, SyncDirection, SyncFrequency
from services import live
from services.auth import Viewer
from services.connections import require_connected
from services.errors import InvalidInputError, NotFoundError
from services.locks import lock_staff
from services.sync_dispatch import owe_upcoming_bookings
from services.sync_queries import managed_connection


async def update_external_calendar(viewer: Viewer, calendar_id: int, import_busy: bool | None,
                                   is_destination: bool | None, now: datetime) -> ExternalCalendar:
    """Turn busy-time import on or off, and make a calendar the staff member's one destination (or not)."""
    calendar = await ExternalCalendar.get_or_none(id=calendar_id)
    if calendar is None:
        raise NotFoundError("Calendar", ["input", "id"])
    connection = await managed_connection(viewer, calendar.connection_id, ["input", "id"], "Calendar")
    require_connected(connection, ["input", "id"])
    if is_destination and not calendar.writable:
        raise InvalidInputError(["input", "isDestination"], "This calendar is read-only")
    if is_destination and connection.direction == SyncDirection.IMPORT_ONLY:
        raise InvalidInputError(["input", "isDestination"], "This connection only imports; bookings are not written")
    freed: list[Span] = []
    async with in_transaction() as db:
        await lock_staff(connection.staff_id, db)
        if is_destination:
            others = await ExternalCalendar.filter(connection__staff_id=connection.staff_id, is_destination=True
                                                   ).exclude(id=calendar.id).using_db(db).values_list("id", flat=True)
            await ExternalCalendar.filter(id__in=list(others)).using_db(db).update(is_destination=False)
        values: dict[str, object] = {}
        if is_destination is not None:
            values["is_destination"] = is_destination
        if is_destination and not calendar.is_destination:
            await owe_upcoming_bookings(calendar.id, connection.staff_id, now, db)
        if import_busy is False:
            # What could not be read no longer matters (its blocks go too), and would keep the health degraded.
            values.update(import_busy=False, unreadable_event_ids=[])
            freed = [Span(start, end) for start, end in await BusyBlock.filter(
                external_calendar_id=calendar.id).using_db(db).values_list("starts_at", "ends_at")]
            await BusyBlock.filter(external_calendar_id=calendar.id).using_db(db).delete()
        elif import_busy and not calendar.import_busy:
            # Imported from scratch: the cursor only knows what changed since blocks were last kept.
            values.update(import_busy=True, sync_cursor="", window_start=None, next_pull_at=now)
        if values:
            # What it brings in may have changed: looked at again for a push channel (services.watch_channels).
            await ExternalCalendar.filter(id=calendar.id).using_db(db).update(watch_due_at=None, **values)
    await live.publish_availability_changed(connection.staff_id, freed)
    return await ExternalCalendar.get(id=calendar.id)


@dataclass(frozen=True)
class ConnectionSettings:
    """Editable settings of a connection (values of the model enums); None leaves one as it is."""

    direction: str | None = None
    frequency: str | None = None
    conflict_policy: str | None = None
    tentative_blocks: bool | None = None
    all_day_blocks: bool | None = None


_CHOICES = (("direction", set(SyncDirection), "direction"), ("frequency", set(SyncFrequency), "frequency"),
            ("conflict_policy", set(ConflictPolicy), "conflictPolicy"))


async def update_calendar_connection(viewer: Viewer, connection_id: int, settings: ConnectionSettings,
                                     now: datetime) -> CalendarConnection:
    connection = await managed_connection(viewer, connection_id, ["input", "id"])
    require_connected(connection, ["input", "id"])
    values = {name: value for name, value in vars(settings).items() if value is not None}
    for name, allowed, field in _CHOICES:
        if name in values and values[name] not in allowed:
            raise InvalidInputError(["input", field], "Unknown value")
    blocking_changed = any(name in values and values[name] != getattr(connection, name)
                           for name in ("tentative_blocks", "all_day_blocks"))
    async with in_transaction() as db:
        if values:
            await CalendarConnection.filter(id=connection.id).using_db(db).update(**values)
        if any(name in values for name in ("direction", "frequency")):
            # Whether its calendars are watched may have changed (services.watch_channels).
            await ExternalCalendar.filter(connection_id=connection.id).using_db(db).update(watch_due_at=None)
        if blocking_changed:
            # Which events block changed: only a full listing re-reads every event, not just the changed ones.
            await ExternalCalendar.filter(connection_id=connection.id).using_db(db).update(
                sync_cursor="", window_start=None, next_pull_at=now)
    return await CalendarConnection.get(id=connection.id)
