"""Keeping OAuth connections' access tokens fresh: which connections are due, storing refreshed tokens, and what a
failed refresh means for the connection's health.

Terms:
- *due*: an OAuth connection that still syncs and whose access token runs out within REFRESH_AHEAD (refreshed
  ahead of time, so a sync rarely meets an expired token; a 401 refreshes at once too).
- *refused* refresh: the provider says the grant is gone (`invalid_grant`): re-authorisation is required at once.
- *transient* failure: anything else (the token endpoint down, a timeout). FAILURES_ALLOWED of them within
  FAILURE_WINDOW deactivate the connection (re-authorisation required) and the staff member is told.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from domain.retry import retry_delay
from models import CalendarConnection, ConnectionHealth
from models.claims import Claim, placeholders, run_claim
from services.credentials import CredentialVault
from services.sync_health import record_failure

REFRESH_AHEAD = timedelta(minutes=10)
FAILURES_ALLOWED = 3
FAILURE_WINDOW = timedelta(hours=24)
CLAIM = timedelta(minutes=2)
_SYNCING = [ConnectionHealth.ACTIVE, ConnectionHealth.DEGRADED]


def refresh_claim(now: datetime, limit: int = 200, providers: Collection[str] | None = None) -> Claim:
    """The statement claiming due token refreshes (see claim_due_refreshes)."""
    claim = Claim(
        "calendarconnection", "refresh_claimed_until = ?", [now + CLAIM],
        f"health IN ({placeholders(_SYNCING)}) AND token_expires_at <= ?"
        " AND (refresh_claimed_until IS NULL OR refresh_claimed_until <= ?) AND credentials <> ''",
        [*(health.value for health in _SYNCING), now + REFRESH_AHEAD, now], order="token_expires_at", limit=limit)
    if providers is not None:
        wanted = [str(provider) for provider in providers]
        claim = claim.and_where(f"provider IN ({placeholders(wanted)})", *wanted)
    return claim


async def claim_due_refreshes(now: datetime, limit: int = 200, providers: Collection[str] | None = None
                              ) -> list[int]:
    """Connections due a token refresh, claimed for CLAIM so the scheduler hands each out once meanwhile: one
    statement over the index of connections by health and token expiry (models.claims). `providers` keeps to
    connections of those providers (None: all)."""
    return await run_claim(refresh_claim(now, limit, providers))


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
                                 retry_after: float | None = None) -> ConnectionHealth:
    """Count a failed refresh; returns the connection's health afterwards. A transient failure is tried again after
    an exponential delay (at least `retry_after` seconds), so a short outage of the token endpoint costs one
    failure, not one per scheduler tick."""
    connection = await CalendarConnection.get(id=connection_id)
    recent = [when for when in connection.refresh_failures
              if datetime.fromisoformat(when) > now - FAILURE_WINDOW]
    recent.append(now.isoformat())
    await CalendarConnection.filter(id=connection_id).update(
        refresh_failures=recent, refresh_claimed_until=now + retry_delay(len(recent), retry_after))
    if refused:
        return await record_failure(connection_id, message, now, credentials_refused=True)
    if len(recent) >= FAILURES_ALLOWED:
        return await record_failure(
            connection_id, f"Refreshing access failed {len(recent)} times within 24 hours ({message}); "
                           "reconnect the calendar", now, credentials_refused=True)
    return await record_failure(connection_id, message, now)
