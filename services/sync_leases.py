"""The per-calendar sync lease: at most one push or pull of a calendar runs at a time.

Why: a pull compares what the calendar lists with what Lockstep last wrote. A push that finished while the pull was
listing would make the (older) listing look like a hand edit, and two pulls at once would each insert the same new
blocks. Jobs can run twice or late (a lease on queued work can lapse while a long job runs), so exclusion is taken
where the work happens, in the database both processes share.

The lease is short (LEASE_TTL) and its holder renews it every HEARTBEAT while the work runs, however long that takes:
so a worker that dies holding it (killed, out of memory, its machine gone) stops renewing, and another worker can take
the calendar within LEASE_TTL, instead of the calendar waiting for the longest a job may run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from models.claims import run_update

log = logging.getLogger("lockstep.leases")
LEASE_TTL = timedelta(seconds=30)  # how long a dead holder can keep a calendar from others
# The longest a holder renews its lease: past the longest sync job's timeout (5 minutes), with room to spare.
MAX_HOLD = timedelta(minutes=10)
HEARTBEAT = timedelta(seconds=10)  # how often a live holder renews: a few chances before its lease would lapse
# Every pull and push takes and gives back a lease: written out once (models.claims.run_update), not built by the
# ORM on each call.
_TAKE = ("UPDATE externalcalendar SET sync_lock_owner = ?, sync_lock_until = ?"
         " WHERE id = ? AND (sync_lock_until IS NULL OR sync_lock_until < ?) RETURNING id")
_RELEASE = ("UPDATE externalcalendar SET sync_lock_owner = '', sync_lock_until = NULL"
            " WHERE id = ? AND sync_lock_owner = ? RETURNING id")
_RENEW = "UPDATE externalcalendar SET sync_lock_until = ? WHERE id = ? AND sync_lock_owner = ? RETURNING id"


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def take_calendar_lease(calendar_id: int, owner: str, now: datetime, ttl: timedelta) -> bool:
    """Take the lease when nobody holds it (or the holder's time ran out). One conditional UPDATE, so two takers
    racing cannot both win."""
    return await run_update(_TAKE, [owner, now + ttl, calendar_id, now]) == 1


async def release_calendar_lease(calendar_id: int, owner: str) -> None:
    """Give the lease back, unless it already lapsed and someone else holds it now."""
    await run_update(_RELEASE, [calendar_id, owner])


async def renew_calendar_lease(calendar_id: int, owner: str, now: datetime, ttl: timedelta) -> bool:
    """Extend the holder's lease to `now + ttl`; False when it is no longer the holder's (it lapsed and was taken)."""
    return await run_update(_RENEW, [now + ttl, calendar_id, owner]) == 1


async def _keep_renewing(calendar_id: int, owner: str, ttl: timedelta, heartbeat: timedelta,
                         clock: Callable[[], datetime], max_hold: timedelta) -> None:
    until = clock() + max_hold
    while True:
        await asyncio.sleep(heartbeat.total_seconds())
        if clock() >= until:
            # Longer than any sync job may run: its job has been given up (a timeout left this coroutine behind),
            # so the lease is left to lapse for the next job instead of being held by what no one waits for.
            log.warning("the sync lease of calendar %s was held past %s; no longer renewed", calendar_id, max_hold)
            return
        try:
            if not await renew_calendar_lease(calendar_id, owner, clock(), ttl):
                log.warning("the sync lease of calendar %s lapsed while its work ran", calendar_id)
                return
        except Exception:  # a database hiccup: the next heartbeat tries again, well before the lease lapses
            log.exception("renewing the sync lease of calendar %s failed", calendar_id)


@asynccontextmanager
async def calendar_lease(calendar_id: int, ttl: timedelta = LEASE_TTL, *, heartbeat: timedelta = HEARTBEAT,
                         clock: Callable[[], datetime] = _utc_now, max_hold: timedelta = MAX_HOLD
                         ) -> AsyncIterator[bool]:
    """Hold the calendar's lease for the block, renewed every `heartbeat` while it runs; yields whether it was
    taken (False: someone else is syncing it)."""
    owner = uuid4().hex
    if not await take_calendar_lease(calendar_id, owner, clock(), ttl):
        yield False
        return
    renewing = asyncio.create_task(_keep_renewing(calendar_id, owner, ttl, heartbeat, clock, max_hold))
    try:
        yield True
    finally:
        renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewing
        await release_calendar_lease(calendar_id, owner)
