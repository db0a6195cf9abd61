"""The Google Calendar provider (CalendarProvider) on aiohttp, over the Calendar API v3 (docs/providers.md,
"Google Calendar API v3").

Every URL is a constructor argument, so the fake in tests/fakes/google.py and the real API are interchangeable, and
the access token comes from an AccessTokens source (providers/tokens.py) that the caller backs with its storage.

Terms:
- *cursor*: Google's nextSyncToken. No cursor asks for a full sync of the window; both kinds of listing expand
  recurring events into instances (singleEvents=true), so each RemoteEvent is one occurrence: its payload is the
  event resource as JSON text, its event id the instance's id. Cancelled items (incremental only) are deletions.
- *series*: a recurring booking is one recurring event (see providers/google_export.py). Its moved occurrences are
  written by patching the instances Google lists for it (events.instances), never by guessing instance ids; an
  instance that differs from what Lockstep wants (moved by hand, or moved back by Lockstep) is patched again.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from domain.intervals import Span
from providers.base import (
    CancelledOccurrence,
    Changes,
    NotFound,
    OutgoingEvent,
    PreconditionFailed,
    ProviderError,
    RemoteCalendar,
    RemoteEvent,
    Subscription,
    Written,
)
from providers.closing import ClosedOnExit
from providers.google_export import event_body, event_id_for, when
from providers.google_http import DEFAULT_API_URL, Answer, GoogleSession
from providers.http_answer import Params
from providers.tokens import AccessTokens

__all__ = ["DEFAULT_API_URL", "GoogleProvider"]

_WRITABLE = {"writer", "owner"}


def _rfc3339(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _instant(value: dict[str, Any]) -> datetime | None:
    """The instant of a dateTime EventDateTime (None for an all-day date, which Lockstep never writes)."""
    text = value.get("dateTime")
    return datetime.fromisoformat(text).astimezone(UTC) if isinstance(text, str) else None


class GoogleProvider(ClosedOnExit):
    """One Google account. Close it with `aclose()` or use it as an async context manager."""

    page_size = 250  # events per page asked for; Google may answer with fewer
    max_pages = 1000  # a listing that keeps going is given up on rather than followed forever
    channel_ttl = timedelta(days=7)  # asked of a push channel; Google may grant less

    def __init__(self, tokens: AccessTokens, *, api_url: str = DEFAULT_API_URL, timeout: float = 30.0) -> None:
        self._http = GoogleSession(tokens, api_url, timeout)

    async def aclose(self) -> None:
        await self._http.aclose()

    @staticmethod
    def _events(calendar_id: str, event_id: str | None = None) -> str:
        path = f"calendars/{quote(calendar_id, safe='')}/events"
        return path if event_id is None else f"{path}/{quote(event_id, safe='')}"

    async def _ok(self, what: str, method: str, path: str, *, params: Params = (), body: Any = None,
                  headers: dict[str, str] | None = None) -> Answer:
        answer = await self._http.call(what, method, path, params=params, body=body, headers=headers)
        if not answer.ok:
            raise answer.error()
        return answer

    async def _pages(self, what: str, path: str, params: Params) -> tuple[list[dict[str, Any]], str]:
        """Every item of a paged listing, and the nextSyncToken of its last page ("" when it has none)."""
        items: list[dict[str, Any]] = []
        page: list[tuple[str, str]] = []
        for _ in range(self.max_pages):
            body = (await self._ok(what, "GET", path, params=[*params, *page])).body or {}
            items.extend(body.get("items", []))
            if not body.get("nextPageToken"):
                return items, str(body.get("nextSyncToken", ""))
            page = [("pageToken", str(body["nextPageToken"]))]
        raise ProviderError(f"{what}: still more pages after {self.max_pages}")

    # -- reading ------------------------------------------------------------------------------------------------

    async def list_calendars(self) -> list[RemoteCalendar]:
        items, _ = await self._pages("calendarList.list", "users/me/calendarList", [("maxResults", "250")])
        return [RemoteCalendar(calendar_id=item["id"], name=item.get("summaryOverride") or item.get("summary", ""),
                               colour=item.get("backgroundColor", ""), time_zone=item.get("timeZone", "UTC"),
                               writable=item.get("accessRole") in _WRITABLE, primary=bool(item.get("primary")))
                for item in items]

    async def fetch_changes(self, calendar_id: str, cursor: str | None, window: Span) -> Changes:
        # The incremental listing repeats singleEvents and maxResults of the full one, as Google requires.
        params = [("singleEvents", "true"), ("maxResults", str(self.page_size))]
        if cursor is None:
            params += [("timeMin", _rfc3339(window.start)), ("timeMax", _rfc3339(window.end))]
        else:
            params.append(("syncToken", cursor))
        items, token = await self._pages("events.list", self._events(calendar_id), params)
        if not token:
            raise ProviderError("events.list: the last page carried no sync token")
        changed: dict[str, RemoteEvent] = {}
        deleted: dict[str, CancelledOccurrence | None] = {}
        for item in items:  # an item listed twice (it changed while we paged) counts as its last listing says
            event_id = str(item["id"])
            if item.get("status") == "cancelled":
                # A cancelled instance carries only its id, its series and its planned start (docs/providers.md,
                # "Google: events list and incremental sync").
                planned = _instant(item.get("originalStartTime") or {})
                series = item.get("recurringEventId")
                deleted[event_id] = CancelledOccurrence(str(series), planned) if series and planned else None
                changed.pop(event_id, None)
            else:
                changed[event_id] = RemoteEvent(event_id, str(item.get("etag", "")), json.dumps(item, sort_keys=True))
                deleted.pop(event_id, None)
        if cursor is None:
            deleted = {}
        occurrences = tuple(occurrence for _, occurrence in sorted(deleted.items()) if occurrence is not None)
        return Changes(tuple(changed[key] for key in sorted(changed)), tuple(sorted(deleted)), token,
                       complete=cursor is None, cancelled_occurrences=occurrences)

    # -- writing ------------------------------------------------------------------------------------------------

    async def put_event(self, calendar_id: str, event: OutgoingEvent, *, event_id: str | None = None,
                        etag: str | None = None) -> Written:
        body = event_body(event)
        fresh = False  # a series just created as it is wanted: its instances need no look
        if event_id is None:
            target = event_id_for(event.marker)
            answer = await self._http.call("events.insert", "POST", self._events(calendar_id),
                                           body={**body, "id": target})
            fresh = answer.ok
            if answer.status == 409:
                # The id is taken: an earlier attempt created the event (the marker is ours and stable), or it
                # is a deleted copy, which Google keeps and will not let us insert again. Write over it.
                answer = await self._http.call("events.patch", "PATCH", self._events(calendar_id, target),
                                               body={**body, "status": "confirmed"})
            if not answer.ok:
                raise answer.error()
        else:
            target = event_id
            answer = await self._http.call("events.patch", "PATCH", self._events(calendar_id, target), body=body,
                                           headers={"If-Match": etag} if etag else None)
            if answer.status == 412:
                raise await self._refusal(calendar_id, target)
            if not answer.ok:
                raise answer.error()
            if answer.body.get("status") == "cancelled":
                raise NotFound("events.patch: the event was deleted in the calendar")
        resource: dict[str, Any] = answer.body
        if event.rrule and not (fresh and not event.moved and not event.exdates):
            resource = await self._settle_instances(calendar_id, resource, event)
        return Written(target, str(resource["etag"]))

    async def _settle_instances(self, calendar_id: str, master: dict[str, Any],
                                event: OutgoingEvent) -> dict[str, Any]:
        """Patch every instance of the series that is not as Lockstep wants it: a cancelled occurrence cancelled, a
        moved one at its new time, any other live at its planned time. Returns the master as it is afterwards."""
        moved = {occurrence.planned_start: occurrence for occurrence in event.moved}
        cancelled = set(event.exdates)
        length = event.ends_at - event.starts_at
        master_id = str(master["id"])
        # Cancelled instances too: one Lockstep cancelled may have to live again (an occurrence restored), and one
        # cancelled already needs nothing.
        instances, _ = await self._pages("events.instances", f"{self._events(calendar_id, master_id)}/instances",
                                         [("maxResults", str(self.page_size)), ("showDeleted", "true")])
        patched = False
        for instance in instances:
            planned = _instant(instance.get("originalStartTime", {}))
            if planned is None:
                continue
            is_cancelled = instance.get("status") == "cancelled"
            if planned in cancelled:
                if not is_cancelled:
                    await self._ok("events.patch", "PATCH", self._events(calendar_id, str(instance["id"])),
                                   body={"status": "cancelled"})
                    patched = True
                continue
            target = moved.get(planned)
            wanted = (target.starts_at, target.ends_at) if target else (planned, planned + length)
            if not is_cancelled and (_instant(instance["start"]), _instant(instance["end"])) == wanted:
                continue
            await self._ok("events.patch", "PATCH", self._events(calendar_id, str(instance["id"])),
                           body={"status": "confirmed", "start": when(wanted[0], event.time_zone),
                                 "end": when(wanted[1], event.time_zone)})
            patched = True
        if not patched:
            return master
        # The master's etag may move when its instances do; the next conditional write must use the newest.
        return dict((await self._ok("events.get", "GET", self._events(calendar_id, master_id))).body)

    async def _refusal(self, calendar_id: str, event_id: str) -> ProviderError:
        """Why a conditional write got 412: the event changed, or it was deleted (which changes its etag too)."""
        answer = await self._http.call("events.get", "GET", self._events(calendar_id, event_id))
        if answer.status in (404, 410) or (answer.ok and answer.body.get("status") == "cancelled"):
            return NotFound("the event was deleted in the calendar")
        return PreconditionFailed("the event changed in the calendar since it was read")

    async def delete_event(self, calendar_id: str, event_id: str, *, etag: str | None = None,
                           reason: str = "") -> None:
        answer = await self._http.call("events.delete", "DELETE", self._events(calendar_id, event_id),
                                       headers={"If-Match": etag} if etag else None)
        if answer.status == 412:
            raise await self._refusal(calendar_id, event_id)
        if not answer.ok:
            raise answer.error()  # 404, and 410 for an event already deleted: NotFound

    # -- push -----------------------------------------------------------------------------------------------------

    async def watch(self, calendar_id: str, address: str, token: str) -> Subscription | None:
        body = {"id": str(uuid.uuid4()), "type": "web_hook", "address": address, "token": token,
                "params": {"ttl": str(int(self.channel_ttl.total_seconds()))}}
        answer = await self._ok("events.watch", "POST", f"{self._events(calendar_id)}/watch", body=body)
        channel = answer.body
        expires = datetime.fromtimestamp(int(channel["expiration"]) / 1000, UTC)
        return Subscription(str(channel["id"]), str(channel["resourceId"]), expires)

    async def renew(self, subscription: Subscription) -> Subscription | None:
        """Google channels cannot be extended: a new one replaces each."""
        return None

    async def unwatch(self, subscription: Subscription) -> None:
        """Stop the channel; NotFound when Google no longer knows it (expired or stopped already)."""
        await self._ok("channels.stop", "POST", "channels/stop",
                       body={"id": subscription.subscription_id, "resourceId": subscription.resource_id})
