"""Reading fetched events, per provider, as the registry says (providers/readers.py holds the readers): Lockstep's
own events, or the busy spans of everyone else's; and gathering a series' instances into one own event.

Terms (the others are in providers/readers.py):
- *partial* own event: gathered from an incremental listing, so it holds only the instances that changed; the
  occurrences it lacks were not listed, not deleted.
"""

from __future__ import annotations

from domain.own_events import OwnEvent
from providers.base import RemoteEvent
from providers.readers import EventReader, Reading, read_caldav, read_google
from providers.registry import entry_of
from services.sync_edits import OwnSeen

__all__ = ["EventReader", "Reading", "gather_own", "read_caldav", "read_google", "reader_for", "reading_zone"]


def reading_zone(provider: str, calendar_zone: str, staff_zone: str) -> str:
    """The zone all-day dates and floating times are read in, by the provider's rule."""
    return entry_of(provider).reading_zone(calendar_zone, staff_zone)


def reader_for(provider: str) -> EventReader:
    return entry_of(provider).read_event


def gather_own(seen: dict[str, OwnSeen], reading: Reading, remote: RemoteEvent, complete: bool) -> None:
    """Add one reading of Lockstep's own event to `seen`, gathering a series' instances under its own id."""
    assert reading.own is not None
    if not reading.instance:
        seen[reading.own_id] = OwnSeen(remote.etag, reading.own)
        return
    before = seen.get(reading.own_id)
    occurrences = {**(before.event.occurrences if before else {}), **reading.own.occurrences}
    seen[reading.own_id] = OwnSeen("", OwnEvent(reading.own.kind, reading.own.target_id, occurrences),
                                   partial=not complete)
