"""Pull: bring one external calendar's changes into Lockstep (DESIGN.md path 3).

The first pull lists the whole import window (30 days back, 365 ahead); later pulls ask for changes since the stored
cursor. When the window rolls on to a new day, or the provider no longer accepts the cursor, the window is listed in
full again, and the stored blocks are replaced only once that complete listing is in hand (a failed listing changes
nothing), so the last known busy time stays in force meanwhile (invariant 6). Lockstep's own events are never
blocks; they go to sync_edits to see whether the staff member changed them by hand.

Fetching and reading happen first, outside any transaction (a provider may take seconds). Then everything the pull
changes is applied in one transaction (DESIGN.md invariant 11): busy blocks, hand edits (bookings moved or cancelled,
mappings, conflicts, notifications), the cursor, the sync log and the health. It commits whole or not at all, and
its live events are published only after the commit. docs/sync.md has the rule and the lock order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import cast

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q

from domain.busy import BusyPolicy
from domain.intervals import Span
from domain.retry import retry_delay
from domain.sync import ImportPlan, plan_import, without_events
from jobs.event_reading import reader_for, reading_zone
from jobs.pull_blocks import apply_blocks, changed_spans, pull_detail, stored_blocks
from jobs.pull_reading import account_addresses, read_changes, unreadable_after
from models import (
    CalendarConnection,
    ConnectionHealth,
    ExternalCalendar,
    Staff,
    SyncDirection,
    WatchChannel,
)
from providers.base import (
    AuthFailed,
    CalendarProvider,
    Changes,
    CursorExpired,
    ProviderError,
    Unavailable,
)
from providers.registry import entry_of
from services.event_claims import events_of_bookings
from services.live import publish_availability_changed
from services.locks import hold_staff, lock_connection, lock_staff
from services.sync_edits import reconcile_busy_overlaps, reconcile_own_events
from services.sync_health import log_action, record_failure, record_success
from services.sync_schedule import next_pull_at, poll_interval
from services.transactions import committed

DAYS_BACK = 30
_PERIODS_FROM = date(2024, 1, 1)  # a Monday
DAYS_AHEAD = 365


def import_window(now: datetime, roll_days: int = 1) -> Span:
    """The span imported: from 30 days before the current roll period began to 365 days ahead of that plus the
    period, so every day up to 365 ahead stays inside until the window moves on. It moves once a day (the period
    begins at UTC midnight), or for a provider whose registry entry rolls weekly (Graph, whose delta fixes its window
    at the first request: each move is a new full listing), on Mondays at UTC midnight."""
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    # Periods counted from a Monday, so a weekly one begins on Mondays and a daily one every day.
    began = midnight - timedelta(days=(midnight.date() - _PERIODS_FROM).days % roll_days)
    start = began - timedelta(days=DAYS_BACK)
    return Span(start, start + timedelta(days=DAYS_BACK + DAYS_AHEAD + roll_days - 1))


@dataclass(frozen=True)
class PullOutcome:
    """`status`: done, skipped, retry (at `retry_at`) or reauthorize; `plan` what changed in the busy blocks."""

    status: str
    plan: ImportPlan | None = None
    retry_at: datetime | None = None


# Applying a pull is one transaction (DESIGN.md invariant 11): these are its steps, in order, on each path (a change
# applied, a poll that found nothing new, a suddenly empty listing held back, a provider failure). Live events
# raised on the way are published once it has committed (services.transactions).
PULL_STEPS = ("busy_blocks", "hand_edits", "busy_overlaps", "cursor", "sync_log", "health")
NO_CHANGE_STEPS = ("health", "cursor")
HELD_BACK_STEPS = ("health", "cursor", "sync_log")
FAILED_STEPS = ("health", "retry", "sync_log")
_SYNCING = (ConnectionHealth.ACTIVE, ConnectionHealth.DEGRADED)
AfterStep = Callable[[str], Awaitable[None] | None]  # told each step done; may be a coroutine function


@dataclass(frozen=True)
class _Steps:
    """One path's steps, told one by one to `after_step` (a test seam: what it raises stops the pull there)."""

    names: tuple[str, ...]
    after_step: AfterStep | None

    async def done(self, name: str) -> None:
        if name not in self.names:
            raise ValueError(f"{name} is not a step of {self.names}")
        if self.after_step is not None:
            heard = self.after_step(name)
            if heard is not None:
                await heard


