"""Deleting the events retired on a mapping, as the first step of its push (jobs.push).

Terms: a *retired* event (models.RetiredEvent) is one the booking no longer needs in that calendar: its earlier
event once another was taken over as its event (services.event_links), or an imported copy of it merged away
(services.merging). Each is deleted once; one already gone is what was wanted.
"""

from __future__ import annotations

from contextlib import suppress

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from models import EventMapping, RetiredEvent
from providers.base import AuthFailed, CalendarProvider, NotFound, ProviderError, is_transient
from services.sync_health import log_action


async def delete_retired(mapping: EventMapping, connection_id: int, calendar_id: str,
                         provider: CalendarProvider) -> ProviderError | None:
    """Delete every event retired on `mapping`. An outage or refused credentials stop here and are returned, so the
    push counts them as it counts any failure and the rest waits for its retry. A calendar that refuses to delete
    one event keeps it: it is no longer retired, and the next pull reads it as busy time like any other event."""
    for retired in await RetiredEvent.filter(mapping_id=mapping.id).order_by("id"):
        outcome, error = "ok", ""
        try:
            with suppress(NotFound):
                await provider.delete_event(calendar_id, retired.external_event_id)
        except ProviderError as exc:
            if isinstance(exc, AuthFailed) or is_transient(exc):
                return exc
            outcome, error = "failed", str(exc)
        async with in_transaction() as db:
            await RetiredEvent.filter(id=retired.id).using_db(db).delete()
            await log_action(connection_id, "export", "delete_duplicate", outcome, booking_id=mapping.booking_id,
                             mapping_id=mapping.id, error=error, using_db=db,
                             detail="an extra copy of the booking's event deleted" if outcome == "ok"
                             else "the calendar refused to delete this copy; it stays as busy time")
    return None


async def retire_written(mapping_id: int, calendar_id: int, event_id: str, db: BaseDBAsyncClient) -> None:
    """The event a push just wrote, when the mapping took another event as the booking's while the push ran: it is a
    copy now, deleted by the next push (which the change that took the other event queued)."""
    current = await EventMapping.filter(id=mapping_id).using_db(db).values_list("external_event_id", flat=True)
    if event_id and event_id not in current:
        await RetiredEvent.get_or_create(external_calendar_id=calendar_id, external_event_id=event_id,
                                         defaults={"mapping_id": mapping_id}, using_db=db)
