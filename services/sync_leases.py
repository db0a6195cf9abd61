"""The per-calendar sync lease: at most one push or pull of a calendar runs at a time.

Why: a pull compares what the calendar lists with what Lockstep last wrote. A push that finished while the pull was
listing would make the (older) listing look like a hand edit, and two pulls at once would each insert the same new
blocks. Jobs can run twice or late (a lease on queued work can lapse while a long job runs), so exclusion is taken
where the work happens, in the database both processes share, and lapses by itself if a worker dies holding it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from tortoise.expressions import Q

from models import ExternalCalendar


async def take_calendar_lease(calendar_id: int, owner: str, now: datetime, ttl: timedelta) -> bool:
    """Take the lease when nobody holds it (or the holder's time ran out). One conditional UPDATE, so two takers
    racing cannot both win."""
    taken = await ExternalCalendar.filter(Q(sync_lock_until=None) | Q(sync_lock_until__lt=now), id=calendar_id
                                          ).update(sync_lock_owner=owner, sync_lock_until=now + ttl)
    return taken == 1


async def release_calendar_lease(calendar_id: int, owner: str) -> None:
    """Give the lease back, unless it already lapsed and someone else holds it now."""
    await ExternalCalendar.filter(id=calendar_id, sync_lock_owner=owner).update(sync_lock_owner="",
                                                                                sync_lock_until=None)


@asynccontextmanager
async def calendar_lease(calendar_id: int, ttl: timedelta) -> AsyncIterator[bool]:
    """Hold the calendar's lease for the block; yields whether it was taken (False: someone else is syncing it)."""
    owner = uuid4().hex
    held = await take_calendar_lease(calendar_id, owner, datetime.now(UTC), ttl)
    try:
        yield held
    finally:
        if held:
            await release_calendar_lease(calendar_id, owner)
