"""The convergence test's world (tests/jobs/test_convergence.py): its calendar, the final drain, and what "both
sides agree" means, checked against the database and the in-memory calendar account.

Terms: a booking is *kept apart* when a person or the keep-both policy chose to let the calendar differ from it (a
settled keep_both conflict): its event stays where the staff member moved it, or stays deleted, until the booking
changes again in Lockstep.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from domain import sync
from domain.busy import BusyPolicy, caldav_busy_spans
from domain.conflicts import ConflictPolicy, SettleChoice, SyncResolution
from domain.intervals import Span
from domain.own_events import read_own_event
from jobs.pull import import_window
from models import (
    Booking,
    BookingStatus,
    BusyBlock,
    ConflictStatus,
    EventMapping,
    EventMappingState,
    OutboxEntry,
    Service,
    SyncConflict,
    WorkingHoursRange,
)
from services.credentials import CredentialVault, new_key
from services.sync_dispatch import push_version
from services.sync_edits import written_spans
from services.sync_schedule import TIMING
from tests.fakes.memory import MemoryProvider
from tests.support.hand_edits import uids
from tests.support.sync import ConnectedStaff, given_connected_staff

CAL, ZONE = "work", "Europe/Berlin"
BERLIN = ZoneInfo(ZONE)
KEY = new_key()
DRAIN_ROUNDS = 40


class Crashes(logging.Handler):
    """Unexpected errors the job bodies caught and recorded: the engine must never stop on one of its own."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class World(Protocol):
    """What the drain and the checks need of the state machine."""

    provider: MemoryProvider
    now: datetime
    queue: list[tuple[str, int]]
    given: ConnectedStaff

    async def run(self, job: tuple[str, int]) -> str: ...

    async def claim(self) -> list[tuple[str, int]]: ...

    async def settle_oldest_conflict(self, choice: SettleChoice) -> bool: ...


async def given_a_day_long_calendar(policy: ConflictPolicy) -> tuple[ConnectedStaff, ConnectedStaff]:
    """A staff member bookable all day in Berlin (so the grid crosses the clocks' jump), with a one-hour and a
    two-hour service, whose CalDAV calendar imports busy time and takes bookings: (the one-hour, the two-hour)."""
    credentials = CredentialVault([KEY]).seal({"own_addresses": []})
    given = await given_connected_staff(CAL, zone=ZONE, policy=policy, credentials=credentials)
    await WorkingHoursRange.filter(staff_id=given.staff.id).update(start_minute=0, end_minute=24 * 60)
    long = await Service.create(business_id=given.service.business_id, name="Boiler swap", duration_minutes=120,
                                slot_step_minutes=30, booking_horizon_days=400, colour="#3366cc")
    await long.staff.add(given.staff)
    return given, replace(given, service=long)


async def _owed() -> bool:
    """Work still owed to the calendar, or waiting for a person."""
    return (await OutboxEntry.filter(processed_at=None).exists()
            or await EventMapping.filter(state=EventMappingState.PENDING).exists()
            or await SyncConflict.filter(status=ConflictStatus.OPEN).exists())


async def _next_time(now: datetime) -> datetime:
    """Past every lease and the next poll, or later still when the earliest retry waits longer."""
    later = now + TIMING.hot_poll + timedelta(seconds=1)
    retry = await EventMapping.filter(state=EventMappingState.PENDING).exclude(next_attempt_at=None).order_by(
        "next_attempt_at").first()
    return max(later, retry.next_attempt_at) if retry is not None and retry.next_attempt_at else later


async def _state(world: World) -> tuple[object, ...]:
    return (await Booking.all().order_by("id").values_list("id", "status", "starts_at", "version"),
            await EventMapping.all().order_by("id").values_list("id", "state", "external_event_id", "etag",
                                                                "version_written"),
            await BusyBlock.all().order_by("id").values_list("external_event_id", "starts_at", "ends_at"),
            {event_id: stored.etag for event_id, stored in world.provider.calendars[CAL].events.items()})


