"""Reading what a pull fetched: busy spans of other people's events, Lockstep's own events, and which events could
not be read (jobs.pull applies what this returns).

Terms: an *unreadable* event is one the server could not give or the reader failed on; it keeps whatever busy time
it blocked before (never drop busy time on a parse error), and the calendar remembers it until a pull reads it.
"""

from __future__ import annotations

from domain.busy import BusyPolicy, BusySpan
from domain.intervals import Span
from domain.sync import ImportedEvent, StoredBlock
from jobs.event_reading import EventReader, gather_own
from models import CalendarConnection, Staff
from providers.base import Changes
from services.sync_edits import OwnSeen


def _kept(stored: list[StoredBlock], event_id: str) -> list[BusySpan]:
    """The busy spans an event blocked before this pull."""
    return [BusySpan(block.span, block.occurrence_key, block.title, block.all_day, block.tentative)
            for block in stored if block.event_id == event_id]


def _recurring(stored: list[StoredBlock], event_id: str) -> bool | None:
    """Whether an event repeats, as its stored blocks say (an event kept as it was keeps that too)."""
    return next((block.recurring for block in stored if block.event_id == event_id), False)


def unreadable_after(before: list[str], changes: Changes, unreadable: list[str]) -> list[str]:
    """The calendar's events that cannot be read after this pull: a complete listing says it all; an incremental
    one only about the events it lists (one that changed or went may have become readable)."""
    if changes.complete:
        return sorted(set(unreadable))
    listed = {remote.event_id for remote in changes.changed} | set(changes.deleted) | set(changes.unreadable)
    return sorted({event_id for event_id in before if event_id not in listed} | set(unreadable))


def account_addresses(connection: CalendarConnection, staff: Staff, discovered: tuple[str, ...]) -> frozenset[str]:
    """The addresses that are the staff member's own in ATTENDEE lines (their declined invitations are free)."""
    addresses = {staff.email.lower(), *(address.lower().removeprefix("mailto:") for address in discovered)}
    if "@" in connection.account_label:
        addresses.add(connection.account_label.lower())
    return frozenset(addresses)


def read_changes(changes: Changes, window: Span, policy: BusyPolicy, import_busy: bool, stored: list[StoredBlock],
                 reader: EventReader) -> tuple[list[ImportedEvent], dict[str, OwnSeen], list[str]]:
    """Busy spans of other events, Lockstep's own events by own id, and the events that could not be read (the
    reader failed on them, or the server could not give them)."""
    imported: list[ImportedEvent] = []
    own: dict[str, OwnSeen] = {}
    unreadable = list(changes.unreadable)
    for event_id in changes.unreadable:  # the server could not give it: it keeps whatever it blocked before
        imported.append(ImportedEvent(event_id, tuple(_kept(stored, event_id)), _recurring(stored, event_id)))
    for remote in changes.changed:
        try:
            reading = reader(remote, window, policy, import_busy)
            if reading.own is not None:
                # Listed with no busy time: it counts as an event the calendar holds (a listing of only our own
                # events is not "suddenly empty"), and it never becomes a block.
                gather_own(own, reading, remote, changes.complete or reading.own_id in changes.whole_series)
                imported.append(ImportedEvent(remote.event_id, ()))
                continue
            spans = reading.spans
            recurring: bool | None = reading.recurring
        except Exception:  # any event that breaks the reader (bad data, no DTSTART, a library error)
            # An event we cannot read keeps whatever it blocked before: never drop busy time on a parse error.
            unreadable.append(remote.event_id)
            spans, recurring = _kept(stored, remote.event_id), _recurring(stored, remote.event_id)
        imported.append(ImportedEvent(remote.event_id, tuple(spans), recurring))
    return imported, own, unreadable