async def calendar_with_owner(calendar_id: int) -> ExternalCalendar | None:
    """The calendar with its connection and the connection's staff member, in one read."""
    return await ExternalCalendar.get_or_none(id=calendar_id).select_related("connection__staff")


async def calendars_with_owner(calendar_ids: Sequence[int]) -> list[ExternalCalendar]:
    """calendar_with_owner for several calendars, in one read (those that no longer exist are left out)."""
    return await ExternalCalendar.filter(id__in=list(calendar_ids)).select_related("connection__staff")


async def _fetch(provider: CalendarProvider, calendar: ExternalCalendar, window: Span) -> tuple[Changes, bool]:
    """The changes, and whether the cursor had expired (then the listing is complete)."""
    rolled = calendar.window_start is None or calendar.window_start != window.start
    cursor = None if rolled or not calendar.sync_cursor else calendar.sync_cursor
    try:
        return await provider.fetch_changes(calendar.provider_calendar_id, cursor, window), False
    except CursorExpired:
        return await provider.fetch_changes(calendar.provider_calendar_id, None, window), True


async def _next_pull(calendar: ExternalCalendar, planned: datetime, db: BaseDBAsyncClient) -> datetime:
    # Only the one column: the row's cursor can be long.
    times = await ExternalCalendar.filter(id=calendar.id).using_db(db).values_list("next_pull_at", flat=True)
    return _sooner(calendar, planned, cast(datetime | None, times[0]) if times else None)


async def _pushed(calendar: ExternalCalendar, connection: CalendarConnection, now: datetime) -> bool:
    """Whether the calendar's changes are pushed (its poll is then only a backstop): its provider pushes and one of
    its channels is live. A channel not opened yet, or one the provider refused (Graph's https-only notification
    URLs, say), leaves the calendar to be polled as a provider without push is."""
    if not entry_of(connection.provider).capabilities.push:
        return False
    return await WatchChannel.filter(external_calendar_id=calendar.id, stopped_at=None, expires_at__gt=now).exists()


def _sooner(calendar: ExternalCalendar, planned: datetime, requested: datetime | None) -> datetime:
    """When to pull again: as `planned` by the schedule, or sooner when a pull was asked for while this one ran
    ("sync now", or a push that found the calendar's copy changed): the calendar's `requested` next pull then
    differs from the one this pull started with."""
    if requested is not None and requested != calendar.next_pull_at and requested < planned:
        return requested
    return planned


async def _store_quiet_pull(calendar: ExternalCalendar, cursor: str, planned: datetime, now: datetime,
                            db: BaseDBAsyncClient) -> None:
    """_next_pull and the write of a pull that found nothing, in one conditional statement when (as nearly always)
    no pull was asked for meanwhile; else a second one that keeps the time asked for."""
    unrequested = Q(next_pull_at=None) | Q(next_pull_at__gte=planned)
    if calendar.next_pull_at is not None:
        unrequested |= Q(next_pull_at=calendar.next_pull_at)
    if not await ExternalCalendar.filter(unrequested, id=calendar.id).using_db(db).update(
            sync_cursor=cursor, last_pulled_at=now, next_pull_at=planned):
        await ExternalCalendar.filter(id=calendar.id).using_db(db).update(sync_cursor=cursor, last_pulled_at=now)


async def _failed(calendar: ExternalCalendar, connection: CalendarConnection, error: ProviderError,
                  now: datetime, after_step: AfterStep | None = None) -> PullOutcome:
    retry_after = getattr(error, "retry_after", None)
    delay = retry_delay(connection.consecutive_failures + 1, retry_after)
    # A failing calendar is polled no less often than a working one (unless the provider asks for a pause): its
    # pull is what notices that the outage is over and sends what waited.
    poll = await poll_interval(connection, await Staff.get(id=connection.staff_id), now,
                               pushes=await _pushed(calendar, connection, now))
    retry_at = now + max(min(delay, poll), timedelta(seconds=retry_after or 0))
    steps = _Steps(FAILED_STEPS, after_step)
    async with committed() as db:
        health = await record_failure(connection.id, str(error), now,
                                      credentials_refused=isinstance(error, AuthFailed), db=db)
        await steps.done("health")
        await ExternalCalendar.filter(id=calendar.id).using_db(db).update(next_pull_at=retry_at)
        await steps.done("retry")
        await log_action(connection.id, "import", "pull", "failed", error=str(error), using_db=db)
        await steps.done("sync_log")
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


