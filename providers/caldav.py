"""The CalDAV provider (iCloud, Fastmail, Nextcloud and any RFC 4791 server) on aiohttp.

It speaks WebDAV directly rather than through the `caldav` library because the sync engine needs exact control:
conditional writes (If-None-Match / If-Match) whose 412 must surface as PreconditionFailed, an expired sync token
(403/412 valid-sync-token) that must surface as CursorExpired instead of a silent full refetch, truncated sync
answers (507) followed page by page, and one HTTP stack shared with the other providers.

Terms:
- *calendar id*, *event id*: absolute URLs of the calendar collection and of the calendar object resource.
- *sync token*: the collection's RFC 6578 version; a sync-collection REPORT with it lists the members changed or
  removed since. *ctag*: calendarserver.org's getctag, which changes whenever any member changes; the fallback
  for servers without sync-collection.
- *cursor*: `sync:<sync token>`, `ctag:<ctag>`, or `full:` for a server that gives neither (every fetch is then a
  complete listing); anything else is treated as expired.
"""

from __future__ import annotations

import logging
import re
from contextlib import suppress
from datetime import UTC, datetime
from urllib.parse import quote

from domain.ical_spans import expansion_window
from domain.intervals import Span
from providers.base import (
    Changes,
    CursorExpired,
    NotFound,
    OutgoingEvent,
    PreconditionFailed,
    ProviderError,
    RemoteCalendar,
    RemoteEvent,
    Subscription,
    Written,
)
from providers.caldav_discovery import (
    DEFAULT_SERVER_URLS,
    CaldavAccount,
    CaldavServerType,
    discover,
    home_calendars,
    multistatus_of,
    server_url_for,
)
from providers.caldav_http import (
    ICALENDAR,
    Answer,
    CaldavCredentials,
    ConnectionCheckFailed,
    ConnectionProblem,
    DavSession,
    absolute,
    collection,
    on_wire,
    shown,
)
from providers.caldav_xml import (
    CALENDAR_DATA,
    COLLECTION,
    CTAG,
    GETETAG,
    NO_UID_CONFLICT,
    RESOURCETYPE,
    SYNC_TOKEN,
    calendar_multiget,
    calendar_query,
    preconditions,
    propfind,
    sync_collection,
)
from providers.closing import ClosedOnExit
from providers.ical import outgoing_to_ical

__all__ = [
    "DEFAULT_SERVER_URLS",
    "CaldavAccount",
    "CaldavCredentials",
    "CaldavProvider",
    "CaldavServerType",
    "ConnectionCheckFailed",
    "ConnectionProblem",
    "discover",
    "server_url_for",
]

_STRONG_ETAG = re.compile(r'"[^"]*"')
# Statuses of a failed sync-collection REPORT that a listing would meet too: the password, the calendar gone, or
# the server asking to slow down.
_NOT_FOR_A_LISTING = frozenset({401, 404, 410, 429, 503})
log = logging.getLogger("lockstep.providers.caldav")
# A server error (500) that one object can cause: the server failed to evaluate it (a malformed RRULE, say) while
# answering for many. 502/504 come from a proxy and 503 asks to slow down: those are about the server, not an object.
_OBJECT_FAILURE = 500


def _as_href(url: str, calendar: str) -> str:
    """`url` as an href in a request about `calendar`: only the path when both share an origin, which every
    server accepts, else the absolute URL."""
    origin = calendar[:calendar.index("/", calendar.index("//") + 2)]
    return on_wire(url[len(origin):] if url.startswith(origin + "/") else url)


