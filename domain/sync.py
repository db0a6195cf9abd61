"""Sync decisions for imports: from what is stored and what a provider returned, what to write and what to delete.

Terms:
- *stored block*: a busy block imported earlier, keyed by (event id, occurrence key).
- *imported event*: one remote event as just fetched, with the busy spans it now yields (possibly none: it may have
  become transparent or been declined).
- *complete* fetch: a full listing of the window, so a stored event that is not listed is gone; an incremental fetch
  lists only changes.
- *suspicious* answer: a complete listing with no events at all from a calendar that had at least
  SUSPICIOUS_EMPTY_AFTER events. Providers do that when they fail quietly; the plan then deletes nothing and says so,
  so the last known busy time stays in force (stale but never empty). Once EMPTY_CONFIRMED_AFTER complete listings
  in a row said the same, the calendar really is empty and the plan deletes its blocks.
The plan is a pure function of its inputs; applying it and planning again from the result yields an empty plan.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from domain.busy import LOCKSTEP_UID_SUFFIX, BusySpan
from domain.intervals import Span

SUSPICIOUS_EMPTY_AFTER = 5
EMPTY_CONFIRMED_AFTER = 3  # complete listings in a row, polls apart, before an emptied calendar is believed

BlockKey = tuple[str, str]  # (event id, occurrence key)


@dataclass(frozen=True)
class StoredBlock:
    """`recurring`: whether its event repeats (None: not known, for a block stored before this was recorded)."""

    event_id: str
    occurrence_key: str
    span: Span
    title: str
    all_day: bool
    tentative: bool = False
    recurring: bool | None = False

    @property
    def key(self) -> BlockKey:
        return (self.event_id, self.occurrence_key)


@dataclass(frozen=True)
class ImportedEvent:
    event_id: str
    spans: tuple[BusySpan, ...]
    recurring: bool | None = False


@dataclass(frozen=True)
class ImportPlan:
    upserts: tuple[StoredBlock, ...]
    deletes: tuple[BlockKey, ...]
    suspicious: bool = False

    @property
    def empty(self) -> bool:
        return not self.upserts and not self.deletes


def _blocks_of(event: ImportedEvent) -> dict[BlockKey, StoredBlock]:
    return {(event.event_id, busy.occurrence_key): StoredBlock(event.event_id, busy.occurrence_key, busy.span,
                                                               busy.title, busy.all_day, busy.tentative,
                                                               recurring=event.recurring)
            for busy in event.spans}


def plan_import(stored: Iterable[StoredBlock], changed: Sequence[ImportedEvent], deleted: Iterable[str], *,
                complete: bool, empty_listings_before: int = 0) -> ImportPlan:
    """`empty_listings_before`: how many complete listings in a row just before this one were suspiciously empty."""
    current = {block.key: block for block in stored}
    stored_events = {event_id for event_id, _ in current}
    confirmed = empty_listings_before + 1 >= EMPTY_CONFIRMED_AFTER
    if complete and not changed and len(stored_events) >= SUSPICIOUS_EMPTY_AFTER and not confirmed:
        return ImportPlan((), (), suspicious=True)
    wanted: dict[BlockKey, StoredBlock] = {}
    for event in changed:
        wanted.update(_blocks_of(event))
    touched = {event.event_id for event in changed}
    gone = set(deleted) | ((stored_events - touched) if complete else set())
    upserts = tuple(block for key, block in sorted(wanted.items()) if current.get(key) != block)
    deletes = tuple(sorted(key for key in current
                           if (key[0] in touched and key not in wanted) or key[0] in gone))
    return ImportPlan(upserts, deletes)


def without_events(plan: ImportPlan, event_ids: Collection[str], stored: Iterable[BlockKey]) -> ImportPlan:
    """The plan with the events `event_ids` kept out of busy time: events that are a booking's (taken over as its
    event, or on their way out as its duplicates) never become blocks, and any `stored` block of theirs goes."""
    if not event_ids:
        return plan
    upserts = tuple(block for block in plan.upserts if block.event_id not in event_ids)
    deletes = tuple(sorted(set(plan.deletes) | {key for key in stored if key[0] in event_ids}))
    return ImportPlan(upserts, deletes, plan.suspicious)


def apply_plan(stored: Iterable[StoredBlock], plan: ImportPlan) -> list[StoredBlock]:
    """The stored blocks after the plan (what services do in the database, here in memory)."""
    result = {block.key: block for block in stored}
    for key in plan.deletes:
        result.pop(key, None)
    for block in plan.upserts:
        result[block.key] = block
    return [result[key] for key in sorted(result)]


# Push (Lockstep -> calendar) ------------------------------------------------------------------------------------


class PushAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    NOTHING = "nothing"


@dataclass(frozen=True)
class BookingSnapshot:
    """The booking as it is now (a push job always reloads it by ID, whatever version enqueued the job)."""

    booking_id: int
    version: int
    confirmed: bool


@dataclass(frozen=True)
class WrittenSnapshot:
    """What Lockstep last wrote for the booking in one calendar: the event id (empty if none yet) and the
    booking version that write carried."""

    event_id: str
    version_written: int


def event_marker(booking_id: int) -> str:
    """Lockstep's own UID / marker for a booking's event: stable, so a retried create finds the first one."""
    return f"booking-{booking_id}{LOCKSTEP_UID_SUFFIX}"


MarkerKind = Literal["booking", "series"]

# Only the exact form the two functions above and below write: a decimal id without sign, spaces or leading zeros
# (so "booking-07@lockstep" is not booking 7), short enough to be a database id.
_MARKER = re.compile(r"(booking|series)-(0|[1-9][0-9]{0,18})" + re.escape(LOCKSTEP_UID_SUFFIX))


def series_marker(series_id: int) -> str:
    """Lockstep's own UID for a recurring booking series: the whole series is ONE recurring event (RRULE, EXDATE for
    cancelled occurrences, RECURRENCE-ID overrides for moved ones), so it has one marker, not one per occurrence."""
    return f"series-{series_id}{LOCKSTEP_UID_SUFFIX}"


def parse_marker(uid: str) -> tuple[MarkerKind, int] | None:
    """("booking", N) or ("series", N) for a UID that event_marker or series_marker wrote; None for anything else
    (someone else's UID, a near miss such as "booking-7@lockstep.example", a non-canonical id)."""
    match = _MARKER.fullmatch(uid)
    if match is None:
        return None
    kind: MarkerKind = "booking" if match.group(1) == "booking" else "series"
    return kind, int(match.group(2))


def plan_push(booking: BookingSnapshot, written: WrittenSnapshot | None) -> PushAction:
    """What a push job does. Because it compares the booking's current version with the version last written, a
    job that runs twice, late or out of order does the right thing once and then nothing."""
    has_event = written is not None and written.event_id != ""
    if not booking.confirmed:
        return PushAction.DELETE if has_event else PushAction.NOTHING
    if not has_event:
        return PushAction.CREATE
    assert written is not None
    return PushAction.UPDATE if written.version_written < booking.version else PushAction.NOTHING
