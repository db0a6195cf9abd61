"""The OData pieces of a Graph request the fake honours: Prefer headers, paging ($top, $skip, odata.maxpagesize),
$select, and the two extended-property forms of $filter (an id, or an id and a value: `.../Any(ep: ep/id eq 'x' and
ep/value eq 'y')`) and of $expand (one id, or several joined by `or`) Lockstep uses to find its own events.

Terms:
- *extended property id*: `"{type} {guid} Name {name}"` (or `... Id 0x8012`); type and GUID compare without case,
  the name with case, as Graph filters do; values compare without case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.microsoft_errors import GraphError
from tests.fakes.microsoft_render import View
from tests.fakes.microsoft_store import Mailbox
from tests.fakes.microsoft_times import zone

MAX_TOP = 1000
_LITERAL = r"'((?:[^']|'')*)'"
_FILTER = re.compile(rf"singleValueExtendedProperties/any\((\w+):\s*\1/id eq {_LITERAL}"
                     rf"(?:\s+and\s+\1/value eq {_LITERAL})?\)", re.IGNORECASE)
_ID_IS = rf"id eq {_LITERAL}"
_EXPAND = re.compile(rf"singleValueExtendedProperties\(\$filter=\s*({_ID_IS}(?:\s+or\s+{_ID_IS})*)\s*\)",
                     re.IGNORECASE)


@dataclass(frozen=True)
class Preferences:
    view: View
    max_page_size: int | None
    applied: tuple[str, ...]

    def headers(self) -> dict[str, str]:
        return {"Preference-Applied": ", ".join(self.applied)} if self.applied else {}


PREFS = web.RequestKey("prefs", Preferences)
MAILBOX = web.RequestKey("mailbox", Mailbox)  # the caller's, by its token


def preferences(request: web.Request) -> Preferences:
    """What the request's Prefer headers ask for (repeated headers and comma-separated lists both count)."""
    wanted: dict[str, str] = {}
    for header in request.headers.getall("Prefer", []):
        for part in header.split(","):
            name, _, value = part.strip().partition("=")
            if name:
                wanted[name.strip().lower()] = value.strip().strip('"')
    applied: list[str] = []
    answer_zone = "UTC"
    if "outlook.timezone" in wanted:
        zone(wanted["outlook.timezone"])
        answer_zone = wanted["outlook.timezone"]
        applied.append(f'outlook.timezone="{answer_zone}"')
    immutable = wanted.get("idtype", "").lower() == "immutableid"
    if immutable:
        applied.append('IdType="ImmutableId"')
    page: int | None = None
    if wanted.get("odata.maxpagesize", "").isdigit() and int(wanted["odata.maxpagesize"]) > 0:
        page = int(wanted["odata.maxpagesize"])
        applied.append(f"odata.maxpagesize={page}")
    if "outlook.body-content-type" in wanted:
        applied.append(f'outlook.body-content-type="{wanted["outlook.body-content-type"]}"')
    return Preferences(View(answer_zone, immutable), page, tuple(applied))


def _number(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise GraphError(400, "BadRequest", f"Invalid value '{raw}' for query option '{name}'.")
    return int(raw)


def page_of(request: web.Request, items: list[dict[str, Any]], cap: int,
            prefs: Preferences) -> dict[str, Any]:
    """One page of a listing and, when more follow, the @odata.nextLink that continues it with $skip."""
    sizes = [cap, min(_number(request, "$top") or cap, MAX_TOP)]
    if prefs.max_page_size:
        sizes.append(prefs.max_page_size)
    size = max(1, min(sizes))
    skip = _number(request, "$skip") or 0
    body: dict[str, Any] = {"value": items[skip:skip + size]}
    if skip + size < len(items):
        body["@odata.nextLink"] = str(request.url.update_query({"$skip": str(skip + size)}))
    return body


def selected(request: web.Request, item: dict[str, Any]) -> dict[str, Any]:
    """An item cut to $select (id and @odata.etag always stay)."""
    wanted = request.query.get("$select")
    if not wanted:
        return item
    fields = {name.strip() for name in wanted.split(",")} | {"id", "@odata.etag", "singleValueExtendedProperties"}
    return {key: value for key, value in item.items() if key in fields}


def _literal(value: str) -> str:
    return value.replace("''", "'")


def property_key(property_id: str) -> tuple[str, ...]:
    parts = property_id.split(" ", 3)
    if len(parts) != 4:
        return (property_id,)
    return parts[0].lower(), parts[1].lower(), parts[2].lower(), parts[3]


def extended_filter(request: web.Request) -> tuple[str, str | None] | None:
    """(property id, value or None) of `$filter=singleValueExtendedProperties/Any(...)`, the one filter the fake
    reads; 400 for any other."""
    raw = request.query.get("$filter")
    if raw is None:
        return None
    match = _FILTER.fullmatch(raw.strip())
    if match is None:
        raise GraphError(400, "BadRequest", "Invalid filter clause")
    return _literal(match.group(2)), None if match.group(3) is None else _literal(match.group(3))


def matches(extended: list[dict[str, str]], wanted: tuple[str, str | None]) -> bool:
    return any(property_key(prop["id"]) == property_key(wanted[0])
               and (wanted[1] is None or prop["value"].lower() == wanted[1].lower()) for prop in extended)


def expanded(request: web.Request, item: dict[str, Any], extended: list[dict[str, str]]) -> dict[str, Any]:
    """The item with `singleValueExtendedProperties` when $expand asks for one it has (only those asked for)."""
    raw = request.query.get("$expand")
    if raw is None:
        return item
    match = _EXPAND.fullmatch(raw.strip())
    if match is None:
        raise GraphError(400, "BadRequest", f"Parsing OData Select and Expand failed: could not find '{raw}'.")
    wanted = {property_key(_literal(literal)) for literal in re.findall(_ID_IS, match.group(1), re.IGNORECASE)}
    found = [dict(prop) for prop in extended if property_key(prop["id"]) in wanted]
    if found:
        return {**item, "singleValueExtendedProperties": found}
    return item