async def pull_refused(calendar_id: int, error: ProviderError, now: datetime) -> PullOutcome:
    """A pull that could not start (no client for the connection's provider here): back off and show why."""
    calendar = await ExternalCalendar.get_or_none(id=calendar_id)
    if calendar is None:
        return PullOutcome("skipped")
    return await _failed(calendar, await CalendarConnection.get(id=calendar.connection_id), error, now)


async def _held_back(calendar: ExternalCalendar, connection: CalendarConnection, plan: ImportPlan, now: datetime,
                     planned: datetime, after_step: AfterStep | None) -> PullOutcome:
    """A suddenly empty listing: keep every block and the old cursor, and list the window in full again next time
    (each such listing in a row is counted; domain.sync believes the calendar empty after enough of them)."""
    message = "The calendar suddenly listed no events; the last known busy time stays in force"
    steps = _Steps(HELD_BACK_STEPS, after_step)
    async with committed() as db:
        await record_failure(connection.id, message, now, db=db)  # takes the connection's lock first
        await steps.done("health")
        await ExternalCalendar.filter(id=calendar.id).using_db(db).update(
            empty_listings=calendar.empty_listings + 1, window_start=None, last_pulled_at=now,
            next_pull_at=await _next_pull(calendar, planned, db))
        await steps.done("cursor")
        await log_action(connection.id, "import", "pull", "retrying", error=message, using_db=db)
        await steps.done("sync_log")
    return PullOutcome("done", plan)


async def _unchanged(calendar: ExternalCalendar, connection: CalendarConnection, changes: Changes, now: datetime,
                     planned: datetime, after_step: AfterStep | None) -> PullOutcome:
    """The cheap check found nothing new (most polls): no blocks to load, nothing worth a log entry."""
    steps = _Steps(NO_CHANGE_STEPS, after_step)
    async with committed() as db:
        await record_success(connection.id, now, db=db)  # takes the connection's lock first
        await steps.done("health")
        await _store_quiet_pull(calendar, changes.cursor, planned, now, db)
        await steps.done("cursor")
    return PullOutcome("done", ImportPlan((), ()))


def _changed_while_listing(calendar: ExternalCalendar, connection: CalendarConnection, fresh: ExternalCalendar,
                           current: CalendarConnection) -> bool:
    """Whether what a pull read no longer applies, as the calendar (`fresh`) and its connection (`current`) are now
    against how the pull found them: disconnected, its import switched (applying would bring back blocks just
    removed), or a full re-read asked for (a changed blocking rule resets the cursor and window; writing this pull's
    cursor, read under the old rule, would lose that re-read). The next pull reads the calendar as it is now."""
    return (current.health not in _SYNCING or fresh.import_busy != calendar.import_busy
            or fresh.sync_cursor != calendar.sync_cursor or fresh.window_start != calendar.window_start
            or current.tentative_blocks != connection.tentative_blocks
            or current.all_day_blocks != connection.all_day_blocks)


