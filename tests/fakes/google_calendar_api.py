"""The Calendar API v3 handlers of the fake Google (tests/fakes/google.py): calendarList, events (list with paging
and sync tokens, get, insert, patch, delete, instances, watch) and channels.stop, answering as Google does
(docs/providers.md, "Google Calendar API v3"). A mixin of FakeGoogle, which holds the state these handlers read and
change.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from aiohttp import web

from tests.fakes.google_channels import MAX_TTL_SECONDS, Channel, Channels
from tests.fakes.google_recurrence import BadTime, parse_rfc3339, rfc3339
from tests.fakes.google_store import ApiError, FakeCalendar, Store, not_found

_SYNC_RESTRICTIONS = {"iCalUID", "orderBy", "privateExtendedProperty", "q", "sharedExtendedProperty", "timeMin",
                      "timeMax", "updatedMin"}
_CHANNEL_ID = re.compile(r"[A-Za-z0-9\-_+/=]{1,64}")


@dataclass
class Pages:
    """The rest of a listing, handed out page by page under a page token."""

    items: list[dict[str, Any]]
    sync_token: str | None
    envelope: dict[str, Any] = field(default_factory=dict)


def _bool(value: str | None, default: bool = False) -> bool:
    return default if value is None else value == "true"


class CalendarApi:
    # The fake's state, set by FakeGoogle.__init__.
    store: Store
    channels: Channels
    page_limit: int | None
    empty_first_page: bool
    _lock: threading.RLock
    _pages: dict[str, Pages]
    _changed: Callable[[FakeCalendar], None]
    url: str  # where the fake listens

    @property
    def api_url(self) -> str:
        return f"{self.url}/calendar/v3/"

    def _calendar_of(self, request: web.Request) -> FakeCalendar:
        return self.store.calendar(request.match_info["calendarId"])

    def _page(self, items: list[dict[str, Any]], size: int, sync_token: str | None,
              envelope: dict[str, Any]) -> dict[str, Any]:
        """One page of `items`, registering the rest under a page token; the last page carries the sync token."""
        limit = min(size, self.page_limit) if self.page_limit else size
        first = [] if self.empty_first_page and items and not envelope.get("_continued") else items[:limit]
        rest = items[len(first):]
        answer = {key: value for key, value in envelope.items() if not key.startswith("_")}
        answer["items"] = first
        if rest:
            token = secrets.token_urlsafe(16)
            self._pages[token] = Pages(rest, sync_token, {**envelope, "_continued": True, "_size": size})
            answer["nextPageToken"] = token
        elif sync_token is not None:
            answer["nextSyncToken"] = sync_token
        return answer

    def _next_page(self, page_token: str) -> dict[str, Any]:
        pages = self._pages.get(page_token)
        if pages is None:
            raise ApiError(400, "invalid", "Invalid page token value.", "global", "parameter", "pageToken")
        return self._page(pages.items, pages.envelope["_size"], pages.sync_token, pages.envelope)

    @staticmethod
    def _size(request: web.Request, default: int, maximum: int) -> int:
        try:
            return max(1, min(int(request.query.get("maxResults", default)), maximum))
        except ValueError as exc:
            raise ApiError(400, "invalid", "Invalid value for maxResults", "global", "parameter",
                           "maxResults") from exc

    # -- Calendar API -------------------------------------------------------------------------------------------

    async def _calendar_list(self, request: web.Request) -> web.Response:
        with self._lock:
            if "pageToken" in request.query:
                return web.json_response(self._next_page(request.query["pageToken"]))
            items = [calendar.list_entry() for calendar in self.store.calendars.values()]
            envelope = {"kind": "calendar#calendarList", "etag": '"p33c9lvvfvs8u20g"'}
            return web.json_response(self._page(items, self._size(request, 100, 250),
                                                "CL" + secrets.token_urlsafe(12), envelope))

    def _envelope(self, calendar: FakeCalendar) -> dict[str, Any]:
        return {"kind": "calendar#events", "etag": f'"{self.store.sequence}"', "summary": calendar.summary,
                "description": "", "updated": rfc3339(datetime.now(UTC).replace(microsecond=0)),
                "timeZone": calendar.time_zone, "accessRole": calendar.access_role, "defaultReminders": []}

    async def _events_list(self, request: web.Request) -> web.Response:
        query = request.query
        with self._lock:
            calendar = self._calendar_of(request)
            if "syncToken" in query and (_SYNC_RESTRICTIONS & set(query) or query.get("showDeleted") == "false"):
                raise ApiError(400, "syncTokenWithRequestRestrictions",
                               "Sync token cannot be used with other request restrictions.", "calendar")
            if "pageToken" in query:
                return web.json_response(self._next_page(query["pageToken"]))
            single = _bool(query.get("singleEvents"))
            if "syncToken" in query:
                state = self.store.sync_tokens.get(query["syncToken"])
                if state is None:
                    raise ApiError(410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required.",
                                   "calendar", "parameter", "syncToken")
                items = self.store.changes(calendar, state)
                token = self.store.new_sync_token(state.time_min, state.time_max, state.single_events)
            else:
                items, token = self._full_listing(calendar, request, single)
            return web.json_response(self._page(items, self._size(request, 250, 2500), token,
                                                self._envelope(calendar)))

    def _full_listing(self, calendar: FakeCalendar, request: web.Request,
                      single: bool) -> tuple[list[dict[str, Any]], str]:
        query = request.query
        try:
            time_min = parse_rfc3339(query["timeMin"]) if "timeMin" in query else None
            time_max = parse_rfc3339(query["timeMax"]) if "timeMax" in query else None
        except BadTime as exc:
            raise ApiError(400, "badRequest", "Bad Request") from exc
        if time_min and time_max and time_max <= time_min:
            raise ApiError(400, "timeRangeEmpty", "The specified time range is empty.", "calendar", "parameter",
                           "timeMax")
        if query.get("orderBy") == "startTime" and not single:
            raise ApiError(400, "badRequest", "The requested ordering is not available for the particular query.")
        items = self.store.listing(calendar, time_min, time_max, single, _bool(query.get("showDeleted")))
        for wanted in query.getall("privateExtendedProperty", []):
            key, _, value = wanted.partition("=")
            items = [item for item in items
                     if item.get("extendedProperties", {}).get("private", {}).get(key) == value]
        return items, self.store.new_sync_token(time_min, time_max, single)

    def _writable(self, calendar: FakeCalendar) -> None:
        if calendar.access_role not in ("writer", "owner"):
            raise ApiError(403, "requiredAccessLevel", "You need to have writer access to this calendar.",
                           "calendar")

    async def _events_insert(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._lock:
            calendar = self._calendar_of(request)
            self._writable(calendar)
            created = self.store.insert(calendar, body)
            self._changed(calendar)
            return web.json_response(created)

    async def _events_get(self, request: web.Request) -> web.Response:
        with self._lock:
            return web.json_response(self.store.get(self._calendar_of(request), request.match_info["eventId"]))

    async def _events_patch(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._lock:
            calendar = self._calendar_of(request)
            self._writable(calendar)
            updated = self.store.patch(calendar, request.match_info["eventId"], body,
                                       request.headers.get("If-Match"))
            self._changed(calendar)
            return web.json_response(updated)

    async def _events_delete(self, request: web.Request) -> web.Response:
        with self._lock:
            calendar = self._calendar_of(request)
            self._writable(calendar)
            self.store.delete(calendar, request.match_info["eventId"], request.headers.get("If-Match"))
            self._changed(calendar)
            return web.Response(status=204)

    async def _events_instances(self, request: web.Request) -> web.Response:
        query = request.query
        with self._lock:
            calendar = self._calendar_of(request)
            if "pageToken" in query:
                return web.json_response(self._next_page(query["pageToken"]))
            master = self.store.get(calendar, request.match_info["eventId"])
            if not master.get("recurrence") or master.get("status") == "cancelled":
                raise not_found()
            try:
                low = parse_rfc3339(query["timeMin"]) if "timeMin" in query else None
                high = parse_rfc3339(query["timeMax"]) if "timeMax" in query else None
                original = parse_rfc3339(query["originalStart"]) if "originalStart" in query else None
            except BadTime as exc:
                raise ApiError(400, "badRequest", "Bad Request") from exc
            items = []
            for item in self.store.instances(calendar, master, _bool(query.get("showDeleted"))):
                planned = parse_rfc3339(item["originalStartTime"].get("dateTime") or
                                        item["originalStartTime"]["date"] + "T00:00:00+00:00")
                if original is not None and planned != original:
                    continue
                if (low and planned < low) or (high and planned >= high):
                    continue
                items.append(item)
            return web.json_response(self._page(items, self._size(request, 250, 2500), None,
                                                self._envelope(calendar)))

    async def _events_watch(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._lock:
            calendar = self._calendar_of(request)
            channel_id, address, token = body.get("id", ""), body.get("address", ""), body.get("token")
            if not _CHANNEL_ID.fullmatch(channel_id) or body.get("type") not in ("web_hook", "webhook") \
                    or not address.startswith(("https://", "http://127.0.0.1", "http://localhost")) \
                    or (token is not None and len(token) > 256):
                raise ApiError(400, "invalid", "Invalid channel.")
            if channel_id in self.channels.channels:
                raise ApiError(400, "channelIdNotUnique", "Channel id not unique.")
            now_ms = int(time.time() * 1000)
            ttl = int(body.get("params", {}).get("ttl", MAX_TTL_SECONDS))
            expires = min(now_ms + min(ttl, MAX_TTL_SECONDS) * 1000, int(body.get("expiration") or 2 ** 62))
            uri = f"{self.api_url}calendars/{quote(calendar.calendar_id, safe='')}/events?alt=json"
            channel = Channel(channel_id, calendar.resource_id, uri, calendar.calendar_id, address, token, expires)
            self.channels.channels[channel_id] = channel
            self.channels.enqueue(channel, "sync")  # may well arrive before the answer, as with Google
            answer = {"kind": "api#channel", "id": channel_id, "resourceId": channel.resource_id,
                      "resourceUri": uri, "expiration": str(expires)}
            if token is not None:
                answer["token"] = token
            return web.json_response(answer)

    async def _channels_stop(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._lock:
            channel = self.channels.channels.get(body.get("id", ""))
            if channel is None or channel.resource_id != body.get("resourceId"):
                raise ApiError(404, "notFound", f"Channel '{body.get('id', '')}' not found for project.")
            del self.channels.channels[channel.channel_id]
            return web.Response(status=204)
