"""Sync health, the sync log and notifications: what the engine tells people about itself.

Terms:
- *health*: active (syncing normally), degraded (errors, retrying), reauthorization required (credentials refused;
  nothing more is tried until the staff member reconnects), disconnected (credentials deleted).
- *lag*: how stale Lockstep's copy of the calendar may be: the time since the last successful sync.
- *pending* / *failed*: bookings whose event still has to be written (an item retrying, or a booking still in the
  outbox), and those that gave up: refused by the calendar, or unreachable for a day.
Every message stored here is safe to show: provider errors are translated at the edge without secrets. Every
change of health, and every notification, is announced to live subscribers once it has committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q

from domain.intervals import Span
from models import (
    Business,
    CalendarConnection,
    ConflictStatus,
    ConnectionHealth,
    EventMapping,
    EventMappingState,
    ExternalCalendar,
    Notification,
    Staff,
    SyncConflict,
    SyncLogEntry,
)
from models.claims import run_update
from services import live
from services.locks import lock_connection
from services.notification_mail import mail_notification
from services.sync_recovery import recovery_message, send_what_waited, undispatched_bookings
from services.transactions import committed

_HEALTHY = {ConnectionHealth.ACTIVE, ConnectionHealth.DEGRADED}


async def log_action(connection_id: int | None, direction: str, action: str, outcome: str, *,
                     booking_id: int | None = None, mapping_id: int | None = None, detail: str = "",
                     error: str = "", using_db: Any = None) -> SyncLogEntry:
    """Append one entry to the sync log. `direction` is export, import or none; `outcome` ok, retrying, failed or
    skipped."""
    return await SyncLogEntry.create(connection_id=connection_id, direction=direction, action=action,
                                     outcome=outcome, booking_id=booking_id, mapping_id=mapping_id,
                                     detail=detail[:500], error=error[:2000], using_db=using_db)


async def notify_staff(staff_id: int, kind: str, message: str, data: dict[str, object] | None = None, *,
                       using_db: Any = None, now: datetime | None = None) -> list[int]:
    """Store a notification for the staff member (when they have an account) and for the business owner, with the
    mail it owes those who need to act (services.notification_mail, due at `now`); returns the users notified.
    Without `using_db` the rows are committed and announced live at once; a caller passing its transaction
    announces them (live.publish_notifications_added) after it commits."""
    staff = await Staff.get(id=staff_id, using_db=using_db)
    owner_id = await Business.filter(id=staff.business_id).using_db(using_db).values_list("owner_id", flat=True)
    recipients: list[int] = sorted({int(str(user_id)) for user_id in [staff.user_id, *owner_id]
                                    if user_id is not None})
    stored = {"staffId": staff_id, **(data or {})}
    async with committed(using_db) as tx:
        await Notification.bulk_create(
            [Notification(user_id=user_id, kind=kind, message=message[:500], data=stored) for user_id in recipients],
            using_db=tx)
        await mail_notification(staff, int(str(owner_id[0])) if owner_id else 0, recipients, kind, message[:500],
                                stored, now or datetime.now(UTC), tx)
    if using_db is None:
        await live.publish_notifications_added(recipients)
    return recipients


async def announce_health(connection: CalendarConnection, notified: Sequence[int] = (),
                          freed: Sequence[Span] = (), *, db: BaseDBAsyncClient | None = None) -> None:
    """After commit (or inside services.transactions.committed, which holds it until then): the connection's new
    health, the notifications that came with it, and the busy time it gave up (imported blocks removed)."""
    business_id = await Staff.filter(id=connection.staff_id).using_db(db).values_list("business_id", flat=True)
    if business_id:
        await live.publish_sync_health_changed(connection.id, connection.staff_id, int(str(business_id[0])),
                                               str(connection.health))
    await live.publish_notifications_added(notified)
    await live.publish_availability_changed(connection.staff_id, freed)


async def unreadable_events(connection_id: int, using_db: Any = None) -> int:
    """How many events of the connection's pulled calendars (importing busy time or taking bookings) the last pulls
    could not read: a calendar no longer pulled has no reading that could ever clear what it last stored."""
    lists = await ExternalCalendar.filter(Q(import_busy=True) | Q(is_destination=True), connection_id=connection_id
                                          ).using_db(using_db).values_list("unreadable_event_ids", flat=True)
    return sum(len(ids) for ids in lists if isinstance(ids, list))


def unreadable_message(count: int) -> str:
    return (f"{count} event{'s' if count != 1 else ''} could not be read; "
            f"{'they keep' if count != 1 else 'it keeps'} the busy time last read")


OUTAGE_FAILURES = 2
# A connection active with nothing to clear records a success by moving its times (every quiet pull does this):
# written out once, not built by the ORM on each call (models.claims.run_update).
_STILL_ACTIVE = ("UPDATE calendarconnection SET last_successful_sync_at = ?, last_attempt_at = ?"
                 " WHERE id = ? AND health = ? AND consecutive_failures = 0 AND last_error = '' RETURNING id")
OUTAGE_SILENCE = timedelta(minutes=2)


async def record_success(connection_id: int, now: datetime, *, delivered: int | None = None,
                         db: BaseDBAsyncClient | None = None, unreadable_may_change: bool = False) -> None:
    """A sync call succeeded: the connection is active again. If it had been failing, every item that waited is
    due at once, and the staff member and owner are told which bookings made meanwhile are on their way (among them
    `delivered`, the booking whose event this successful call wrote, if any). While some events of its calendars
    could not be read, it stays degraded, saying how many. With `db`, inside the caller's transaction
    (services.transactions.committed); the connection's lock is taken here unless the caller holds it already, so
    the caller takes no lock but the staff member's before this (services.locks has the order).
    `unreadable_may_change`: the caller just stored which events could not be read (a pull that read events).

    Most calls find the connection active with nothing to clear: then only the times move, in one conditional
    statement (the same outcome as the locked read-and-save below, which the other cases need)."""
    if not unreadable_may_change and await run_update(_STILL_ACTIVE, [now, now, connection_id,
                                                                    ConnectionHealth.ACTIVE.value], db):
        return
    async with committed(db) as tx:
        connection = await lock_connection(connection_id, tx)
        if connection.health not in _HEALTHY:
            return  # a late job must not revive a disconnected or refused connection
        before = connection.health
        unreadable = await unreadable_events(connection_id, tx)
        # An outage, not one item's own failure between successful calls: a run of failures and no success for a
        # while. Only then does everything that waited go out at once, with a notification; a single item that
        # keeps failing while the rest works follows its own retry schedule to its end.
        last_success = connection.last_successful_sync_at
        recovered = (connection.health == ConnectionHealth.DEGRADED
                     and connection.consecutive_failures >= OUTAGE_FAILURES
                     and (last_success is None or now - last_success >= OUTAGE_SILENCE))
        connection.health = ConnectionHealth.DEGRADED if unreadable else ConnectionHealth.ACTIVE
        connection.last_successful_sync_at = now
        connection.last_attempt_at = now
        connection.last_error = unreadable_message(unreadable) if unreadable else ""
        connection.consecutive_failures = 0
        await connection.save(using_db=tx)
        notified = []
        if recovered:
            # What waited for the calendar goes out at once, not on each item's own (by now long) retry delay.
            waited = sorted({*await send_what_waited(connection_id, now, tx), *([delivered] if delivered else [])})
            message = await recovery_message(connection.staff_id, waited, tx)
            notified = await notify_staff(connection.staff_id, "sync_recovered", message,
                                          {"connectionId": connection_id, "bookingIds": waited}, using_db=tx, now=now)
        if recovered or connection.health != before:
            await announce_health(connection, notified, db=tx)  # held until the transaction commits


async def record_failure(connection_id: int, error: str, now: datetime, *, credentials_refused: bool = False,
                         db: BaseDBAsyncClient | None = None) -> ConnectionHealth:
    """A sync call failed (`error` is a message safe to show). Refused credentials need the staff member; anything
    else degrades the connection and is retried. With `db`, inside the caller's transaction, as record_success."""
    async with committed(db) as tx:
        connection = await lock_connection(connection_id, tx)
        if connection.health not in _HEALTHY:
            return connection.health
        before = connection.health
        connection.last_attempt_at = now
        connection.last_error = error[:2000]
        connection.consecutive_failures += 1
        notified = []
        if credentials_refused:
            connection.health = ConnectionHealth.REAUTHORIZATION_REQUIRED
            notified = await notify_staff(connection.staff_id, "reauthorization_required",
                                          "The calendar refused Lockstep's credentials: reconnect it",
                                          {"connectionId": connection_id}, using_db=tx, now=now)
        else:
            connection.health = ConnectionHealth.DEGRADED
        await connection.save(using_db=tx)
        if connection.health != before:
            await announce_health(connection, notified, db=tx)  # held until the transaction commits
    return connection.health


@dataclass(frozen=True)
class HealthReport:
    status: ConnectionHealth
    last_successful_sync_at: datetime | None
    lag: timedelta | None
    last_error: str
    pending: int
    failed: int
    open_conflicts: int
    unreadable: int = 0


async def health_report(connection: CalendarConnection, now: datetime) -> HealthReport:
    mappings = EventMapping.filter(external_calendar__connection_id=connection.id)
    last = connection.last_successful_sync_at
    return HealthReport(
        status=connection.health,
        last_successful_sync_at=last,
        lag=None if last is None else max(now - last, timedelta(0)),
        last_error=connection.last_error,
        # Bookings still in the outbox (Redis or the scheduler down) are owed too, though no item exists yet.
        pending=await mappings.filter(state=EventMappingState.PENDING).count() + await undispatched_bookings(
            connection),
        failed=await mappings.filter(state=EventMappingState.FAILED).count(),
        open_conflicts=await SyncConflict.filter(connection_id=connection.id, status=ConflictStatus.OPEN).count(),
        unreadable=await unreadable_events(connection.id),
    )
