"""How each booking of a journal page stands with the calendars it is written to.

Terms: a booking's *sync state* in one calendar is SYNCED (written as it is now), PENDING (to be written: its event
mapping is pending, or the calendar is the staff member's destination and has no mapping of the booking yet, for a
confirmed booking that has not ended), FAILED (gave up after every retry) or CONFLICT (held back by a conflict: the
mapping waits for one, or an open sync conflict of that connection, or of none in particular, concerns the booking).
A recurring series is one event: each occurrence reads the mapping of the series' first occurrence. Unlinked
mappings are no longer synced and are left out.

A page's states cost four queries, however many bookings it holds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import cast

from models import (
    Booking,
    BookingStatus,
    ConflictStatus,
    ConnectionHealth,
    EventMapping,
    EventMappingState,
    ExternalCalendar,
    SyncConflict,
    SyncDirection,
)

_LIVE = [ConnectionHealth.ACTIVE, ConnectionHealth.DEGRADED, ConnectionHealth.REAUTHORIZATION_REQUIRED]
_WRITES = [SyncDirection.TWO_WAY, SyncDirection.EXPORT_ONLY]


class SyncStateKind(StrEnum):
    SYNCED = "synced"
    PENDING = "pending"
    FAILED = "failed"
    CONFLICT = "conflict"


@dataclass(frozen=True)
class SyncState:
    connection_id: int
    calendar_id: int
    calendar_name: str
    state: SyncStateKind


async def _anchors(bookings: Sequence[Booking]) -> dict[int, int]:
    """Each booking's anchor: itself, or its series' first occurrence (as services.sync_dispatch.anchor_id)."""
    series = sorted({row.series_id for row in bookings if row.series_id is not None})
    first: dict[int, tuple[int, int]] = {}
    if series:
        for series_id, index, booking_id in cast(list[tuple[int, int, int]], await Booking.filter(
                series_id__in=series).values_list("series_id", "occurrence_index", "id")):
            if series_id not in first or (index, booking_id) < first[series_id]:
                first[series_id] = (index, booking_id)
    return {row.id: row.id if row.series_id is None else first[row.series_id][1] for row in bookings}


def _state(mapping_state: str, conflicted: bool) -> SyncStateKind:
    if conflicted or mapping_state == EventMappingState.CONFLICT:
        return SyncStateKind.CONFLICT
    if mapping_state == EventMappingState.SYNCED:
        return SyncStateKind.SYNCED
    return SyncStateKind.FAILED if mapping_state == EventMappingState.FAILED else SyncStateKind.PENDING


async def sync_states(bookings: Sequence[Booking], now: datetime) -> dict[int, tuple[SyncState, ...]]:
    """The sync states of each booking, by booking ID, ordered by connection and calendar."""
    if not bookings:
        return {}
    anchors = await _anchors(bookings)
    mappings = cast(list[tuple[int, int, str, str, int]], await EventMapping.filter(
        booking_id__in=sorted(set(anchors.values()))).exclude(state=EventMappingState.UNLINKED).values_list(
        "booking_id", "external_calendar_id", "state", "external_calendar__name", "external_calendar__connection_id"))
    conflicts: dict[int, set[int | None]] = defaultdict(set)
    for booking_id, connection_id in await SyncConflict.filter(
            status=ConflictStatus.OPEN, booking_id__in=[row.id for row in bookings]).values_list(
            "booking_id", "connection_id"):
        conflicts[booking_id].add(connection_id)
    destinations = cast(list[tuple[int, str, int, int]], await ExternalCalendar.filter(
        is_destination=True, connection__staff_id__in=sorted({row.staff_id for row in bookings}),
        connection__health__in=_LIVE, connection__direction__in=_WRITES).values_list(
        "id", "name", "connection_id", "connection__staff_id"))
    by_anchor: dict[int, list[tuple[int, str, str, int]]] = defaultdict(list)
    for anchor, calendar_id, state, name, connection_id in mappings:
        by_anchor[anchor].append((calendar_id, state, name, connection_id))
    found: dict[int, tuple[SyncState, ...]] = {}
    for row in bookings:
        against = conflicts.get(row.id, set())
        states = {calendar_id: SyncState(connection_id, calendar_id, name,
                                         _state(state, None in against or connection_id in against))
                  for calendar_id, state, name, connection_id in by_anchor[anchors[row.id]]}
        if row.status == BookingStatus.CONFIRMED and row.ends_at > now:
            for calendar_id, name, connection_id, staff_id in destinations:
                if staff_id == row.staff_id and calendar_id not in states:
                    conflicted = None in against or connection_id in against
                    states[calendar_id] = SyncState(connection_id, calendar_id, name,
                                                    SyncStateKind.CONFLICT if conflicted else SyncStateKind.PENDING)
        found[row.id] = tuple(sorted(states.values(), key=lambda item: (item.connection_id, item.calendar_id)))
    return found
