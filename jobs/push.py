"""Push: write a booking's current state to one destination calendar (DESIGN.md path 2).

A push always reloads the booking and the mapping by ID and lets `plan_push` decide, so a push that runs twice,
late or out of order writes the right thing once and then nothing (invariant 4). Creates are idempotent by marker
(invariant 5). A transient failure (the calendar unreachable, slow, erroring or throttling) is counted on the mapping
and the scheduler retries it on domain.retry's schedule for at least a day; only then, or at once when the calendar
refuses the event itself, is the mapping failed until someone retries it alone (or, after an outage, until the
connection works again: services.sync_health).
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from domain.retry import gives_up, retry_delay
from domain.sync import BookingSnapshot, PushAction, WrittenSnapshot, plan_push
from jobs.booking_events import booking_event
from jobs.push_retired import delete_retired, retire_written
from models import (
    Booking,
    CalendarConnection,
    ConnectionHealth,
    EventMapping,
    EventMappingState,
    ExternalCalendar,
    SyncDirection,
)
from providers.base import (
    AuthFailed,
    CalendarProvider,
    NotFound,
    OutgoingEvent,
    PreconditionFailed,
    ProviderError,
    RateLimited,
    Unavailable,
    Written,
    is_transient,
)
from services.sync_health import log_action, record_failure, record_success

PULL_FIRST = timedelta(seconds=2)  # time for the pull that settles a hand edit before pushing again
# A calendar whose copy keeps changing under every push (pull first, push again) is a loop, not an outage: stop it.
CHANGED_IN_CALENDAR_LIMIT = 6
_PUSHABLE = {EventMappingState.PENDING, EventMappingState.SYNCED, EventMappingState.FAILED}


@dataclass(frozen=True)
class PushOutcome:
    """What a push did: `status` is done, skipped, retry (at `retry_at`), failed, needs_pull (the calendar's copy
    changed since Lockstep wrote it: pull first, then push again) or reauthorize."""

    status: str
    action: PushAction | None = None
    retry_at: datetime | None = None


async def _usable(mapping: EventMapping) -> CalendarConnection | None:
    calendar = await mapping.external_calendar
    connection = await CalendarConnection.get(id=calendar.connection_id)
    if connection.health not in (ConnectionHealth.ACTIVE, ConnectionHealth.DEGRADED):
        return None
    if connection.direction == SyncDirection.IMPORT_ONLY:
        return None
    return connection


async def push_mapping(mapping_id: int, provider: CalendarProvider, now: datetime) -> PushOutcome:
    mapping = await EventMapping.get_or_none(id=mapping_id)
    if mapping is None or mapping.state not in _PUSHABLE:
        return PushOutcome("skipped")
    connection = await _usable(mapping)
    if connection is None:
        return PushOutcome("skipped")
    calendar = await mapping.external_calendar
    current = await booking_event(mapping.booking_id)
    if not calendar.writable:
        return await _cancel_at_provider(mapping, connection, calendar, current.snapshot, provider, now)
    stopped = await delete_retired(mapping, connection.id, calendar.provider_calendar_id, provider)
    if stopped is not None:
        return await _failed(mapping, connection, PushAction.DELETE, stopped, now)
    snapshot = current.snapshot
    if current.staff_id != connection.staff_id or not calendar.is_destination:
        # Moved to someone else, or this calendar is no longer where bookings go: the event leaves it.
        snapshot = replace(snapshot, confirmed=False)
    action = plan_push(snapshot, WrittenSnapshot(mapping.external_event_id, mapping.version_written))
    if action == PushAction.NOTHING:
        await EventMapping.filter(id=mapping.id, version_written=mapping.version_written,
                                  queued=mapping.queued).update(
            state=EventMappingState.SYNCED, attempts=0, next_attempt_at=None, last_error="")
        return PushOutcome("done", action)
    try:
        if action == PushAction.DELETE:
            # Cancelled in Lockstep: the event goes even if it was edited by hand since (no etag); already gone
            # is what we wanted.
            with suppress(NotFound):
                await provider.delete_event(calendar.provider_calendar_id, mapping.external_event_id)
            event_id, etag, written = "", "", {}
        else:
            assert current.event is not None
            existing = mapping.external_event_id if action == PushAction.UPDATE else None
            if connection.direction == SyncDirection.EXPORT_ONLY:
                result = await _overwrite(provider, calendar.provider_calendar_id, current.event, existing)
            else:
                result = await provider.put_event(calendar.provider_calendar_id, current.event, event_id=existing,
                                                  etag=(mapping.etag or None) if existing else None)
            event_id, etag, written = result.event_id, result.etag, current.written
    except (PreconditionFailed, NotFound) as exc:
        # Changed or deleted by hand in the calendar since our last write: a pull decides what that means, then
        # this push runs again (counted, so a calendar that keeps refusing ends as a failed item, not a loop).
        attempts = mapping.attempts + 1
        retry_at = now + PULL_FIRST
        await EventMapping.filter(id=mapping.id).update(
            attempts=attempts, next_attempt_at=retry_at, last_error=str(exc),
            state=EventMappingState.FAILED if attempts >= CHANGED_IN_CALENDAR_LIMIT else EventMappingState.PENDING)
        await ExternalCalendar.filter(id=calendar.id).update(next_pull_at=now)
        await log_action(connection.id, "export", action.value, "retrying", booking_id=mapping.booking_id,
                         mapping_id=mapping.id, error=str(exc), detail="the calendar's copy changed: pulling first")
        return PushOutcome("needs_pull", action, retry_at)
    except ProviderError as exc:
        return await _failed(mapping, connection, action, exc, now)
    async with in_transaction() as db:
        values = {"external_event_id": event_id, "etag": etag, "written": written,
                  "version_written": current.snapshot.version, "attempts": 0, "last_error": "",
                  "failed_by_outage": False}
        # Synced only if nobody re-queued the mapping meanwhile (the booking changed again while this push ran);
        # otherwise it stays pending and the next push writes the newer state.
        settled = await EventMapping.filter(id=mapping.id, queued=mapping.queued).using_db(
            db).update(state=EventMappingState.SYNCED, next_attempt_at=None, **values)
        if not settled and not await EventMapping.filter(
                id=mapping.id, external_event_id=mapping.external_event_id).using_db(db).update(**values):
            await retire_written(mapping.id, calendar.id, event_id, db)
        await log_action(connection.id, "export", action.value, "ok", booking_id=mapping.booking_id,
                         mapping_id=mapping.id, using_db=db)
    await record_success(connection.id, now, delivered=mapping.booking_id)
    return PushOutcome("done", action)


async def _cancel_at_provider(mapping: EventMapping, connection: CalendarConnection, calendar: ExternalCalendar,
                              snapshot: BookingSnapshot, provider: CalendarProvider, now: datetime) -> PushOutcome:
    """A calendar Lockstep never writes (an appointment provider's: import and cancel) holds a booking only as the
    appointment it came from. While the booking stands nothing is sent; once it is cancelled in Lockstep the
    appointment is cancelled there, with the booking's reason, once (an appointment already gone is what we
    wanted). Once that version is written, a push that runs again sends nothing."""
    if snapshot.confirmed or not mapping.external_event_id or mapping.version_written >= snapshot.version:
        await EventMapping.filter(id=mapping.id, queued=mapping.queued).update(
            state=EventMappingState.SYNCED, version_written=snapshot.version, attempts=0, next_attempt_at=None,
            last_error="")
        return PushOutcome("done", PushAction.NOTHING)
    reason = (await Booking.filter(id=mapping.booking_id).values_list("cancel_reason", flat=True))[0]
    try:
        with suppress(NotFound):
            await provider.delete_event(calendar.provider_calendar_id, mapping.external_event_id,
                                        reason=str(reason))
    except ProviderError as exc:
        return await _failed(mapping, connection, PushAction.DELETE, exc, now)
    async with in_transaction() as db:
        await EventMapping.filter(id=mapping.id).using_db(db).update(
            state=EventMappingState.SYNCED, version_written=snapshot.version, attempts=0, next_attempt_at=None,
            last_error="", failed_by_outage=False)
        await log_action(connection.id, "export", "cancel_appointment", "ok", booking_id=mapping.booking_id,
                         mapping_id=mapping.id, using_db=db)
    await record_success(connection.id, now, delivered=mapping.booking_id)
    return PushOutcome("done", PushAction.DELETE)


async def _overwrite(provider: CalendarProvider, calendar_id: str, event: OutgoingEvent,
                     existing: str | None) -> Written:
    """Export only: Lockstep's copy is the truth and the calendar is never read, so a hand edit is written over and
    a deleted event is written again (pulling first would never happen)."""
    try:
        return await provider.put_event(calendar_id, event, event_id=existing, etag=None)
    except NotFound:
        return await provider.put_event(calendar_id, event, event_id=None, etag=None)


async def push_crashed(mapping_id: int, error_name: str, now: datetime) -> PushOutcome:
    """A push stopped on an unexpected error: count it like a provider failure (retried with backoff, failed after
    the last attempt, shown in the health) instead of leaving the item to be handed out forever. Only the error's
    type is recorded: its message could hold anything."""
    mapping = await EventMapping.get_or_none(id=mapping_id)
    if mapping is None:
        return PushOutcome("skipped")
    calendar = await mapping.external_calendar
    connection = await CalendarConnection.get(id=calendar.connection_id)
    error = Unavailable(f"an unexpected error stopped this push ({error_name})")
    return await _failed(mapping, connection, None, error, now)


async def push_refused(mapping_id: int, error: ProviderError, now: datetime) -> PushOutcome:
    """A push that could not start (no client for the connection's provider here): counted like a provider failure
    (`error` is transient, so retried with backoff), its message shown in the health."""
    mapping = await EventMapping.get_or_none(id=mapping_id)
    if mapping is None:
        return PushOutcome("skipped")
    calendar = await mapping.external_calendar
    connection = await CalendarConnection.get(id=calendar.connection_id)
    return await _failed(mapping, connection, None, error, now)


async def _failed(mapping: EventMapping, connection: CalendarConnection, action: PushAction | None,
                  error: ProviderError, now: datetime) -> PushOutcome:
    attempts = mapping.attempts + 1
    label = action.value if action else "push"
    health = await record_failure(connection.id, str(error), now, credentials_refused=isinstance(error, AuthFailed))
    if isinstance(error, AuthFailed) or health == ConnectionHealth.REAUTHORIZATION_REQUIRED:
        # Retrying cannot help until the staff member reconnects; reconnecting re-queues every pending item.
        await EventMapping.filter(id=mapping.id).update(state=EventMappingState.PENDING, attempts=attempts,
                                                        next_attempt_at=None, last_error=str(error))
        await log_action(connection.id, "export", label, "failed", booking_id=mapping.booking_id,
                         mapping_id=mapping.id, error=str(error))
        return PushOutcome("reauthorize", action)
    transient = is_transient(error)
    if not transient or gives_up(attempts):
        # A refusal of the event itself fails at once; an outage only after a day of retries, and then it is
        # marked so that the connection's recovery sends it again by itself.
        await EventMapping.filter(id=mapping.id).update(state=EventMappingState.FAILED, attempts=attempts,
                                                        next_attempt_at=None, last_error=str(error),
                                                        failed_by_outage=transient)
        detail = f"gave up after {attempts} attempts over a day" if transient else "the calendar refused this event"
        await log_action(connection.id, "export", label, "failed", booking_id=mapping.booking_id,
                         mapping_id=mapping.id, error=str(error), detail=detail)
        return PushOutcome("failed", action)
    retry_after = error.retry_after if isinstance(error, RateLimited) else None
    retry_at = now + retry_delay(attempts, retry_after)
    await EventMapping.filter(id=mapping.id).update(state=EventMappingState.PENDING, attempts=attempts,
                                                    next_attempt_at=retry_at, last_error=str(error))
    await log_action(connection.id, "export", label, "retrying", booking_id=mapping.booking_id,
                     mapping_id=mapping.id, error=str(error), detail=f"attempt {attempts}")
    return PushOutcome("retry", action, retry_at)
