"""WebDAV / CalDAV request bodies and multistatus parsing (RFC 4918, RFC 4791, RFC 6578).

Terms:
- *multistatus*: the 207 answer of PROPFIND and REPORT: one `response` per resource (its *href*), each with either
  one status for the whole resource (a member removed since a sync token answers 404) or *propstats* that group
  properties by status; only properties under a 200 propstat are kept here.
- *precondition*: the element a server puts in a `DAV:error` body to say which rule a request broke
  (`DAV:valid-sync-token`, `CALDAV:no-uid-conflict`).

Parsing uses the standard library's ElementTree: it is fast enough for thousands of events in one answer and it
never fetches external entities. Bodies are built from fixed templates; the only values put into them (hrefs,
tokens, UTC times) are escaped.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.sax.saxutils import escape

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
CALSERVER = "http://calendarserver.org/ns/"
APPLE = "http://apple.com/ns/ical/"

_PREFIXES = {DAV: "D", CALDAV: "C", CALSERVER: "CS", APPLE: "I"}
_DECLARATIONS = " ".join(f'xmlns:{prefix}="{uri}"' for uri, prefix in _PREFIXES.items())
_HEAD = '<?xml version="1.0" encoding="utf-8"?>\n'


def tag(namespace: str, name: str) -> str:
    """The ElementTree name of an element: `{namespace}name`."""
    return f"{{{namespace}}}{name}"


HREF = tag(DAV, "href")
RESOURCETYPE = tag(DAV, "resourcetype")
COLLECTION = tag(DAV, "collection")
DISPLAYNAME = tag(DAV, "displayname")
SYNC_TOKEN = tag(DAV, "sync-token")
GETETAG = tag(DAV, "getetag")
PRIVILEGES = tag(DAV, "current-user-privilege-set")
PRINCIPAL = tag(DAV, "current-user-principal")
CTAG = tag(CALSERVER, "getctag")
CALENDAR = tag(CALDAV, "calendar")
CALENDAR_DATA = tag(CALDAV, "calendar-data")
CALENDAR_HOME = tag(CALDAV, "calendar-home-set")
ADDRESSES = tag(CALDAV, "calendar-user-address-set")
COMPONENTS = tag(CALDAV, "supported-calendar-component-set")
CALENDAR_TIMEZONE = tag(CALDAV, "calendar-timezone")
COLOUR = tag(APPLE, "calendar-color")
VALID_SYNC_TOKEN = tag(DAV, "valid-sync-token")
NO_UID_CONFLICT = tag(CALDAV, "no-uid-conflict")

# The properties of a calendar collection that list_calendars and discovery read.
CALENDAR_PROPS = (RESOURCETYPE, DISPLAYNAME, COMPONENTS, COLOUR, CALENDAR_TIMEZONE, PRIVILEGES)
# What says whether a collection changed: the sync token where the server has one, the ctag otherwise.
STATE_PROPS = (SYNC_TOKEN, CTAG)
_WRITE_PRIVILEGES = frozenset({tag(DAV, "all"), tag(DAV, "write"), tag(DAV, "write-content")})


def _element(name: str) -> str:
    namespace, _, local = name[1:].partition("}")
    return f"<{_PREFIXES[namespace]}:{local}/>"


def propfind(names: Iterable[str]) -> bytes:
    props = "".join(_element(name) for name in names)
    return f"{_HEAD}<D:propfind {_DECLARATIONS}><D:prop>{props}</D:prop></D:propfind>".encode()


def _utc(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar_query(start: datetime, end: datetime) -> bytes:
    """Every VEVENT object overlapping [start, end) (recurrence-aware on the server), with its etag and its full,
    unexpanded calendar data: the domain expands recurrences itself, with the exceptions the object carries."""
    return (f'{_HEAD}<C:calendar-query {_DECLARATIONS}><D:prop><D:getetag/><C:calendar-data/></D:prop>'
            '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
            f'<C:time-range start="{_utc(start)}" end="{_utc(end)}"/>'
            '</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>').encode()


def sync_collection(token: str) -> bytes:
    return (f'{_HEAD}<D:sync-collection {_DECLARATIONS}><D:sync-token>{escape(token)}</D:sync-token>'
            '<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>').encode()


def calendar_multiget(hrefs: Iterable[str]) -> bytes:
    listed = "".join(f"<D:href>{escape(href)}</D:href>" for href in hrefs)
    return (f'{_HEAD}<C:calendar-multiget {_DECLARATIONS}><D:prop><D:getetag/><C:calendar-data/></D:prop>'
            f'{listed}</C:calendar-multiget>').encode()


@dataclass(frozen=True)
class DavResponse:
    """One `response` of a multistatus: `status` is the whole-resource status when the server gave one (404 for
    a member removed since a sync token, 507 for a truncated sync answer), else None."""

    href: str
    status: int | None
    props: dict[str, ET.Element] = field(default_factory=dict)

    def text(self, name: str) -> str:
        element = self.props.get(name)
        return (element.text or "").strip() if element is not None else ""

    def hrefs(self, name: str) -> tuple[str, ...]:
        """The hrefs inside a property such as calendar-home-set (empty when the property is absent)."""
        element = self.props.get(name)
        if element is None:
            return ()
        return tuple((href.text or "").strip() for href in element.iter(HREF) if (href.text or "").strip())


@dataclass(frozen=True)
class Multistatus:
    responses: tuple[DavResponse, ...]
    sync_token: str


class NotMultistatus(ValueError):
    """The body is not a DAV:multistatus document."""


def status_code(line: str | None) -> int | None:
    """200 from `HTTP/1.1 200 OK`; None when there is no status line."""
    if not line:
        return None
    parts = line.split()
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def parse_multistatus(body: bytes) -> Multistatus:
    try:
        root = ET.fromstring(body)
    except ET.ParseError as error:
        raise NotMultistatus("the answer is not XML") from error
    if root.tag != tag(DAV, "multistatus"):
        raise NotMultistatus("the answer is not a DAV multistatus")
    responses = []
    for response in root.iterfind(tag(DAV, "response")):
        props: dict[str, ET.Element] = {}
        for propstat in response.iterfind(tag(DAV, "propstat")):
            if status_code(propstat.findtext(tag(DAV, "status"))) != 200:
                continue  # properties the resource does not have (404) or that we may not read (403)
            for prop in propstat.iterfind(tag(DAV, "prop")):
                props.update((child.tag, child) for child in prop)
        href = (response.findtext(HREF) or "").strip()
        responses.append(DavResponse(href, status_code(response.findtext(tag(DAV, "status"))), props))
    return Multistatus(tuple(responses), (root.findtext(SYNC_TOKEN) or "").strip())


def preconditions(body: bytes) -> frozenset[str]:
    """The preconditions named by a DAV:error body; empty when the body is not one."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return frozenset()
    if root.tag != tag(DAV, "error"):
        return frozenset()
    return frozenset(child.tag for child in root)


def is_event_calendar(response: DavResponse) -> bool:
    """A calendar collection that can hold events: resourcetype has CALDAV:calendar and the supported component
    set, when the server gives one, names VEVENT."""
    resourcetype = response.props.get(RESOURCETYPE)
    if resourcetype is None or resourcetype.find(CALENDAR) is None:
        return False
    components = response.props.get(COMPONENTS)
    if components is None:
        return True
    return any(comp.get("name", "").upper() == "VEVENT" for comp in components.iter(tag(CALDAV, "comp")))


def is_writable(response: DavResponse) -> bool:
    """From current-user-privilege-set when the server gives it; servers that don't are assumed writable."""
    privileges = response.props.get(PRIVILEGES)
    if privileges is None:
        return True
    granted = {child.tag for privilege in privileges.iterfind(tag(DAV, "privilege")) for child in privilege}
    return bool(granted & _WRITE_PRIVILEGES)
