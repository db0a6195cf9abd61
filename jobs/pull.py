"""Pull: bring one external calendar's changes into Lockstep (DESIGN.md path 3).

The first pull lists the whole import window (30 days back, 365 ahead); later pulls ask for changes since the stored
cursor. When the window rolls on to a new day, or the provider no longer accepts the cursor, the window is listed in
full again, and the stored blocks are replaced only once that complete listing is in hand (a failed listing changes
nothing), so the last known busy time stays in force meanwhile (invariant 6). Lockstep's own events are never
blocks; they go to sync_edits to see whether the staff member changed them by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from domain.busy import BusyPolicy, BusySpan
from domain.intervals import Span
from domain.retry import retry_delay
from domain.sync import BlockKey, ImportedEvent, ImportPlan, StoredBlock, plan_import
from jobs.event_reading import EventReader, gather_own, reader_for, reading_zone
from models import (
    BusyBlock,
    BusyBlockSource,
    CalendarConnection,
    ConnectionHealth,
    ExternalCalendar,
    Staff,
    SyncDirection,
)
from providers.base import (
    AuthFailed,
    CalendarProvider,
    Changes,
    CursorExpired,
    ProviderError,
    Unavailable,
)
from services.live import publish_availability_changed
from services.locks import lock_staff
from services.sync_edits import OwnSeen, reconcile_busy_overlaps, reconcile_own_events
from services.sync_health import log_action, record_failure, record_success
from services.sync_schedule import next_pull_at, poll_interval

DAYS_BACK = 30
_BATCH = 500
DAYS_AHEAD = 365


def import_window(now: datetime) -> Span:
    """The span imported: from UTC midnight 30 days ago to 365 days ahead of that. It moves once a day."""
    start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=DAYS_BACK)
    return Span(start, start + timedelta(days=DAYS_BACK + DAYS_AHEAD))


@dataclass(frozen=True)
class PullOutcome:
    """`status`: done, skipped, retry (at `retry_at`) or reauthorize; `plan` what changed in the busy blocks."""

    status: str
    plan: ImportPlan | None = None
    retry_at: datetime | None = None


async def _fetch(provider: CalendarProvider, calendar: ExternalCalendar, window: Span) -> tuple[Changes, bool]:
    """The changes, and whether the cursor had expired (then the listing is complete)."""
    rolled = calendar.window_start is None or calendar.window_start != window.start
    cursor = None if rolled or not calendar.sync_cursor else calendar.sync_cursor
    try:
        return await provider.fetch_changes(calendar.provider_calendar_id, cursor, window), False
    except CursorExpired:
        return await provider.fetch_changes(calendar.provider_calendar_id, None, window), True


def _own_addresses(connection: CalendarConnection, staff: Staff, discovered: tuple[str, ...]) -> frozenset[str]:
    addresses = {staff.email.lower(), *(address.lower().removeprefix("mailto:") for address in discovered)}
    if "@" in connection.account_label:
        addresses.add(connection.account_label.lower())
    return frozenset(addresses)


def _read(changes: Changes, window: Span, policy: BusyPolicy, import_busy: bool, stored: list[StoredBlock],
          reader: EventReader) -> tuple[list[ImportedEvent], dict[str, OwnSeen], int]:
    """Busy spans of other events, Lockstep's own events by own id, and how many events could not be read."""
    imported: list[ImportedEvent] = []
    own: dict[str, OwnSeen] = {}
    unreadable = 0
    for remote in changes.changed:
        try:
            reading = reader(remote, window, policy, import_busy)
            if reading.own is not None:
                # Listed with no busy time: it counts as an event the calendar holds (a listing of only our own
                # events is not "suddenly empty"), and it never becomes a block.
                gather_own(own, reading, remote, changes.complete)
                imported.append(ImportedEvent(remote.event_id, ()))
                continue
            spans = reading.spans
        except Exception:  # any event that breaks the reader (bad data, no DTSTART, a library error)
            # An event we cannot read keeps whatever it blocked before: never drop busy time on a parse error.
            unreadable += 1
            spans = [BusySpan(block.span, block.occurrence_key, block.title, block.all_day)
                     for block in stored if block.event_id == remote.event_id]
        imported.append(ImportedEvent(remote.event_id, tuple(spans)))
    return imported, own, unreadable


async def _stored_blocks(calendar_id: int) -> dict[BlockKey, tuple[int, StoredBlock]]:
    """The calendar's blocks by key, with their row IDs."""
    rows = await BusyBlock.filter(external_calendar_id=calendar_id).values_list(
        "id", "external_event_id", "occurrence_key", "starts_at", "ends_at", "title", "all_day")
    return {(event_id, key): (row_id, StoredBlock(event_id, key, Span(start.astimezone(UTC), end.astimezone(UTC)),
                                                  title, all_day))
            for row_id, event_id, key, start, end, title, all_day in rows}