class CaldavProvider(ClosedOnExit):
    """One CalDAV account (CalendarProvider). Close it with `aclose()` or use it as an async context manager."""

    multiget_chunk = 200  # hrefs per calendar-multiget: large enough to be quick, small enough for any server
    max_unreadable = 50  # objects a server may fail on, with none served, before the failure is the server's
    max_sync_pages = 100  # a server that keeps truncating (507) is given up on rather than followed forever

    def __init__(self, credentials: CaldavCredentials, home_url: str, *, timeout: float = 30.0) -> None:
        self._dav = DavSession(credentials, timeout)
        self._home_url = collection(absolute(credentials.server_url, home_url))

    async def aclose(self) -> None:
        await self._dav.aclose()

    async def list_calendars(self) -> list[RemoteCalendar]:
        return await home_calendars(self._dav, self._home_url)

    # -- reading ------------------------------------------------------------------------------------------------

    async def fetch_changes(self, calendar_id: str, cursor: str | None, window: Span) -> Changes:
        calendar = collection(calendar_id)
        if cursor is None:
            return await self._listing(calendar, window)
        kind, _, value = cursor.partition(":")
        if kind == "full":
            return await self._listing(calendar, window)  # the server keeps no version: list everything again
        if kind not in ("sync", "ctag") or not value:
            raise CursorExpired("the sync cursor is not one this provider issued")
        # Only the version the cursor holds is asked for: a server may compute each by reading every member
        # (Radicale does), so asking for both doubles the cost of the cheap check.
        now = await self._version(calendar, SYNC_TOKEN if kind == "sync" else CTAG)
        if now == value:
            return Changes((), (), cursor, complete=False)  # the cheap check: nothing changed
        if kind == "ctag":
            return await self._listing(calendar, window)  # no sync-collection: list everything again
        return await self._since(calendar, value, window)

    async def _version(self, calendar: str, name: str) -> str:
        """The collection's current sync token or ctag (`name`); "" when the server does not have it."""
        answer = await self._dav.request("PROPFIND", calendar, body=propfind((name,)), depth="0")
        responses = multistatus_of(answer).responses
        if not responses or responses[0].status == 404:  # some servers answer 207 with a 404 inside
            raise NotFound(f"{answer.what}: the calendar is gone")
        return responses[0].text(name)

    async def _state(self, calendar: str) -> tuple[str, str]:
        """The collection's current sync token, or else its ctag ("" for what the server does not have): the
        ctag is asked for only when there is no sync token, which is then all that is used."""
        token = await self._version(calendar, SYNC_TOKEN)
        return token, "" if token else await self._version(calendar, CTAG)

    async def _listing(self, calendar: str, window: Span) -> Changes:
        # The version is read before the listing: a change made in between shows up again next time instead of
        # being lost.
        token, ctag = await self._state(calendar)
        # The server compares all-day dates and floating times as if they were UTC (RFC 4791), so the query asks
        # for the widened window and the domain clips to the exact one in the staff member's zone.
        wide = expansion_window(window)
        answer = await self._dav.request("REPORT", calendar, body=calendar_query(wide.start, wide.end), depth="1")
        unreadable: list[str] = []
        if answer.status == _OBJECT_FAILURE:
            # One object the server cannot evaluate fails the whole query on some servers (Xandikos, for one): list
            # the members instead and fetch them in chunks, leaving out only what the server cannot give.
            log.warning("caldav %s failed (500); listing the calendar's members instead", answer.what)
            events, unreadable = await self._multiget(calendar, await self._members(calendar))
        else:
            events = self._events(answer, calendar)
        cursor = f"sync:{token}" if token else f"ctag:{ctag}" if ctag else "full:"
        return Changes(tuple(sorted(events.values(), key=lambda event: event.event_id)), (), cursor, complete=True,
                       unreadable=tuple(sorted(unreadable)))

    async def _members(self, calendar: str) -> list[str]:
        """Every calendar object in the collection (PROPFIND Depth 1), whatever its dates."""
        answer = await self._dav.request("PROPFIND", calendar, body=propfind((GETETAG, RESOURCETYPE)), depth="1")
        members = []
        for response in multistatus_of(answer).responses:
            url = absolute(answer.url, response.href)
            kind = response.props.get(RESOURCETYPE)
            if collection(url) != calendar and (kind is None or kind.find(COLLECTION) is None):
                members.append(url)
        return sorted(members)

    async def _since(self, calendar: str, token: str, window: Span) -> Changes:
        changed: dict[str, bool] = {}  # event id -> still there (later pages win)
        for _ in range(self.max_sync_pages):
            answer = await self._dav.request("REPORT", calendar, body=sync_collection(token), depth="0")
            if answer.expired_sync_token():
                raise CursorExpired(f"{answer.what}: the server no longer accepts the sync token")
            if answer.status != 207 and answer.status not in _NOT_FOR_A_LISTING:
                # The collection has a sync token, yet the report fails: not implemented (501), refused after a
                # delete (418: Infomaniak, older sabre/dav), or a token the server cannot read (500: Xandikos).
                # A complete listing is what an expired token leads to anyway; the next fetch tries again.
                log.info("caldav %s answered %s: listing the calendar instead", answer.what, answer.status)
                return await self._listing(calendar, window)
            status = multistatus_of(answer)
            truncated = False
            for response in status.responses:
                url = absolute(answer.url, response.href)
                if collection(url) == calendar:
                    truncated = truncated or response.status == 507
                    continue
                changed[url] = response.status not in (404, 410)
            token = status.sync_token or token
            if not truncated:
                break
        else:
            raise ProviderError(f"REPORT sync-collection: still truncated after {self.max_sync_pages} pages")
        if not changed:
            # The version moved (the cheap check said so), yet no member is listed: the server lost the change
            # (Bedework lists nothing after a delete). Only a complete listing can show what went.
            return await self._listing(calendar, window)
        events, unreadable = await self._multiget(calendar,
                                                  sorted(url for url, present in changed.items() if present))
        failed = set(unreadable)
        deleted = sorted(url for url, present in changed.items()
                         if not present or (url not in events and url not in failed))
        return Changes(tuple(events[url] for url in sorted(events)), tuple(deleted), f"sync:{token}",
                       complete=False, unreadable=tuple(sorted(unreadable)))

    async def _multiget(self, calendar: str, urls: list[str]) -> tuple[dict[str, RemoteEvent], list[str]]:
        """The objects at `urls`, fetched in chunks, and the urls the server failed on (500) one by one: a chunk
        that fails is halved until the objects that cause it stand alone."""
        events: dict[str, RemoteEvent] = {}
        unreadable: list[str] = []
        chunks = [urls[first:first + self.multiget_chunk] for first in range(0, len(urls), self.multiget_chunk)]
        while chunks:
            chunk = chunks.pop(0)
            hrefs = [_as_href(url, calendar) for url in chunk]
            answer = await self._dav.request("REPORT", calendar, body=calendar_multiget(hrefs), depth="1")
            if answer.status != _OBJECT_FAILURE:
                events.update(self._events(answer, calendar))
            elif len(chunk) > 1:
                half = len(chunk) // 2
                chunks[:0] = [chunk[:half], chunk[half:]]
            else:
                log.warning("caldav %s: the server failed on %s alone; it is left out", answer.what, shown(chunk[0]))
                unreadable.append(chunk[0])
                if not events and len(unreadable) >= self.max_unreadable:
                    raise answer.error()  # it fails on everything: the server is in trouble, not one object
        return events, unreadable

    @staticmethod
    def _events(answer: Answer, calendar: str) -> dict[str, RemoteEvent]:
        """The calendar objects of a calendar-query or multiget answer, by event id; members the server reports
        as gone (a multiget of a member deleted meanwhile) are left out."""
        events = {}
        for response in multistatus_of(answer).responses:
            data = response.props.get(CALENDAR_DATA)
            if data is None or not data.text:
                continue
            url = absolute(answer.url, response.href)
            events[url] = RemoteEvent(url, response.text(GETETAG), data.text)
        return events

    # -- writing ------------------------------------------------------------------------------------------------

    async def put_event(self, calendar_id: str, event: OutgoingEvent, *, event_id: str | None = None,
                        etag: str | None = None) -> Written:
        body = outgoing_to_ical(event, datetime.now(UTC)).encode()
        if event_id is None:
            url = absolute(collection(calendar_id), quote(event.marker, safe="") + ".ics")
            answer = await self._put(url, body, {"If-None-Match": "*"})
            if answer.status == 412:
                # The object exists: an earlier attempt wrote it (the marker is ours and stable), so replace it.
                answer = await self._put(url, body, {})
        else:
            url = absolute(collection(calendar_id), event_id)
            answer = await self._put(url, body, {"If-Match": etag} if etag else {})
            if answer.status == 412:
                raise await self._refusal(url, answer)
            if answer.status in (403, 409) and NO_UID_CONFLICT in preconditions(answer.body):
                # The object holds another UID: an event someone else wrote, taken over as a booking's. Servers may
                # refuse to change an object's UID in place (Radicale does, RFC 4791 no-uid-conflict), so Lockstep's
                # own object takes its place.
                return await self._replace(url, calendar_id, event, etag)
        if answer.status not in (200, 201, 204):
            raise answer.error()
        if answer.status == 201 and answer.headers.get("Location"):
            url = absolute(url, answer.headers["Location"])  # the server chose the object's name itself
        etag = answer.headers.get("ETag", "")
        # Only a strong entity-tag can ever match in If-Match (RFC 9110 section 13.1.1): a weak one (GMX), a
        # percent-encoded one (Bedework) or none at all is read again from the stored object.
        return Written(url, etag if _STRONG_ETAG.fullmatch(etag) else await self._etag(url))

    async def _replace(self, url: str, calendar_id: str, event: OutgoingEvent, etag: str | None) -> Written:
        """Delete the object at `url` (still at `etag` when one is given) and create the event as Lockstep's own."""
        with suppress(NotFound):
            await self.delete_event(calendar_id, url, etag=etag)
        return await self.put_event(calendar_id, event)

    async def _put(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        return await self._dav.request("PUT", url, body=body, content_type=ICALENDAR, headers=headers)

    async def _etag(self, url: str) -> str:
        """The etag of an object whose PUT answer had none (servers may omit it when they altered the data)."""
        answer = await self._dav.request("PROPFIND", url, body=propfind((GETETAG,)), depth="0")
        responses = multistatus_of(answer).responses
        return responses[0].text(GETETAG) if responses else ""

    async def _refusal(self, url: str, answer: Answer) -> ProviderError:
        """Why a conditional request got 412: servers answer 412 rather than 404 when the object is gone."""
        check = await self._dav.request("PROPFIND", url, body=propfind((GETETAG,)), depth="0")
        # a missing object is an HTTP 404 (Radicale) or a 207 with a 404 inside (Xandikos)
        gone = check.status == 404 or (check.status == 207 and any(
            response.status == 404 for response in multistatus_of(check).responses))
        if gone:
            return NotFound(f"{answer.what}: the event is gone")
        return PreconditionFailed(f"{answer.what}: the event changed since it was read")

    async def delete_event(self, calendar_id: str, event_id: str, *, etag: str | None = None,
                           reason: str = "") -> None:
        url = absolute(collection(calendar_id), event_id)
        answer = await self._dav.request("DELETE", url, headers={"If-Match": etag} if etag else {})
        if answer.status == 412:
            raise await self._refusal(url, answer)
        if answer.status == 403 and not preconditions(answer.body) and await self._listed_gone(url, calendar_id):
            # Robur answers 403 for any object that does not exist; a multiget of the calendar says 404 for it.
            raise NotFound(f"{answer.what}: the event is gone")
        if answer.status not in (200, 202, 204):
            raise answer.error()

    async def _listed_gone(self, url: str, calendar_id: str) -> bool:
        calendar = collection(calendar_id)
        answer = await self._dav.request("REPORT", calendar, body=calendar_multiget([_as_href(url, calendar)]),
                                         depth="1")
        return answer.status == 207 and any(response.status == 404 for response in multistatus_of(answer).responses)

    # -- push: CalDAV has none, polling with the cheap check stands in ------------------------------------------

    async def watch(self, calendar_id: str, address: str, token: str) -> Subscription | None:
        return None

    async def renew(self, subscription: Subscription) -> Subscription | None:
        """CalDAV has no channels."""
        return None

    async def unwatch(self, subscription: Subscription) -> None:
        return None
