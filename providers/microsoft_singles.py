"""A recurring booking whose rule Microsoft Graph cannot repeat exactly, written as single events.

Graph's patterned recurrence cannot say every RRULE (domain/graph_recurrence.py lists what it cannot: several days of
the month, the last day, days 29 to 31, different ordinals in one rule, an interval over 99). Such a series is
never written approximately: each of its occurrences becomes a single event of its own.

Terms:
- *group*: the single events that stand for one series. Each carries the series' marker property (the value the
  series event would carry) and the planned-start property (domain.graph_events.PLANNED_PROPERTY_ID: the planned
  start of the occurrence it stands for, in UTC), so reading one back gives that occurrence of that series.
- *group id*: GROUP_PREFIX and the series' marker. It is what a write returns and the event mapping keeps in place
  of an event id; Graph knows no such id, so the provider finds a group's singles by their marker property.
- *single's transaction id*: a name-based UUID of the marker and the planned start (the TRANSACTIONS namespace of
  providers/microsoft_export.py), so a retried create of one occurrence yields the single made the first time.
- *group etag*: a short digest of the singles' ids and etags after a write. Graph has no version of a group, so no
  write of a group is conditional: it is compared single by single with what Lockstep wants instead.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from domain.graph_events import (
    MARKER_PROPERTY_ID,
    PLANNED_PROPERTY_ID,
    UnreadableGraphEvent,
    marker_value,
    planned_start_of,
)
from domain.recurrence import RecurrenceError, occurrence_starts
from providers.base import NotFound, OutgoingEvent, ProviderError, Written
from providers.microsoft_delta import instant
from providers.microsoft_export import TRANSACTIONS, category_for, event_body
from providers.microsoft_http import GraphSession
from providers.microsoft_series import event_path

GROUP_PREFIX = "lockstep-singles:"
# Bodies are compared as text: Graph answers in HTML unless asked for text.
_TEXT_BODIES = {"Prefer": 'outlook.body-content-type="text"'}
_EXPAND = ("$expand", f"singleValueExtendedProperties($filter=id eq '{MARKER_PROPERTY_ID}' "
                      f"or id eq '{PLANNED_PROPERTY_ID}')")
_DIGEST_LENGTH = 20

Span = tuple[datetime, datetime]


def is_group(event_id: str) -> bool:
    return event_id.startswith(GROUP_PREFIX)


def group_id(marker: str) -> str:
    return GROUP_PREFIX + marker


def group_of(resource: dict[str, Any]) -> str | None:
    """The group id of a single that stands for an occurrence (it carries a marker and a planned start), else None
    (an occurrence of a Graph series is never one: its series is its own)."""
    if resource.get("seriesMasterId") or resource.get("type") == "seriesMaster":
        return None
    marker = marker_value(resource)
    if marker is None or _planned(resource) is None:
        return None
    return group_id(marker)


def _planned(resource: dict[str, Any]) -> datetime | None:
    try:
        return planned_start_of(resource)
    except UnreadableGraphEvent:
        return None


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def single_transaction_id(marker: str, planned: datetime) -> str:
    return str(uuid.uuid5(TRANSACTIONS, f"{marker} {_stamp(planned)}"))


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def wanted_singles(event: OutgoingEvent) -> dict[datetime, Span]:
    """Planned start -> where the occurrence takes place, for every occurrence not cancelled: its planned time, or
    its new time when it was rescheduled (an event without a rule is its one occurrence). A rule that cannot be
    expanded at all is refused."""
    if not event.rrule:
        return {event.starts_at: (event.starts_at, event.ends_at)}
    try:
        planned = occurrence_starts(event.rrule, event.starts_at, event.time_zone)
    except RecurrenceError as exc:
        raise ProviderError(f"the series cannot be expanded: {exc.reason}") from exc
    moved = {occurrence.planned_start: (occurrence.starts_at, occurrence.ends_at) for occurrence in event.moved}
    cancelled = set(event.exdates)
    length = event.ends_at - event.starts_at
    return {start: moved.get(start, (start, start + length)) for start in planned if start not in cancelled}


def _single(event: OutgoingEvent, planned: datetime, span: Span, *, creating: bool) -> dict[str, Any]:
    """The body of the single standing for the occurrence planned at `planned`."""
    body = event_body(replace(event, starts_at=span[0], ends_at=span[1], rrule=None, exdates=(), moved=()),
                      creating=creating)
    body["singleValueExtendedProperties"] = [*body["singleValueExtendedProperties"],
                                             {"id": PLANNED_PROPERTY_ID, "value": _stamp(planned)}]
    if creating:
        body["transactionId"] = single_transaction_id(event.marker, planned)
    return body


def _words(text: Any) -> str:
    """Text with its runs of white space as single spaces (Graph may give line ends back as CR LF)."""
    return " ".join(str(text or "").split())


def _as_wanted(item: dict[str, Any], event: OutgoingEvent, span: Span) -> bool:
    """Whether a single already says what Lockstep writes: its times, subject, text and (with a colour) category."""
    body = item.get("body")
    text = body.get("content") if isinstance(body, dict) else None
    return ((instant(item.get("start")), instant(item.get("end"))) == span
            and item.get("subject") == event.summary and _words(text) == _words(event.description)
            and (not event.colour or list(item.get("categories") or []) == [category_for(event.colour)[0]]))


async def _listing(http: GraphSession, calendar_path: str, condition: str) -> list[dict[str, Any]]:
    params = [("$filter", f"singleValueExtendedProperties/Any(ep: {condition})"), _EXPAND, ("$top", "1000")]
    return await http.collection("events.list", f"{calendar_path}/events", params, headers=_TEXT_BODIES)


async def members_of(http: GraphSession, calendar_path: str, marker: str) -> list[dict[str, Any]]:
    """Every event of the calendar carrying the series' marker (its singles, and any series event written for it
    earlier), in full, with both of Lockstep's properties."""
    return await _listing(http, calendar_path,
                          f"ep/id eq {_literal(MARKER_PROPERTY_ID)} and ep/value eq {_literal(marker)}")


