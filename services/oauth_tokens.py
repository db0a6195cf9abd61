"""Keeping OAuth connections' access tokens fresh: which connections are due, storing refreshed tokens, and what a
failed refresh means for the connection's health.

Terms:
- *due*: an OAuth connection that still syncs and whose access token runs out within REFRESH_AHEAD (refreshed
  ahead of time, so a sync rarely meets an expired token; a 401 refreshes at once too).
- *refused* refresh: the provider says the grant is gone (`invalid_grant`): re-authorisation is required at once.
- *transient* failure: anything else (the token endpoint down, a timeout). FAILURES_ALLOWED of them within
  FAILURE_WINDOW deactivate the connection (re-authorisation required) and the staff member is told.
- *refresh lock*: at most one refresh of a connection's tokens talks to the token endpoint at a time (a lease
  column taken by one conditional UPDATE, lapsing after REFRESH_LOCK_TTL if its holder dies). Providers that rotate
  refresh tokens make each one single use: two refreshes sending the same one at once would see one fail with
  `invalid_grant` and could store the older grant over the newer.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import Q

from domain.retry import retry_delay
from models import CalendarConnection, ConnectionHealth
from models.claims import Claim, placeholders, run_claim
from services.credentials import CredentialVault
from services.sync_health import record_failure

REFRESH_AHEAD = timedelta(minutes=10)
FAILURES_ALLOWED = 3
FAILURE_WINDOW = timedelta(hours=24)
CLAIM = timedelta(minutes=2)
REFRESH_LOCK_TTL = timedelta(seconds=60)  # longer than a token call may take (its time-out is 15 s)
_SYNCING = [ConnectionHealth.ACTIVE, ConnectionHealth.DEGRADED]


def refresh_claim(now: datetime, providers: Collection[str], limit: int = 200) -> Claim:
    """The statement claiming due token refreshes (see claim_due_refreshes)."""
    claim = Claim(
        "calendarconnection", "refresh_claimed_until = ?", [now + CLAIM],
        f"health IN ({placeholders(_SYNCING)}) AND token_expires_at <= ?"
        " AND (refresh_claimed_until IS NULL OR refresh_claimed_until <= ?) AND credentials <> ''",
        [*(health.value for health in _SYNCING), now + REFRESH_AHEAD, now], order="token_expires_at", limit=limit)
    wanted = [str(provider) for provider in providers]
    return claim.and_where(f"provider IN ({placeholders(wanted)})", *wanted)


async def claim_due_refreshes(now: datetime, providers: Collection[str], limit: int = 200) -> list[int]:
    """Connections due a token refresh, claimed for CLAIM so the scheduler hands each out once meanwhile: one
    statement over the index of connections by health and token expiry (models.claims). `providers` are the
    providers whose tokens this deployment refreshes (the registry says which; services do not know providers)."""
    return await run_claim(refresh_claim(now, providers, limit))


async def take_refresh_lock(connection_id: int, owner: str, now: datetime) -> bool:
    """Take the connection's refresh lock when nobody holds it (or its holder's time ran out). One conditional
    UPDATE, so two takers racing cannot both win."""
    taken = await CalendarConnection.filter(Q(refresh_lock_until=None) | Q(refresh_lock_until__lt=now),
                                            id=connection_id).update(refresh_lock_owner=owner,
                                                                     refresh_lock_until=now + REFRESH_LOCK_TTL)
    return taken == 1


async def release_refresh_lock(connection_id: int, owner: str) -> None:
    """Give the lock back, unless it lapsed and someone else holds it now."""
    await CalendarConnection.filter(id=connection_id, refresh_lock_owner=owner).update(refresh_lock_owner="",
                                                                                        refresh_lock_until=None)


async def sealed_credentials(connection_id: int) -> str | None:
    """The connection's sealed credentials as stored now (None when the connection is gone)."""
    found = await CalendarConnection.filter(id=connection_id).values_list("credentials", flat=True)
    return str(found[0]) if found else None


async def save_refreshed_tokens(connection_id: int, vault: CredentialVault, replaced: str,
                                credentials: dict[str, Any], expires_at: datetime) -> bool:
    """Store the new tokens sealed, in place of the sealed credentials `replaced` they were refreshed from, and clear
    the failure count. Only if those are still the connection's and it still syncs: a disconnect (credentials gone),
    a reconnect (a newer grant) or another refresh meanwhile wins, and False is returned."""
    stored = await CalendarConnection.filter(id=connection_id, credentials=replaced, health__in=_SYNCING).update(
        credentials=vault.seal(credentials), token_expires_at=expires_at, refresh_claimed_until=None,
        refresh_failures=[])
    return stored == 1


async def record_refresh_failure(connection_id: int, message: str, now: datetime, *, refused: bool,
                                 retry_after: float | None = None, servers_fault: bool = False) -> ConnectionHealth:
    """Count a failed refresh; returns the connection's health afterwards. A transient failure is tried again after
    an exponential delay (at least `retry_after` seconds), so a short outage of the token endpoint costs one
    failure, not one per scheduler tick. A failure that is the server's own (`servers_fault`: the provider refuses
    this deployment's registration) never turns into "reconnect the calendar", however often it happens."""
    connection = await CalendarConnection.get(id=connection_id)
    recent = [when for when in connection.refresh_failures
              if datetime.fromisoformat(when) > now - FAILURE_WINDOW]
    recent.append(now.isoformat())
    await CalendarConnection.filter(id=connection_id).update(
        refresh_failures=recent, refresh_claimed_until=now + retry_delay(len(recent), retry_after))
    if refused:
        return await record_failure(connection_id, message, now, credentials_refused=True)
    if len(recent) >= FAILURES_ALLOWED and not servers_fault:
        return await record_failure(
            connection_id, f"Refreshing access failed {len(recent)} times within 24 hours ({message}); "
                           "reconnect the calendar", now, credentials_refused=True)
    return await record_failure(connection_id, message, now)