async def _apply_blocks(calendar: ExternalCalendar, plan: ImportPlan,
                        stored: dict[BlockKey, tuple[int, StoredBlock]], staff_id: int) -> None:
    """Write the plan in one transaction: deletes and new blocks in batches (an initial import brings thousands)."""
    async with in_transaction() as db:
        # Imported busy time changes the schedule like any other change: take the staff member's lock, which also
        # gives the schedule a new version (cached slot answers of the old one are no longer used).
        if plan.deletes or plan.upserts:
            await lock_staff(staff_id, db)
        doomed = [stored[key][0] for key in plan.deletes if key in stored]
        for start in range(0, len(doomed), _BATCH):
            await BusyBlock.filter(id__in=doomed[start:start + _BATCH]).using_db(db).delete()
        new = []
        for block in plan.upserts:
            values = {"starts_at": block.span.start, "ends_at": block.span.end, "title": block.title[:500],
                      "all_day": block.all_day}
            if block.key in stored:
                await BusyBlock.filter(id=stored[block.key][0]).using_db(db).update(**values)
            else:
                new.append(BusyBlock(staff_id=staff_id, source=BusyBlockSource.EXTERNAL,
                                     external_calendar_id=calendar.id, external_event_id=block.event_id,
                                     occurrence_key=block.occurrence_key, **values))
        await BusyBlock.bulk_create(new, batch_size=_BATCH, using_db=db)


def _changed_spans(plan: ImportPlan, stored: dict[BlockKey, tuple[int, StoredBlock]]) -> list[Span]:
    """Where free time may have changed: the new blocks and the old place of changed or removed ones."""
    before = [stored[key][1].span for key in (*plan.deletes, *(block.key for block in plan.upserts)) if key in stored]
    return [*before, *(block.span for block in plan.upserts)]


async def _next_pull(calendar: ExternalCalendar, connection: CalendarConnection, staff: Staff, now: datetime
                     ) -> datetime:
    """When to pull again: by the schedule, or sooner when a pull was asked for while this one ran ("sync now", or
    a push that found the calendar's copy changed)."""
    planned = await next_pull_at(connection, staff, now)
    # Only the one column: the row's cursor can be long.
    times = await ExternalCalendar.filter(id=calendar.id).values_list("next_pull_at", flat=True)
    requested = cast(datetime | None, times[0]) if times else None
    if requested is not None and requested != calendar.next_pull_at and requested < planned:
        return requested
    return planned


async def _store_quiet_pull(calendar: ExternalCalendar, cursor: str, planned: datetime, now: datetime) -> None:
    """_next_pull and the write of a pull that found nothing, in one conditional statement when (as nearly always)
    no pull was asked for meanwhile; else a second one that keeps the time asked for."""
    unrequested = Q(next_pull_at=None) | Q(next_pull_at__gte=planned)
    if calendar.next_pull_at is not None:
        unrequested |= Q(next_pull_at=calendar.next_pull_at)
    if not await ExternalCalendar.filter(unrequested, id=calendar.id).update(
            sync_cursor=cursor, last_pulled_at=now, next_pull_at=planned):
        await ExternalCalendar.filter(id=calendar.id).update(sync_cursor=cursor, last_pulled_at=now)


async def _failed(calendar: ExternalCalendar, connection: CalendarConnection, error: ProviderError,
                  now: datetime) -> PullOutcome:
    health = await record_failure(connection.id, str(error), now, credentials_refused=isinstance(error, AuthFailed))
    retry_after = getattr(error, "retry_after", None)
    delay = retry_delay(connection.consecutive_failures + 1, retry_after)
    # A failing calendar is polled no less often than a working one (unless the provider asks for a pause): its
    # pull is what notices that the outage is over and sends what waited.
    poll = await poll_interval(connection, await Staff.get(id=connection.staff_id), now)
    retry_at = now + max(min(delay, poll), timedelta(seconds=retry_after or 0))
    await ExternalCalendar.filter(id=calendar.id).update(next_pull_at=retry_at)
    await log_action(connection.id, "import", "pull", "failed", error=str(error))
    status = "reauthorize" if health == ConnectionHealth.REAUTHORIZATION_REQUIRED else "retry"
    return PullOutcome(status, retry_at=retry_at)


async def pull_crashed(calendar_id: int, error_name: str, now: datetime) -> PullOutcome:
    """A pull stopped on an unexpected error: back off and show it in the health, as for a provider failure. Only the
    error's type is recorded: its message could hold anything."""
    calendar = await ExternalCalendar.get_or_none(id=calendar_id)
    if calendar is None:
        return PullOutcome("skipped")
    connection = await CalendarConnection.get(id=calendar.connection_id)
    return await _failed(calendar, connection, Unavailable(f"an unexpected error stopped this pull ({error_name})"),
                         now)


