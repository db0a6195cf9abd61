"""Lockstep's events as Google event resources (docs/providers.md, "Google: event resources and writes").

Terms:
- *event id*: chosen by Lockstep from the marker, so a retried insert names the same event and Google refuses the
  copy (409) instead of creating a second one. Google accepts ids of base32hex characters ([a-v0-9], 5 to 1024
  long); the marker's UTF-8 bytes in lowercase base32hex without padding are exactly that, and reversible.
- *marker property*: the private extended property `lockstepMarker`, holding the marker, by which Lockstep knows
  its own events when it reads the calendar (private: only this calendar's copy carries it).
- *series*: a recurring booking is one recurring event: an RRULE from its first start in its zone. A cancelled
  occurrence is its instance cancelled, and a moved one its instance patched to the new time (see GoogleProvider),
  which is how Google itself records changes to single occurrences.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from domain.colours import GOOGLE_EVENT_COLOURS, nearest_colour
from domain.zones import load_zone
from providers.base import OutgoingEvent

MARKER_PROPERTY = "lockstepMarker"


def event_id_for(marker: str) -> str:
    """The Google event id of the event carrying `marker`: markers of 4 to 640 UTF-8 bytes fit Google's 5 to 1024
    characters (Lockstep's are about 20); ValueError for any other."""
    if not 4 <= len(marker.encode()) <= 640:
        raise ValueError("a marker must be 4 to 640 bytes long to serve as a Google event id")
    return base64.b32hexencode(marker.encode()).decode().rstrip("=").lower()


def when(instant: datetime, zone: str) -> dict[str, str]:
    """An EventDateTime: the wall clock in `zone` with its offset, and the zone (Google needs it for a series)."""
    return {"dateTime": instant.astimezone(load_zone(zone)).isoformat(), "timeZone": zone}


def event_body(event: OutgoingEvent) -> dict[str, Any]:
    """The fields Lockstep writes, for an insert or a patch (a patch leaves everything else as the user set it)."""
    body: dict[str, Any] = {
        "summary": event.summary,
        "description": event.description,
        "start": when(event.starts_at, event.time_zone),
        "end": when(event.ends_at, event.time_zone),
        "extendedProperties": {"private": {MARKER_PROPERTY: event.marker}},
    }
    if event.rrule:
        body["recurrence"] = [f"RRULE:{event.rrule.removeprefix('RRULE:')}"]
    if event.colour:
        body["colorId"] = nearest_colour(event.colour, GOOGLE_EVENT_COLOURS)
    return body
