"""Reading one calendarView delta round of Microsoft Graph into what changed.

Terms:
- *round*: the pages of one delta listing, from its first request (or the cursor) to the page with the deltaLink.
  Items may repeat within a round (Graph replays what changed while it paged): the last listing of an id wins.
- *removed item*: `{"id", "@removed": {...}}`, an event gone from the window (or, Graph warns, one outside it that
  changed); only an incremental round reports them.
- *series master*: a recurring event's own item. It is not an occurrence of anything, so it is never returned as a
  change; it lends its fields to its occurrences.
- *bare occurrence*: an occurrence as delta lists it, only its id, series, start, end and etag. It is *hydrated*
  with the master's fields that say what it is and whether it blocks (HYDRATED_FIELDS), never the master's body.
- *marked*: Lockstep's own events, known by the marker property. Delta cannot expand extended properties, so the
  calendar's marked events are listed apart and their property copied into the round's items (`mark`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

HYDRATED_FIELDS = ("subject", "showAs", "sensitivity", "isAllDay", "isCancelled", "responseStatus", "attendees",
                   "organizer", "categories", "originalStartTimeZone", "originalEndTimeZone",
                   "singleValueExtendedProperties", "transactionId")
EXTENDED_PROPERTIES = "singleValueExtendedProperties"
SERIES_MASTER = "seriesMaster"


@dataclass
class Round:
    """What one round listed: live items by id, and removed ids, each as its last listing says."""

    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)

    def take(self, page: Iterable[dict[str, Any]]) -> None:
        for item in page:
            item_id = str(item["id"])
            if "@removed" in item:
                self.items.pop(item_id, None)
                self.removed.add(item_id)
            else:
                self.items[item_id] = item
                self.removed.discard(item_id)

    def masters(self) -> dict[str, dict[str, Any]]:
        return {item_id: item for item_id, item in self.items.items() if item.get("type") == SERIES_MASTER}

    def changed(self) -> dict[str, dict[str, Any]]:
        """The items that are events taking place (every item but the series masters)."""
        return {item_id: item for item_id, item in self.items.items() if item.get("type") != SERIES_MASTER}


def masters_needed(changed: Mapping[str, dict[str, Any]], known: Mapping[str, dict[str, Any]]) -> list[str]:
    """The series masters, not among `known`, that the changed items' occurrences need to be hydrated from."""
    return sorted({str(item["seriesMasterId"]) for item in changed.values()
                   if item.get("seriesMasterId") and str(item["seriesMasterId"]) not in known})


def hydrated(item: dict[str, Any], master: Mapping[str, Any] | None) -> dict[str, Any]:
    """The item with the master's fields it does not carry itself (an occurrence's own fields win)."""
    if master is None:
        return item
    return {**{name: master[name] for name in HYDRATED_FIELDS if name in master}, **item}


def mark(item: dict[str, Any], marked: Mapping[str, list[Any]]) -> dict[str, Any]:
    """The item with the marker property of the marked event it is, or is an occurrence of."""
    properties = marked.get(str(item["id"])) or marked.get(str(item.get("seriesMasterId") or ""))
    return {**item, EXTENDED_PROPERTIES: properties} if properties else item


def instant(value: Any) -> datetime | None:
    """A Graph time as a UTC instant: a dateTimeTimeZone in UTC (what `Prefer: outlook.timezone="UTC"` gives) or a
    DateTimeOffset string; None when there is none."""
    if isinstance(value, dict):
        text, zone = value.get("dateTime"), value.get("timeZone") or "UTC"
        if not isinstance(text, str) or zone.upper() not in ("UTC", "ETC/UTC"):
            return None
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        parsed = datetime.fromisoformat(value)
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    return None
