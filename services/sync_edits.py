"""What a pull found out about bookings: their events edited by hand in the calendar, and busy events that overlap
them. Each case goes through the connection's conflict policy (domain.conflicts) and the staff member and the
business are notified of every outcome.

Terms: *remote etag* is the calendar's version of Lockstep's event now. Recording it on the mapping after a case is
handled means the next push writes over exactly that version (If-Match), and the next pull does not see the same
hand edit again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.conflicts import ConflictKind, ConflictPolicy, SyncResolution, decide
from domain.intervals import Span
from domain.own_events import CalendarEdit, EditKind, OwnEvent, calendar_edits
from domain.recurrence import occurrence_starts
from domain.sync import StoredBlock
from models import (
    Booking,
    BookingSeries,
    BookingStatus,
    CalendarConnection,
    ConflictStatus,
    EventMapping,
    EventMappingState,
    ExternalCalendar,
    SyncConflict,
)
from services import live
from services.bookings import cancel_bookings_for_calendar, move_booking_for_calendar
from services.errors import SlotUnavailableError
from services.locks import hold_staff
from services.sync_dispatch import push_version
from services.sync_health import log_action, notify_staff
from services.transactions import committed

WrittenOccurrences = dict[str, list[object]]  # planned start ISO -> [booking id, start ISO, end ISO]

_MESSAGES = {
    SyncResolution.RESCHEDULE_BOOKING: "A booking was moved in the calendar, and Lockstep moved the booking too",
    SyncResolution.RESTORE_EVENT: "A booking's event was changed in the calendar; Lockstep put it back",
    SyncResolution.CANCEL_BOOKING: "A booking was cancelled because the calendar says so",
    SyncResolution.OPEN_CONFLICT: "A booking and the calendar disagree: choose which one stands",
    SyncResolution.KEEP_BOTH: "A booking and the calendar disagree; both were kept as they are",
}


@dataclass
class _MappingUpdate:
    """What handling the edits of one event changes on its mapping."""

    etag: str
    event_id: str
    written: dict[str, list[object]]
    state: EventMappingState
    version_written: int
    rewrite: bool = False  # push the booking's state again (version_written reset)
    notes: list[str] = field(default_factory=list)


def written_spans(written: WrittenOccurrences) -> dict[datetime, tuple[int, Span]]:
    """The stored form read back: planned start -> (booking id, span)."""
    result: dict[datetime, tuple[int, Span]] = {}
    for planned, (booking_id, start, end) in written.items():
        result[datetime.fromisoformat(planned)] = (int(str(booking_id)),
                                                   Span(datetime.fromisoformat(str(start)),
                                                        datetime.fromisoformat(str(end))))
    return result


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()


@dataclass
class OwnSeen:
    """Lockstep's own event as one pull saw it: the calendar's etag of it (empty when unknown: a provider that lists
    a series' instances apart gives the instances' etags, not the event's), what it holds, and whether that is only
    part of it (instances from an incremental listing: the occurrences missing were not listed, not deleted)."""

    etag: str
    event: OwnEvent
    partial: bool = False


async def reconcile_own_events(calendar: ExternalCalendar, connection: CalendarConnection,
                               own: dict[str, OwnSeen], listed: set[str], deleted: set[str],
                               complete: bool, window: Span, now: datetime,
                               cancelled: Mapping[str, set[datetime]] | None = None, *,
                               db: BaseDBAsyncClient | None = None) -> None:
    """Compare each of Lockstep's events the pull saw (`own`, by the event id its mapping knows), or saw deleted,
    with what was last written for it. With a `complete` listing, an event not `listed` is deleted; one listed but
    not readable as ours is left alone (never taken for a deletion). `cancelled`: by series event id, the planned
    starts of occurrences the calendar listed as deleted (providers that list occurrences apart).
    Everything it changes (bookings, mappings, conflicts, notifications, the sync log) is one transaction: the
    caller's `db` when given (services.transactions.committed), else its own."""
    async with committed(db) as tx:
        if db is None:
            await hold_staff(connection.staff_id, tx)  # the lock order (services.locks): staff before any row
        await _reconcile_own(calendar, connection, own, listed, deleted, complete, window, now, cancelled or {}, tx)


async def _reconcile_own(calendar: ExternalCalendar, connection: CalendarConnection, own: dict[str, OwnSeen],
                         listed: set[str], deleted: set[str], complete: bool, window: Span, now: datetime,
                         cancelled: Mapping[str, set[datetime]], db: BaseDBAsyncClient) -> None:
    await _adopt_lost_creates(calendar.id, own, now, db)
    mappings = await EventMapping.filter(external_calendar_id=calendar.id, state__in=[
        EventMappingState.SYNCED, EventMappingState.PENDING, EventMappingState.FAILED]).exclude(
        external_event_id="").using_db(db)
    policy = ConflictPolicy(connection.conflict_policy)
    for mapping in mappings:
        remote_etag: str | None = None
        found: OwnEvent | None = None
        partial = False
        gone = cancelled.get(mapping.external_event_id, set())
        if mapping.external_event_id in own:
            seen = own[mapping.external_event_id]
            remote_etag, found, partial = seen.etag, seen.event, seen.partial
            if remote_etag and remote_etag == mapping.etag:
                continue  # exactly what Lockstep wrote: its own echo
        elif gone:
            # Only deleted occurrences of the series were listed: the event itself is still there.
            # (its marker was not listed; only the kind of event matters to the comparison)
            remote_etag, found, partial = "", OwnEvent("series", mapping.booking_id, {}), True
        elif mapping.external_event_id in listed or not (mapping.external_event_id in deleted or complete):
            continue
        expected = {planned: span for planned, (_, span) in written_spans(mapping.written).items()}
        if partial and found is not None:
            expected = {planned: span for planned, span in expected.items()
                        if planned in found.occurrences or planned in gone}
        edits = calendar_edits(expected, found, window)
        still_there = remote_etag is not None
        # An unknown etag (a series seen through its instances) is stored as none: the event's own etag may have
        # moved (a rename in the calendar changes it, not its instances'), and a push over a stale one would be
        # refused forever. The instances were just compared, so the next push writes without a condition.
        update = _MappingUpdate(remote_etag or "",
                                mapping.external_event_id if still_there else "",
                                dict(mapping.written), mapping.state, mapping.version_written)
        # Changed in Lockstep too since the last write (a reschedule still on its way): under "ask" and "platform
        # wins" the calendar's edit must not silently undo it.
        both_edited = await push_version(mapping.booking_id, db) != mapping.version_written
        may_follow = not both_edited or policy in (ConflictPolicy.CALENDAR_WINS, ConflictPolicy.KEEP_BOTH)
        for edit in edits:
            await _handle_edit(mapping, connection, edit, update, now, may_follow, db)
        if not edits and not still_there:
            continue  # the event is gone but held nothing in the window we care about
        values: dict[str, object] = {"etag": update.etag, "external_event_id": update.event_id,
                                     "written": update.written, "state": update.state,
                                     "version_written": update.version_written}
        if update.rewrite:
            values.update(version_written=0, state=EventMappingState.PENDING, next_attempt_at=now, attempts=0)
        await EventMapping.filter(id=mapping.id).using_db(db).update(**values)


async def _adopt_lost_creates(calendar_id: int, own: dict[str, OwnSeen], now: datetime, db: BaseDBAsyncClient
                              ) -> None:
    """Lockstep's own events that no mapping knows, though the booking's mapping in this calendar has no event: a
    create whose answer was lost (a timeout after the calendar stored it). The mapping takes the event over as the
    calendar holds it, and is pushed again in full, so the event is updated or deleted instead of staying behind
    (or being created twice)."""
    known = set(await EventMapping.filter(external_calendar_id=calendar_id).exclude(external_event_id="").using_db(
        db).values_list("external_event_id", flat=True))
    for event_id, seen in sorted(own.items()):
        if event_id in known:
            continue
        if seen.event.kind == "series":
            anchor = await Booking.filter(series_id=seen.event.target_id).order_by("occurrence_index").using_db(
                db).first()
        else:
            anchor = await Booking.get_or_none(id=seen.event.target_id, using_db=db)
        if anchor is None:
            continue
        await EventMapping.filter(external_calendar_id=calendar_id, booking_id=anchor.id, external_event_id="",
                                  state__in=[EventMappingState.SYNCED, EventMappingState.PENDING,
                                             EventMappingState.FAILED]).using_db(db).update(
            external_event_id=event_id, etag=seen.etag, written=await _as_found(anchor, seen.event, db),
            version_written=0, state=EventMappingState.PENDING, next_attempt_at=now, attempts=0)


async def _as_found(anchor: Booking, found: OwnEvent, db: BaseDBAsyncClient) -> WrittenOccurrences:
    """What the calendar holds of a booking's (or series') event, in the form of what was written."""
    booking_of = {planned: anchor.id for planned in found.occurrences}
    if anchor.series_id is not None:
        series = await BookingSeries.get(id=anchor.series_id, using_db=db)
        planned = occurrence_starts(series.rrule, (series.starts_at or anchor.starts_at).astimezone(UTC),
                                    series.time_zone)
        booking_of = {planned[booking.occurrence_index or 0]: booking.id
                      for booking in await Booking.filter(series_id=series.id).using_db(db)
                      if (booking.occurrence_index or 0) < len(planned)}
    return {_iso(start): [booking_of[start], _iso(span.start), _iso(span.end)]
            for start, span in found.occurrences.items() if start in booking_of}


async def _handle_edit(mapping: EventMapping, connection: CalendarConnection, edit: CalendarEdit,
                       update: _MappingUpdate, now: datetime, may_follow: bool, db: BaseDBAsyncClient) -> None:
    """`may_follow`: a move in the calendar may move the booking (when its time is free)."""
    planned = _iso(edit.planned_start)
    booking_id = int(str(update.written.get(planned, mapping.written.get(planned, [mapping.booking_id]))[0]))
    booking = await Booking.get_or_none(id=booking_id, using_db=db)
    if booking is None or booking.status != BookingStatus.CONFIRMED:
        return  # a cancelled booking's event is on its way out anyway
    if booking.staff_id != connection.staff_id:
        # Reassigned to another staff member: its event here is on its way out too. Following the edit would
        # also take that staff member's lock after this connection's row, against the lock order (services.locks).
        return
    if edit.new_span == Span(booking.starts_at, booking.ends_at):
        # The calendar already holds the booking as it is now: Lockstep's own write whose answer was lost (a
        # timeout after the calendar stored it), or a hand move to exactly the booking's time. Nothing disagrees;
        # the version written stays behind, so the next push writes the rest of the booking over the new etag.
        update.written[planned] = [booking_id, _iso(booking.starts_at), _iso(booking.ends_at)]
        return
    kind = ConflictKind.EVENT_MOVED if edit.kind == EditKind.MOVED else ConflictKind.EVENT_DELETED
    resolution = None
    if edit.kind == EditKind.MOVED and edit.new_span is not None and may_follow:
        try:
            moved = await move_booking_for_calendar(booking_id, edit.new_span.start, now, db=db)
            resolution = SyncResolution.RESCHEDULE_BOOKING
            update.written[planned] = [booking_id, _iso(edit.new_span.start), _iso(edit.new_span.end)]
            if update.version_written > 0 and moved.ends_at == edit.new_span.end:
                # The calendar already shows the new time: count the move (one version step) as written, so no push
                # echoes it back; a Lockstep change still unwritten keeps the mapping behind and is pushed. A move
                # that also changed the event's length is not what the booking is (it keeps its service's length):
                # left behind, so the push writes the booking's real end.
                update.version_written += 1
        except SlotUnavailableError:
            resolution = None
    if resolution is None:
        resolution = decide(kind, ConflictPolicy(connection.conflict_policy), new_time_free=False)
        await _apply_resolution(resolution, kind, booking, connection, edit, update, now, db)
    await log_action(connection.id, "import", kind.value, "ok", booking_id=booking_id, mapping_id=mapping.id,
                     detail=resolution.value, using_db=db)
    await _notify(booking.staff_id, kind.value, _MESSAGES[resolution],
                  {"bookingId": booking_id, "resolution": resolution.value}, now, db)


async def _notify(staff_id: int, kind: str, message: str, data: dict[str, object], now: datetime,
                  db: BaseDBAsyncClient) -> None:
    # Stored in the transaction, announced with its other live events once it has committed.
    await live.publish_notifications_added(await notify_staff(staff_id, kind, message, data, using_db=db, now=now))


async def _apply_resolution(resolution: SyncResolution, kind: ConflictKind, booking: Booking,
                            connection: CalendarConnection, edit: CalendarEdit, update: _MappingUpdate,
                            now: datetime, db: BaseDBAsyncClient) -> None:
    proposed = edit.new_span
    if resolution == SyncResolution.RESTORE_EVENT:
        update.rewrite = True
    elif resolution == SyncResolution.CANCEL_BOOKING:
        await cancel_bookings_for_calendar([booking.id], now, db=db)
        update.written.pop(_iso(edit.planned_start), None)
    elif resolution == SyncResolution.OPEN_CONFLICT:
        update.state = EventMappingState.CONFLICT
        await _record_conflict(booking, connection, kind, update.event_id, proposed, ConflictStatus.OPEN, "", now,
                               db)
    elif resolution == SyncResolution.KEEP_BOTH:
        if kind == ConflictKind.EVENT_DELETED:
            update.state = EventMappingState.UNLINKED
        elif proposed is not None:
            update.written[_iso(edit.planned_start)] = [booking.id, _iso(proposed.start), _iso(proposed.end)]
        await _record_conflict(booking, connection, kind, update.event_id, proposed, ConflictStatus.SETTLED,
                               resolution.value, now, db)


async def _record_conflict(booking: Booking, connection: CalendarConnection, kind: ConflictKind, event_id: str,
                           proposed: Span | None, status: ConflictStatus, resolution: str, now: datetime,
                           db: BaseDBAsyncClient) -> SyncConflict:
    return await SyncConflict.create(
        staff_id=booking.staff_id, booking_id=booking.id, connection_id=connection.id, kind=kind.value,
        external_event_id=event_id, status=status, resolution=resolution,
        proposed_start=proposed.start if proposed else None, proposed_end=proposed.end if proposed else None,
        settled_at=now if status == ConflictStatus.SETTLED else None, using_db=db)


async def reconcile_busy_overlaps(connection: CalendarConnection, staff_id: int, blocks: tuple[StoredBlock, ...],
                                  now: datetime, *, incremental: bool, db: BaseDBAsyncClient | None = None) -> None:
    """Busy events just imported that overlap a confirmed booking: once per (booking, event), by the policy.
    Only an `incremental` change is news the staff member just made; a complete listing (the first import, a
    changed setting, a resync) also brings events that were there long before the booking, so it never cancels a
    booking by itself: where the policy would, a conflict opens for a person to decide. One transaction, the
    caller's `db` when given, as reconcile_own_events."""
    if not blocks:
        return
    async with committed(db) as tx:
        if db is None:
            await hold_staff(connection.staff_id, tx)  # the lock order (services.locks): staff before any row
        policy = ConflictPolicy(connection.conflict_policy)
        # One query for the bookings and one for the conflicts already known, however many blocks an import brings.
        bookings = await Booking.filter(staff_id=staff_id, status=BookingStatus.CONFIRMED,
                                        buffered_start__lt=max(block.span.end for block in blocks),
                                        buffered_end__gt=min(block.span.start for block in blocks)).using_db(tx)
        if not bookings:
            return
        known = set(await SyncConflict.filter(booking_id__in=[b.id for b in bookings],
                                              kind=ConflictKind.BUSY_OVERLAP.value).using_db(tx).values_list(
            "booking_id", "external_event_id"))
        for block in blocks:
            for booking in bookings:
                overlaps = booking.buffered_start < block.span.end and block.span.start < booking.buffered_end
                if not overlaps or (booking.id, block.event_id) in known:
                    continue
                known.add((booking.id, block.event_id))
                await _settle_overlap(connection, policy, booking, block, now, incremental, tx)


async def _settle_overlap(connection: CalendarConnection, policy: ConflictPolicy, booking: Booking,
                          block: StoredBlock, now: datetime, incremental: bool, db: BaseDBAsyncClient) -> None:
    resolution = decide(ConflictKind.BUSY_OVERLAP, policy, new_time_free=False)
    if resolution == SyncResolution.CANCEL_BOOKING and not incremental:
        resolution = SyncResolution.OPEN_CONFLICT
    if resolution == SyncResolution.CANCEL_BOOKING:
        await cancel_bookings_for_calendar([booking.id], now, db=db)
    status = ConflictStatus.OPEN if resolution == SyncResolution.OPEN_CONFLICT else ConflictStatus.SETTLED
    settled_as = "" if status == ConflictStatus.OPEN else resolution.value
    await _record_conflict(booking, connection, ConflictKind.BUSY_OVERLAP, block.event_id, None, status,
                           settled_as, now, db)
    await log_action(connection.id, "import", ConflictKind.BUSY_OVERLAP.value, "ok", booking_id=booking.id,
                     detail=resolution.value, using_db=db)
    message = ("An event in the calendar overlaps a booking" if status == ConflictStatus.OPEN
               else _MESSAGES[resolution])
    await _notify(booking.staff_id, ConflictKind.BUSY_OVERLAP.value, message,
                  {"bookingId": booking.id, "resolution": resolution.value}, now, db)