async def drained(world: World) -> None:
    """Faults off; the jobs still queued run; then, round after round, open conflicts are settled (the booking
    stands), the clock moves on, and the scheduler's claims and their jobs run, until a round changes nothing and
    nothing is owed."""
    world.provider.faults.clear()
    world.provider.lost_replies.clear()
    while world.queue:
        await world.run(world.queue.pop(0))
    before: tuple[object, ...] | None = None
    for _ in range(DRAIN_ROUNDS):
        while await world.settle_oldest_conflict(SettleChoice.KEEP_BOOKING):
            pass
        world.now = await _next_time(world.now)
        for job in await world.claim():
            await world.run(job)
        after = await _state(world)
        if after == before and not await _owed():
            return
        before = after
    raise AssertionError(f"the engine never settled in {DRAIN_ROUNDS} rounds: {after}")


def _events_of(provider: MemoryProvider, booking_id: int) -> list[tuple[str, Any]]:
    marker = sync.event_marker(booking_id)
    return [(event_id, stored) for event_id, stored in sorted(provider.calendars[CAL].events.items())
            if marker in uids(stored.payload)]


async def _kept_apart(booking_id: int) -> set[str]:
    """The kinds of hand edit a keep-both choice let stand for the booking."""
    kinds = await SyncConflict.filter(booking_id=booking_id, status=ConflictStatus.SETTLED,
                                      resolution=SyncResolution.KEEP_BOTH.value).values_list("kind", flat=True)
    return {str(kind) for kind in kinds}


async def _booking_agrees(world: World, booking: Booking, window: Span) -> None:
    objects = _events_of(world.provider, booking.id)
    if booking.status != BookingStatus.CONFIRMED:
        assert objects == [], f"cancelled booking {booking.id} still has events {objects}"
        return
    mapping = await EventMapping.get(booking_id=booking.id)
    kept = await _kept_apart(booking.id)
    if mapping.state == EventMappingState.UNLINKED:
        assert "event_deleted" in kept and objects == [], (booking.id, kept, objects)
        return
    assert mapping.state == EventMappingState.SYNCED, f"booking {booking.id} is {mapping.state}: {mapping.last_error}"
    assert mapping.version_written == await push_version(booking.id), f"booking {booking.id}'s change never reached"
    assert [event_id for event_id, _ in objects] == [mapping.external_event_id], (booking.id, objects)
    seen = read_own_event(objects[0][1].payload, window, ZONE)
    assert seen is not None and seen.target_id == booking.id
    at = list(seen.occurrences.values())
    if at != [Span(booking.starts_at.astimezone(UTC), booking.ends_at.astimezone(UTC))]:
        # Only a keep-both choice leaves the event elsewhere, and Lockstep knows where.
        written = [span for _, span in written_spans(mapping.written).values()]
        assert "event_moved" in kept and at == written, (booking.id, booking.starts_at, at, written, kept)


async def both_sides_agree(world: World) -> None:
    """Every booking shows in the calendar as it is (once, at its time; cancelled ones not at all) unless kept
    apart, every change of it was written, and the busy blocks are exactly the staff member's own events: none
    duplicated, none of Lockstep's own."""
    window = import_window(world.now)
    for booking in await Booking.all().order_by("id"):
        await _booking_agrees(world, booking, window)
    ours, expected = set(), set()
    for event_id, stored in world.provider.calendars[CAL].events.items():
        if any(sync.parse_marker(uid) for uid in uids(stored.payload)):
            ours.add(event_id)
            continue
        for busy in caldav_busy_spans(stored.payload, window, BusyPolicy(zone=ZONE)):
            expected.add((event_id, busy.span.start, busy.span.end))
    blocks = await BusyBlock.all().values_list("external_event_id", "starts_at", "ends_at")
    imported = [(event_id, start.astimezone(UTC), end.astimezone(UTC)) for event_id, start, end in blocks]
    assert not ours & {event_id for event_id, _, _ in imported}, "one of Lockstep's own events became busy time"
    assert len(imported) == len(set(imported)), f"a busy block is duplicated: {imported}"
    assert set(imported) == expected, (imported, expected)
