"""Which events of a calendar are a booking's, so that a pull never imports them as busy time.

Terms: an event is *a booking's* when a mapping names it as the booking's event in that calendar (one Lockstep
wrote, or one taken over by services.event_links before the push has written the booking onto it, so it does not
carry Lockstep's marker yet), or when it is *retired*: an event the next push of a mapping deletes
(models.RetiredEvent). An unlinked mapping's event is no longer the booking's: it is busy time like any other.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import cast

from tortoise.backends.base.client import BaseDBAsyncClient

from models import EventMapping, EventMappingState, RetiredEvent

_BATCH = 500  # event ids per statement: an initial import lists thousands


async def events_of_bookings(calendar_id: int, event_ids: Collection[str], db: BaseDBAsyncClient | None = None
                             ) -> set[str]:
    """Of `event_ids`, the calendar's events that are a booking's (by index, a few statements however large the
    calendar is)."""
    wanted = sorted(set(event_ids))
    found: set[str] = set()
    for start in range(0, len(wanted), _BATCH):
        batch = wanted[start:start + _BATCH]
        found |= set(cast(list[str], await EventMapping.filter(
            external_calendar_id=calendar_id, external_event_id__in=batch).exclude(
            state=EventMappingState.UNLINKED).using_db(db).values_list("external_event_id", flat=True)))
        found |= set(cast(list[str], await RetiredEvent.filter(
            external_calendar_id=calendar_id, external_event_id__in=batch).using_db(db).values_list(
            "external_event_id", flat=True)))
    return found
