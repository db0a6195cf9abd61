"""Conflict policies: what the sync engine does when a calendar and Lockstep disagree about a booking.

Terms:
- *conflict kind*: how they disagree. EVENT_MOVED: the staff member moved a booking's event in their calendar app;
  EVENT_DELETED: they deleted it; BUSY_OVERLAP: an imported busy event overlaps an existing confirmed booking.
- *policy*: a connection's setting (DESIGN.md): ask (a person decides), platform wins (Lockstep's booking stands),
  calendar wins (the calendar's version is taken, as long as that cannot double-book), keep both (both sides stay as
  they are, with a warning).
- *new time free*: for EVENT_MOVED, whether the booking could be at the event's new time: inside working hours and
  clear of other bookings and busy blocks. The caller checks it; the table below only uses the answer.
- *resolution*: what the engine does, see SyncResolution.

Whatever the resolution, the caller notifies the staff member (and the business): a calendar edit that Lockstep
undid, took over or left open must never pass silently.
"""

from __future__ import annotations

from enum import StrEnum


class ConflictPolicy(StrEnum):
    ASK = "ask"
    PLATFORM_WINS = "platform_wins"
    CALENDAR_WINS = "calendar_wins"
    KEEP_BOTH = "keep_both"


class ConflictKind(StrEnum):
    EVENT_MOVED = "event_moved"
    EVENT_DELETED = "event_deleted"
    BUSY_OVERLAP = "busy_overlap"


class SyncResolution(StrEnum):
    """RESCHEDULE_BOOKING: move the booking to the calendar's time. RESTORE_EVENT: write the booking's event back as
    Lockstep has it. CANCEL_BOOKING: cancel the booking. OPEN_CONFLICT: leave both sides as they are and record an
    open conflict for a person to settle. KEEP_BOTH: leave both as they are and record the conflict as settled with a
    warning; for EVENT_DELETED, stop pushing this booking to that calendar."""

    RESCHEDULE_BOOKING = "reschedule_booking"
    RESTORE_EVENT = "restore_event"
    CANCEL_BOOKING = "cancel_booking"
    OPEN_CONFLICT = "open_conflict"
    KEEP_BOTH = "keep_both"


class SettleChoice(StrEnum):
    """A person settling an open conflict. KEEP_BOOKING: Lockstep's version stands (a moved or deleted event is
    written back). ACCEPT_CALENDAR: the calendar's version is taken (a moved booking is rescheduled to the calendar's
    time if that is free; a deleted or overlapped one is cancelled)."""

    KEEP_BOOKING = "keep_booking"
    ACCEPT_CALENDAR = "accept_calendar"


_K, _P, _R = ConflictKind, ConflictPolicy, SyncResolution

# The product spec, for every case that is not "moved to a free time" (that one always reschedules).
_TABLE: dict[tuple[ConflictKind, ConflictPolicy], SyncResolution] = {
    (_K.EVENT_MOVED, _P.ASK): _R.OPEN_CONFLICT,
    (_K.EVENT_MOVED, _P.PLATFORM_WINS): _R.RESTORE_EVENT,
    # The calendar cannot win here: taking its time would double-book, so a person must choose.
    (_K.EVENT_MOVED, _P.CALENDAR_WINS): _R.OPEN_CONFLICT,
    (_K.EVENT_MOVED, _P.KEEP_BOTH): _R.KEEP_BOTH,
    (_K.EVENT_DELETED, _P.ASK): _R.OPEN_CONFLICT,
    (_K.EVENT_DELETED, _P.PLATFORM_WINS): _R.RESTORE_EVENT,
    (_K.EVENT_DELETED, _P.CALENDAR_WINS): _R.CANCEL_BOOKING,
    (_K.EVENT_DELETED, _P.KEEP_BOTH): _R.KEEP_BOTH,
    (_K.BUSY_OVERLAP, _P.ASK): _R.OPEN_CONFLICT,
    # The booking stands and the block is imported too; the overlap is noted.
    (_K.BUSY_OVERLAP, _P.PLATFORM_WINS): _R.KEEP_BOTH,
    (_K.BUSY_OVERLAP, _P.CALENDAR_WINS): _R.CANCEL_BOOKING,
    (_K.BUSY_OVERLAP, _P.KEEP_BOTH): _R.KEEP_BOTH,
}


def decide(kind: ConflictKind, policy: ConflictPolicy, *, new_time_free: bool) -> SyncResolution:
    """What the engine does about a conflict of `kind` under `policy`. A booking's event moved to a time that is free
    for the booking is simply a reschedule, whatever the policy: nothing is in conflict. `new_time_free` is ignored for
    the other kinds. The caller notifies the staff member of every outcome."""
    if kind == ConflictKind.EVENT_MOVED and new_time_free:
        return SyncResolution.RESCHEDULE_BOOKING
    return _TABLE[(kind, policy)]


def settle(kind: ConflictKind, choice: SettleChoice) -> SyncResolution:
    """What the engine does when a person settles an open conflict of `kind` with `choice`. For ACCEPT_CALENDAR on
    EVENT_MOVED the caller still checks that the calendar's time is free before rescheduling."""
    if choice == SettleChoice.KEEP_BOOKING:
        return SyncResolution.KEEP_BOTH if kind == ConflictKind.BUSY_OVERLAP else SyncResolution.RESTORE_EVENT
    return SyncResolution.RESCHEDULE_BOOKING if kind == ConflictKind.EVENT_MOVED else SyncResolution.CANCEL_BOOKING