async def pull_calendar(calendar_id: int, provider: CalendarProvider, now: datetime, *,
                        own_addresses: tuple[str, ...] = (), after_step: AfterStep | None = None,
                        loaded: ExternalCalendar | None = None) -> PullOutcome:
    """Fetch and apply one calendar's changes; idempotent (a second run finds nothing new to apply). Callers make
    sure no push or pull of the same calendar runs meanwhile (services.sync_leases).
    `own_addresses` are the account's calendar addresses found at connect time, besides the staff member's email.
    `after_step` is called with the name of each step of applying the pull once it is done (PULL_STEPS, or the
    steps of the shorter paths), inside the one transaction: whatever it raises rolls the whole pull back.
    `loaded`: the calendar as the caller just read it with its connection and staff member (calendar_with_owner),
    so a poll does not read them twice; what changed since is caught by the re-check under the pull's locks."""
    calendar = loaded if loaded is not None else await calendar_with_owner(calendar_id)
    if calendar is None:
        return PullOutcome("skipped")
    connection = calendar.connection
    live = connection.health in _SYNCING
    wanted = calendar.import_busy or calendar.is_destination
    if not live or not wanted or connection.direction == SyncDirection.EXPORT_ONLY:
        return PullOutcome("skipped")
    staff = connection.staff
    window = import_window(now, entry_of(connection.provider).window_roll_days)
    try:
        changes, expired = await _fetch(provider, calendar, window)
    except ProviderError as exc:
        return await _failed(calendar, connection, exc, now, after_step)
    planned = await next_pull_at(connection, staff, now, pushes=await _pushed(calendar, connection, now))
    if not (changes.changed or changes.deleted or changes.complete):
        return await _unchanged(calendar, connection, changes, now, planned, after_step)
    zone = reading_zone(connection.provider, calendar.time_zone, staff.time_zone)
    policy = BusyPolicy(zone=zone, own_addresses=account_addresses(connection, staff, own_addresses),
                        tentative_blocks=connection.tentative_blocks, all_day_blocks=connection.all_day_blocks)
    stored = await stored_blocks(calendar.id)
    blocks = [block for _, block in stored.values()]
    imported, own, unreadable = read_changes(changes, window, policy, calendar.import_busy, blocks,
                                             reader_for(connection.provider))
    plan = plan_import(blocks, imported, changes.deleted, complete=changes.complete,
                       empty_listings_before=calendar.empty_listings)
    if plan.suspicious:
        return await _held_back(calendar, connection, plan, now, planned, after_step)
    steps = _Steps(PULL_STEPS, after_step)
    async with committed() as db:
        # Locks in the one order (services.locks): the staff member, then the connection. The staff member's lock
        # is held without a new schedule version until the re-check below has passed: a skipped pull changes
        # nothing, so it must not retire cached slot answers either.
        await hold_staff(staff.id, db)
        current = await lock_connection(connection.id, db)
        fresh = await ExternalCalendar.get(id=calendar.id, using_db=db)
        if _changed_while_listing(calendar, connection, fresh, current):
            return PullOutcome("skipped")
        # Read under the staff member's lock, which taking an event over as a booking's also holds.
        plan = without_events(plan, await events_of_bookings(calendar.id, {b.event_id for b in plan.upserts}, db),
                              stored)
        if plan.deletes or plan.upserts:
            # Imported busy time changes the schedule like any other change, so the schedule gets a new version
            # (cached slot answers of the old one are no longer used); the lock is already this transaction's.
            await lock_staff(staff.id, db)
        await apply_blocks(calendar, plan, stored, staff.id, db)
        await publish_availability_changed(staff.id, changed_spans(plan, stored))  # held until the commit
        await steps.done("busy_blocks")
        listed = {remote.event_id for remote in changes.changed} | set(own) | set(changes.unreadable)
        cancelled: dict[str, set[datetime]] = {}
        for occurrence in changes.cancelled_occurrences:
            cancelled.setdefault(occurrence.series_id, set()).add(occurrence.planned_start)
        await reconcile_own_events(calendar, connection, own, listed, set(changes.deleted), changes.complete, window,
                                   now, cancelled, db=db)
        await steps.done("hand_edits")
        await reconcile_busy_overlaps(connection, staff.id, plan.upserts, now, incremental=not changes.complete,
                                      db=db)
        await steps.done("busy_overlaps")
        # The cursor moves on together with everything it covers: a pull that stops earlier (a crash, a timeout)
        # leaves no trace, fetches the same changes again, and applying them twice changes nothing.
        await ExternalCalendar.filter(id=calendar.id).using_db(db).update(
            sync_cursor=changes.cursor, window_start=window.start, window_end=window.end, last_pulled_at=now,
            next_pull_at=_sooner(calendar, planned, fresh.next_pull_at), empty_listings=0,
            unreadable_event_ids=unreadable_after(list(fresh.unreadable_event_ids or []), changes, unreadable))
        await steps.done("cursor")
        await log_action(connection.id, "import", "pull", "ok", detail=pull_detail(plan, expired, unreadable),
                         using_db=db)
        await steps.done("sync_log")
        await record_success(connection.id, now, db=db, unreadable_may_change=True)
        await steps.done("health")
    return PullOutcome("done", plan)