async def _held_back(calendar: ExternalCalendar, connection: CalendarConnection, plan: ImportPlan, now: datetime,
                     next_pull: datetime) -> PullOutcome:
    """A suddenly empty listing: keep every block and the old cursor, and list the window in full again next time
    (each such listing in a row is counted; domain.sync believes the calendar empty after enough of them)."""
    await ExternalCalendar.filter(id=calendar.id).update(empty_listings=calendar.empty_listings + 1,
                                                         window_start=None, last_pulled_at=now,
                                                         next_pull_at=next_pull)
    message = "The calendar suddenly listed no events; the last known busy time stays in force"
    await log_action(connection.id, "import", "pull", "retrying", error=message)
    await record_failure(connection.id, message, now)
    return PullOutcome("done", plan)


async def pull_calendar(calendar_id: int, provider: CalendarProvider, now: datetime, *,
                        own_addresses: tuple[str, ...] = ()) -> PullOutcome:
    """Fetch and apply one calendar's changes; idempotent (a second run finds nothing new to apply). Callers make
    sure no push or pull of the same calendar runs meanwhile (services.sync_leases).
    `own_addresses` are the account's calendar addresses found at connect time, besides the staff member's email."""
    calendar = await ExternalCalendar.get_or_none(id=calendar_id)
    if calendar is None:
        return PullOutcome("skipped")
    connection = await CalendarConnection.get(id=calendar.connection_id)
    live = connection.health in (ConnectionHealth.ACTIVE, ConnectionHealth.DEGRADED)
    wanted = calendar.import_busy or calendar.is_destination
    if not live or not wanted or connection.direction == SyncDirection.EXPORT_ONLY:
        return PullOutcome("skipped")
    staff = await Staff.get(id=connection.staff_id)
    window = import_window(now)
    try:
        changes, expired = await _fetch(provider, calendar, window)
    except ProviderError as exc:
        return await _failed(calendar, connection, exc, now)
    if not (changes.changed or changes.deleted or changes.complete):
        # The cheap check found nothing new (most polls): no blocks to load, nothing worth a log entry.
        await _store_quiet_pull(calendar, changes.cursor, await next_pull_at(connection, staff, now), now)
        await record_success(connection.id, now)
        return PullOutcome("done", ImportPlan((), ()))
    zone = reading_zone(connection.provider, calendar.time_zone, staff.time_zone)
    policy = BusyPolicy(zone=zone, own_addresses=_own_addresses(connection, staff, own_addresses),
                        tentative_blocks=connection.tentative_blocks, all_day_blocks=connection.all_day_blocks)
    stored = await _stored_blocks(calendar.id)
    blocks = [block for _, block in stored.values()]
    imported, own, unreadable = _read(changes, window, policy, calendar.import_busy, blocks,
                                      reader_for(connection.provider))
    plan = plan_import(blocks, imported, changes.deleted, complete=changes.complete,
                       empty_listings_before=calendar.empty_listings)
    if plan.suspicious:
        return await _held_back(calendar, connection, plan, now, await _next_pull(calendar, connection, staff, now))
    await _apply_blocks(calendar, plan, stored, staff.id)
    await publish_availability_changed(staff.id, _changed_spans(plan, stored))
    listed = {remote.event_id for remote in changes.changed} | set(own)
    cancelled: dict[str, set[datetime]] = {}
    for occurrence in changes.cancelled_occurrences:
        cancelled.setdefault(occurrence.series_id, set()).add(occurrence.planned_start)
    await reconcile_own_events(calendar, connection, own, listed, set(changes.deleted), changes.complete, window,
                               now, cancelled)
    await reconcile_busy_overlaps(connection, staff.id, plan.upserts, now, incremental=not changes.complete)
    # The cursor moves on only once everything it covers is applied: a pull that stops earlier (a crash, a
    # timeout) fetches the same changes again, and applying them twice changes nothing.
    await ExternalCalendar.filter(id=calendar.id).update(
        sync_cursor=changes.cursor, window_start=window.start, window_end=window.end, last_pulled_at=now,
        next_pull_at=await _next_pull(calendar, connection, staff, now), empty_listings=0)
    detail = f"{len(plan.upserts)} busy blocks added or changed, {len(plan.deletes)} removed"
    if expired:
        detail += "; the sync cursor had expired, so the window was listed again in full"
    if unreadable:
        detail += f"; {unreadable} events could not be read and keep their last known blocks"
    await log_action(connection.id, "import", "pull", "ok", detail=detail)
    await record_success(connection.id, now)
    return PullOutcome("done", plan)
