"""Lockstep's events as Microsoft Graph event resources.

Terms:
- *marker property*: the single-value extended property domain.graph_events.MARKER_PROPERTY_ID, holding the marker,
  by which Lockstep knows its own events when it reads the calendar.
- *transaction id*: Graph's guard against a retried create: a POST naming a transactionId already used yields the
  event made the first time. Lockstep's is derived from the marker (a name-based UUID), so every attempt to create
  one booking's event names the same transaction. Graph keeps it from the create on; a patch never sends it.
- *category*: Graph colours an event only through the categories of the mailbox's master list, each with one of 25
  preset colours. A service's colour is written as the category "Lockstep <preset name>" of the nearest preset.
- *series*: a recurring booking is one recurring event with a patterned recurrence from its first start in its zone
  (domain.graph_recurrence); Graph cannot say every RRULE, and a series whose rule it cannot say exactly is written
  as single events instead (providers/microsoft_singles.py), never approximately.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from domain.colours import nearest_colour
from domain.graph_events import MARKER_PROPERTY_ID
from domain.graph_recurrence import graph_recurrence
from domain.zones import load_zone
from providers.base import OutgoingEvent, ProviderError
from providers.microsoft_delta import instant

# The namespace of Lockstep's transaction ids; changing it would let a retried create duplicate an event.
TRANSACTIONS = uuid.UUID("3f1d0c52-8b7e-4f4a-9d26-6c1b5e0a7d93")
CATEGORY_PREFIX = "Lockstep "

# Graph's category presets (outlookCategory.color) with their names and the shade Outlook on the web shows; other
# clients render them a little differently, which is why a colour is matched to the nearest rather than kept exact.
MICROSOFT_CATEGORY_PRESETS: dict[str, tuple[str, str]] = {
    "preset0": ("Red", "#e81123"), "preset1": ("Orange", "#ff8c00"), "preset2": ("Brown", "#ab6b3a"),
    "preset3": ("Yellow", "#fff100"), "preset4": ("Green", "#47d041"), "preset5": ("Teal", "#30c6cc"),
    "preset6": ("Olive", "#73aa24"), "preset7": ("Blue", "#00bcf2"), "preset8": ("Purple", "#8764b8"),
    "preset9": ("Cranberry", "#f495bf"), "preset10": ("Steel", "#a0aeb2"), "preset11": ("DarkSteel", "#004b60"),
    "preset12": ("Gray", "#b1adab"), "preset13": ("DarkGray", "#5d5a58"), "preset14": ("Black", "#000000"),
    "preset15": ("DarkRed", "#750b1c"), "preset16": ("DarkOrange", "#ca5010"), "preset17": ("DarkBrown", "#57321e"),
    "preset18": ("DarkYellow", "#c29c00"), "preset19": ("DarkGreen", "#0b6a0b"), "preset20": ("DarkTeal", "#038387"),
    "preset21": ("DarkOlive", "#3b5e1b"), "preset22": ("DarkBlue", "#0078d4"), "preset23": ("DarkPurple", "#5c2e91"),
    "preset24": ("DarkCranberry", "#960b3c"),
}
MICROSOFT_CATEGORY_COLOURS = {preset: shade for preset, (_, shade) in MICROSOFT_CATEGORY_PRESETS.items()}

# A calendar's `color` (calendarColor) when it has no hexColor, as Outlook on the web shows it; "auto" has none.
MICROSOFT_CALENDAR_COLOURS = {
    "lightBlue": "#a6d1f5", "lightGreen": "#87d28e", "lightOrange": "#fcab73", "lightGray": "#c0c0c0",
    "lightYellow": "#f4d07a", "lightTeal": "#5ee0d6", "lightPink": "#f2a5c1", "lightBrown": "#c3a68b",
    "lightRed": "#f08989",
}


def is_expressible(event: OutgoingEvent) -> bool:
    """Whether the event is a single one, or a series whose rule Graph's patterned recurrence says exactly."""
    return not event.rrule or graph_recurrence(event.rrule, event.starts_at, event.time_zone) is not None


def transaction_id_for(marker: str) -> str:
    return str(uuid.uuid5(TRANSACTIONS, marker))


def category_for(colour: str) -> tuple[str, str]:
    """The category Lockstep writes for a "#rrggbb" colour: its display name and its preset."""
    preset = nearest_colour(colour, MICROSOFT_CATEGORY_COLOURS)
    return CATEGORY_PREFIX + MICROSOFT_CATEGORY_PRESETS[preset][0], preset


def calendar_colour(calendar: dict[str, Any]) -> str:
    """A calendar's colour as "#rrggbb": the one the user chose, else the shade of its preset ("" for auto)."""
    return str(calendar.get("hexColor") or MICROSOFT_CALENDAR_COLOURS.get(str(calendar.get("color", "")), ""))


def wall_clock(instant: datetime, zone: str) -> dict[str, str]:
    """A dateTimeTimeZone: the wall clock in `zone` without an offset, and the zone by its IANA name."""
    local = instant.astimezone(load_zone(zone)).replace(tzinfo=None)
    return {"dateTime": local.isoformat(timespec="seconds"), "timeZone": zone}


def event_body(event: OutgoingEvent, *, creating: bool) -> dict[str, Any]:
    """The fields Lockstep writes, for a create or a patch (a patch leaves everything else as the user set it).
    A series' rule must be one Graph can say (`is_expressible`); ProviderError otherwise."""
    body: dict[str, Any] = {
        "subject": event.summary,
        "body": {"contentType": "text", "content": event.description},
        "start": wall_clock(event.starts_at, event.time_zone),
        "end": wall_clock(event.ends_at, event.time_zone),
        "singleValueExtendedProperties": [{"id": MARKER_PROPERTY_ID, "value": event.marker}],
    }
    if creating:
        body["transactionId"] = transaction_id_for(event.marker)
    if event.colour:
        body["categories"] = [category_for(event.colour)[0]]
    if event.rrule:
        recurrence = graph_recurrence(event.rrule, event.starts_at, event.time_zone)
        if recurrence is None:
            raise ProviderError(f"Microsoft Graph cannot repeat an event as {event.rrule!r} says")
        body["recurrence"] = recurrence
    return body


def differs(resource: dict[str, Any], event: OutgoingEvent, body: dict[str, Any]) -> bool:
    """Whether an event Graph returned for a create is not what was sent (the create met a used transaction)."""
    return (resource.get("subject") != event.summary
            or sorted(resource.get("categories") or []) != sorted(body.get("categories") or [])
            or (instant(resource.get("start")), instant(resource.get("end"))) != (event.starts_at, event.ends_at)
            or (bool(event.rrule) and not covers(resource.get("recurrence"), body["recurrence"])))


def covers(have: Any, want: Any) -> bool:
    """Whether `have` says everything `want` says (Graph adds defaults of its own to a recurrence it echoes)."""
    if isinstance(want, dict):
        return isinstance(have, dict) and all(covers(have.get(key), value) for key, value in want.items())
    if isinstance(want, list):
        return isinstance(have, list) and sorted(map(str, have)) == sorted(map(str, want))
    return bool(have == want)
