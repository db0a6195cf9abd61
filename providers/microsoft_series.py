"""Settling the occurrences of a recurring event Lockstep wrote to Microsoft Graph.

Terms:
- *instance*: one occurrence of a series as `GET /me/events/{id}/instances` lists it over a span, with its own id,
  its planned start (`originalStart`) and where it takes place now (`start`, `end`). Lockstep never guesses instance
  ids: it lists them.
- *settling*: making every instance what Lockstep wants: a cancelled occurrence's instance deleted, a moved one at its
  new time, any other at its planned time (so one the staff member moved by hand, or one Lockstep moved earlier and no
  longer wants moved, goes back). Graph cannot bring back one deleted occurrence by itself; but an update of a series
  writes its times and pattern, which makes Outlook reset the series' exceptions and deletions; settling then
  cancels and moves again only what Lockstep still wants cancelled or moved, so a restored occurrence lives again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from domain.recurrence import RecurrenceError, occurrence_starts
from providers.base import OutgoingEvent, ProviderError
from providers.microsoft_delta import instant
from providers.microsoft_export import wall_clock
from providers.microsoft_http import GraphSession

# Instances are listed by where they take place; the margin keeps one that DST or a hand move pushed a little past
# the series' first or last planned time in view.
_MARGIN = timedelta(days=1)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def event_path(event_id: str) -> str:
    return f"me/events/{quote(event_id, safe='')}"


def series_span(event: OutgoingEvent) -> tuple[datetime, datetime]:
    """From the series' first start to its last end, widened to every moved occurrence and the margin."""
    try:
        planned = occurrence_starts(str(event.rrule), event.starts_at, event.time_zone)
    except RecurrenceError as exc:
        raise ProviderError(f"the series cannot be expanded: {exc.reason}") from exc
    length = event.ends_at - event.starts_at
    starts = [planned[0], *(moved.starts_at for moved in event.moved)]
    ends = [planned[-1] + length, *(moved.ends_at for moved in event.moved)]
    return min(starts) - _MARGIN, max(ends) + _MARGIN


async def settle_instances(http: GraphSession, master: dict[str, Any], event: OutgoingEvent) -> dict[str, Any]:
    """Delete, move or move back every instance of the series that is not as Lockstep wants it. Returns the master as
    it is afterwards (its etag moves when its instances do, and the next conditional write needs the newest)."""
    moved = {occurrence.planned_start: occurrence for occurrence in event.moved}
    cancelled = set(event.exdates)
    length = event.ends_at - event.starts_at
    master_id = str(master["id"])
    start, end = series_span(event)
    instances = await http.collection("event.instances", f"{event_path(master_id)}/instances",
                                      [("startDateTime", _stamp(start)), ("endDateTime", _stamp(end))])
    touched = False
    for item in instances:
        planned = instant(item.get("originalStart")) or instant(item.get("start"))
        if planned is None:
            continue
        if planned in cancelled:
            answer = await http.call("event.delete", "DELETE", event_path(str(item["id"])))
            if not answer.ok and answer.status != 404:  # gone already: as wanted
                raise answer.error()
            touched = True
            continue
        target = moved.get(planned)
        wanted = (target.starts_at, target.ends_at) if target else (planned, planned + length)
        if (instant(item.get("start")), instant(item.get("end"))) == wanted:
            continue
        await http.ok("event.update", "PATCH", event_path(str(item["id"])),
                      body={"start": wall_clock(wanted[0], event.time_zone),
                            "end": wall_clock(wanted[1], event.time_zone)})
        touched = True
    if not touched:
        return master
    return dict((await http.ok("event.get", "GET", event_path(master_id))).body)