async def every_single(http: GraphSession, calendar_path: str) -> list[dict[str, Any]]:
    """Every single of every group in the calendar, in full, with both of Lockstep's properties."""
    return await _listing(http, calendar_path, f"ep/id eq {_literal(PLANNED_PROPERTY_ID)}")


async def put_group(http: GraphSession, calendar_path: str, event: OutgoingEvent, *, existing: bool) -> Written:
    """Make the calendar's singles of the series what Lockstep wants: the missing ones created, the ones at another
    time or with another subject, text or category patched, the ones no longer wanted deleted (and an event of the
    marker that is not a single, a series written for it before, with them). `existing`: the group was written
    before, so a calendar holding none of it had them deleted by hand (NotFound)."""
    wanted = wanted_singles(event)
    found = await members_of(http, calendar_path, event.marker)
    if existing and wanted and not found:
        raise NotFound("every event of the series was deleted in the calendar")
    kept: dict[datetime, dict[str, Any]] = {}
    extra: list[str] = []
    for item in found:
        planned = _planned(item) if group_of(item) else None
        if planned is not None and planned in wanted and planned not in kept:
            kept[planned] = item
        else:
            extra.append(str(item["id"]))
    creating = [planned for planned in sorted(wanted) if planned not in kept]
    patching = [planned for planned, item in sorted(kept.items()) if not _as_wanted(item, event, wanted[planned])]
    results = await asyncio.gather(*(_create(http, calendar_path, event, planned, wanted[planned])
                                     for planned in creating),
                                   *(_patch(http, str(kept[planned]["id"]), event, planned, wanted[planned])
                                     for planned in patching),
                                   *(_delete(http, event_id) for event_id in extra))
    written = dict(zip([*creating, *patching], results[:len(creating) + len(patching)], strict=True))
    return Written(group_id(event.marker), _digest({**kept, **written}.values()))


async def delete_group(http: GraphSession, calendar_path: str, marker: str) -> None:
    """Delete every single of the group; NotFound when the calendar holds none."""
    found = await members_of(http, calendar_path, marker)
    if not found:
        raise NotFound("no event of the series is left in the calendar")
    await asyncio.gather(*(_delete(http, str(item["id"])) for item in found))


async def _create(http: GraphSession, calendar_path: str, event: OutgoingEvent, planned: datetime,
                  span: Span) -> dict[str, Any]:
    answer = await http.ok("events.create", "POST", f"{calendar_path}/events",
                           body=_single(event, planned, span, creating=True), headers=_TEXT_BODIES)
    made = dict(answer.body)
    if _as_wanted(made, event, span):
        return made
    # The transaction was used: an earlier attempt made the single, and the booking changed since.
    return await _patch(http, str(made["id"]), event, planned, span)


async def _patch(http: GraphSession, event_id: str, event: OutgoingEvent, planned: datetime,
                 span: Span) -> dict[str, Any]:
    answer = await http.ok("event.update", "PATCH", event_path(event_id),
                           body=_single(event, planned, span, creating=False), headers=_TEXT_BODIES)
    return dict(answer.body)


async def _delete(http: GraphSession, event_id: str) -> None:
    answer = await http.call("event.delete", "DELETE", event_path(event_id))
    if not answer.ok and answer.status != 404:  # gone already: as wanted
        raise answer.error()


def _digest(items: Any) -> str:
    pairs = sorted((str(item["id"]), str(item.get("@odata.etag", ""))) for item in items)
    return hashlib.sha256(json.dumps(pairs).encode()).hexdigest()[:_DIGEST_LENGTH]
