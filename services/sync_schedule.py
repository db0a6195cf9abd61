"""How often each calendar is pulled.

A connection's frequency (DESIGN.md) sets the pace: real time means push where the provider has it, with a backstop
pull; a provider without push (CalDAV) is polled at the *hot* interval instead. Whether the connection's provider
pushes is the caller's to say (`pushes`, from the provider registry: services do not know providers). On top of
that, a staff member who can be booked within the next 72 hours (working hours fall in that span) is *hot*: their
calendars are pulled at least every `hot_poll` (60 s unless configured), because a personal event added there must
stop customers booking that time within about a minute. Manual connections are pulled only on "sync now".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.zones import load_zone
from models import CalendarConnection, ScheduleOverride, Staff, SyncFrequency, WorkingHoursRange

HOT_HORIZON = timedelta(hours=72)
_EVERY = {
    SyncFrequency.EVERY_5_MINUTES: timedelta(minutes=5),
    SyncFrequency.EVERY_15_MINUTES: timedelta(minutes=15),
    SyncFrequency.HOURLY: timedelta(hours=1),
}


@dataclass
class SyncTiming:
    hot_poll: timedelta = timedelta(seconds=60)
    push_backstop: timedelta = timedelta(minutes=15)
    manual_recheck: timedelta = timedelta(days=3650)  # effectively never: only "sync now" pulls a manual one


TIMING = SyncTiming()


def configure(hot_poll_seconds: float) -> None:
    """Set the hot poll interval (wired from settings at start-up)."""
    TIMING.hot_poll = timedelta(seconds=hot_poll_seconds)


async def is_hot(staff: Staff, now: datetime) -> bool:
    """Whether the staff member has working hours within HOT_HORIZON (by weekly hours or a dated override)."""
    zone = load_zone(staff.time_zone)
    first = now.astimezone(zone).date()
    dates = [first + timedelta(days=offset) for offset in range(HOT_HORIZON.days + 1)]
    weekdays = {day.weekday() for day in dates}  # 0 = Monday, as stored
    if await WorkingHoursRange.filter(staff_id=staff.id, weekday__in=sorted(weekdays)).exists():
        return True
    overrides = await ScheduleOverride.filter(staff_id=staff.id, date__in=dates).values_list("ranges", flat=True)
    return any(overrides)


async def poll_interval(connection: CalendarConnection, staff: Staff, now: datetime, *, pushes: bool) -> timedelta:
    if connection.frequency == SyncFrequency.MANUAL:
        return TIMING.manual_recheck
    if connection.frequency == SyncFrequency.REAL_TIME:
        base = TIMING.push_backstop if pushes else TIMING.hot_poll
    else:
        base = _EVERY[connection.frequency]
    if base <= TIMING.hot_poll:
        return base  # as often as a hot staff member's already: no need to ask
    return min(base, TIMING.hot_poll) if await is_hot(staff, now) else base


async def next_pull_at(connection: CalendarConnection, staff: Staff, now: datetime, *, pushes: bool) -> datetime:
    return now + await poll_interval(connection, staff, now, pushes=pushes)
