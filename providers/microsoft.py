"""The Microsoft 365 / Outlook provider (CalendarProvider) on aiohttp, over Microsoft Graph v1.0.

Every URL is a constructor argument, so the fake in tests/fakes/microsoft.py and the real API are interchangeable, and
the access token comes from an AccessTokens source (providers/tokens.py) that the caller backs with its storage.

Terms:
- *cursor*: the whole @odata.deltaLink of the calendar's last calendarView delta round; a later fetch GETs exactly
  that link (the window is inside it). A cursor that is not under the API root is refused as expired, never sent.
- *payload*: one event as JSON text, as delta listed it with its series master's fields hydrated in and, for
  Lockstep's own events, the marker property (see providers/microsoft_delta.py). Each RemoteEvent is one event that
  takes place: a single event, an occurrence or an exception of a series; series masters are not returned.
- *series*: a recurring booking is one recurring event (providers/microsoft_export.py) whose cancelled and moved
  occurrences are settled afterwards on the instances Graph lists (providers/microsoft_series.py), or, when Graph
  cannot repeat an event as its rule says, a group of single events (providers/microsoft_singles.py) known by a group
  id of its own.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from domain.graph_events import MARKER_PROPERTY_ID, PLANNED_PROPERTY_ID
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
from providers.closing import ClosedOnExit
from providers.microsoft_delta import EXTENDED_PROPERTIES, Round, hydrated, mark, masters_needed
from providers.microsoft_export import calendar_colour, category_for, differs, event_body, is_expressible
from providers.microsoft_http import DEFAULT_API_URL, MAX_PAGES, Answer, GraphSession
from providers.microsoft_push import renew, subscribe, unsubscribe
from providers.microsoft_series import event_path, settle_instances
from providers.microsoft_singles import GROUP_PREFIX, delete_group, every_single, group_of, is_group, put_group
from providers.tokens import AccessTokens

__all__ = ["DEFAULT_API_URL", "MicrosoftProvider"]

_EXPIRED_CODES = {"syncstatenotfound", "resyncrequired"}


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _cursor_error(answer: Answer) -> ProviderError:
    """A delta round's failure: an expired cursor (410, with or without a Location to start over from, or a 4xx with
    Graph's sync-state codes in any casing) is CursorExpired; anything else as any call's."""
    if answer.status == 410 or (400 <= answer.status < 500 and answer.code.lower() in _EXPIRED_CODES):
        return CursorExpired(answer.said())
    return answer.error()


class MicrosoftProvider(ClosedOnExit):
    """One Microsoft account (its own mailbox, "me"). Close it with `aclose()` or use it as an async context manager.
    `mailbox` names the mailbox for the limiter that every client of it shares (providers/microsoft_http.py)."""

    page_size = 200  # events per delta page asked for (odata.maxpagesize); Graph may answer with fewer
    marked_one_by_one = 8  # changed events whose marker is read one by one; more are found by one listing

    def __init__(self, tokens: AccessTokens, *, api_url: str = DEFAULT_API_URL, timeout: float = 30.0,
                 mailbox: str = "") -> None:
        self._http = GraphSession(tokens, api_url, timeout, mailbox)
        self._categories: set[str] = set()  # names (casefolded) known to be in the master list
        self._categories_refused = False  # the grant may not read or write the master list

    async def aclose(self) -> None:
        await self._http.aclose()

    @staticmethod
    def _calendar(calendar_id: str) -> str:
        return f"me/calendars/{quote(calendar_id, safe='')}"

    # -- reading ------------------------------------------------------------------------------------------------

    async def list_calendars(self) -> list[RemoteCalendar]:
        items = await self._http.collection("calendars.list", "me/calendars")
        return [RemoteCalendar(calendar_id=str(item["id"]), name=str(item.get("name", "")),
                               colour=calendar_colour(item), time_zone="", writable=bool(item.get("canEdit")),
                               primary=bool(item.get("isDefaultCalendar")))
                for item in items]

    async def account_label(self) -> str:
        """The account's address, to show which account a connection is (mail, else the sign-in name)."""
        body = (await self._http.ok("me.get", "GET", "me")).body or {}
        return str(body.get("mail") or body.get("userPrincipalName") or "")

    async def fetch_changes(self, calendar_id: str, cursor: str | None, window: Span) -> Changes:
        if cursor is not None and not self._http.is_ours(cursor):
            raise CursorExpired("calendarView.delta: the cursor is not a delta link of this API")
        listed, link = await self._round(calendar_id, cursor, window)
        masters = listed.masters()
        changed = listed.changed()
        gone: set[str] = set()
        for master_id in masters_needed(changed, masters):
            answer = await self._http.call("event.get", "GET", event_path(master_id))
            if answer.status in (404, 410):  # the series went while we listed: so did its occurrences
                gone |= {item_id for item_id, item in changed.items() if item.get("seriesMasterId") == master_id}
                continue
            if not answer.ok:
                raise answer.error()
            masters[master_id] = dict(answer.body)
        items = {item_id: hydrated(item, masters.get(str(item.get("seriesMasterId") or "")))
                 for item_id, item in changed.items() if item_id not in gone}
        whole: list[str] = []
        if items or listed.masters():
            marked = await self._marked(calendar_id, [*items.values(), *listed.masters().values()])
            if cursor is not None:
                # A Lockstep series changed in the calendar (an occurrence deleted or moved by hand changes its
                # master): its instances are read whole, as a deleted occurrence's own item names nothing.
                for master_id in sorted(set(listed.masters()) & set(marked)):
                    for instance in await self._instances(master_id, window):
                        items[str(instance["id"])] = hydrated(instance, masters[master_id])
                    whole.append(master_id)
            items = {item_id: mark(item, marked) for item_id, item in items.items()}
        if cursor is not None and (listed.removed or any(map(group_of, items.values()))):
            # A single of a group deleted by hand is an @removed item that names no group, and a changed one says
            # nothing of the others: every group's singles are read whole.
            groups: set[str] = set()
            for single in await every_single(self._http, self._calendar(calendar_id)):
                items[str(single["id"])] = single
                groups |= {group for group in [group_of(single)] if group}
            whole += sorted(groups)
        deleted = () if cursor is None else tuple(sorted(listed.removed - set(items) | gone))
        return Changes(tuple(RemoteEvent(item_id, str(item.get("@odata.etag", "")), json.dumps(item, sort_keys=True))
                             for item_id, item in sorted(items.items())),
                       deleted, link, complete=cursor is None, whole_series=tuple(whole))

    async def _instances(self, master_id: str, window: Span) -> list[dict[str, Any]]:
        """The occurrences of a series in the window, as Graph lists them now (deleted ones are not listed)."""
        return await self._http.collection("event.instances", f"{event_path(master_id)}/instances",
                                           [("startDateTime", _stamp(window.start)),
                                            ("endDateTime", _stamp(window.end))])

    async def _round(self, calendar_id: str, cursor: str | None, window: Span) -> tuple[Round, str]:
        """Every page of one delta round, and its deltaLink."""
        prefer = {"Prefer": f"odata.maxpagesize={self.page_size}"}
        if cursor is None:
            path = f"{self._calendar(calendar_id)}/calendarView/delta"
            answer = await self._http.call("calendarView.delta", "GET", path, headers=prefer,
                                           params=[("startDateTime", _stamp(window.start)),
                                                   ("endDateTime", _stamp(window.end))])
            if not answer.ok:
                raise answer.error()
        else:
            answer = await self._http.follow("calendarView.delta", cursor, headers=prefer)
        listed = Round()
        for _ in range(MAX_PAGES):
            if not answer.ok:
                raise _cursor_error(answer)
            body = answer.body or {}
            listed.take(body.get("value", []))
            if body.get("@odata.deltaLink"):
                return listed, str(body["@odata.deltaLink"])
            if not body.get("@odata.nextLink"):
                raise ProviderError("calendarView.delta: a page carried neither a next link nor a delta link")
            answer = await self._http.follow("calendarView.delta", str(body["@odata.nextLink"]), headers=prefer)
        raise ProviderError(f"calendarView.delta: still more pages after {MAX_PAGES}")

    async def _marked(self, calendar_id: str, items: Iterable[dict[str, Any]]) -> dict[str, list[Any]]:
        """Which of the events that `items` are (or are occurrences of) carry Lockstep's marker, each with its
        marker property (and the planned-start property of a single standing for an occurrence). A few (an
        incremental round's usual handful) are asked for one by one, so a pull costs the same however many bookings
        the calendar holds; more (a full listing) by one listing of the calendar's marked events, past ones
        included."""
        owners = sorted({str(item.get("seriesMasterId") or item["id"]) for item in items})
        expand = ("$expand", f"singleValueExtendedProperties($filter=id eq '{MARKER_PROPERTY_ID}' "
                             f"or id eq '{PLANNED_PROPERTY_ID}')")
        if len(owners) <= self.marked_one_by_one:
            answers = await asyncio.gather(*(self._http.call("event.get", "GET", event_path(owner),
                                                             params=[expand, ("$select", "id")])
                                             for owner in owners))
            for answer in answers:
                if not answer.ok and answer.status not in (404, 410):  # gone meanwhile: not ours to mark
                    raise answer.error()
            found = [answer.body for answer in answers if answer.ok and isinstance(answer.body, dict)]
        else:
            params = [("$filter", f"singleValueExtendedProperties/Any(ep: ep/id eq '{MARKER_PROPERTY_ID}')"),
                      expand, ("$select", "id"), ("$top", "1000")]
            found = await self._http.collection("events.list", f"{self._calendar(calendar_id)}/events", params)
        return {str(item["id"]): list(item[EXTENDED_PROPERTIES]) for item in found if item.get(EXTENDED_PROPERTIES)}

    # -- writing ------------------------------------------------------------------------------------------------

    async def put_event(self, calendar_id: str, event: OutgoingEvent, *, event_id: str | None = None,
                        etag: str | None = None) -> Written:
        """As CalendarProvider.put_event. A series whose rule Graph cannot repeat exactly, or an `event_id` that is a
        group id, is written as its group of single events (providers/microsoft_singles.py); a group has no version
        of its own, so `etag` is not a condition there: each single is compared with what Lockstep wants, and
        NotFound means every single was deleted in the calendar."""
        if event.colour:
            await self._ensure_category(event.colour)
        if (event_id is not None and is_group(event_id)) or not is_expressible(event):
            return await put_group(self._http, self._calendar(calendar_id), event, existing=event_id is not None)
        fresh = False  # a series just created as it is wanted: its instances need no look
        if event_id is None:
            body = event_body(event, creating=True)
            resource = dict((await self._http.ok("events.create", "POST", f"{self._calendar(calendar_id)}/events",
                                                 body=body)).body)
            fresh = not differs(resource, event, body)
            if not fresh:
                # The transaction was used: an earlier attempt made the event, and the booking changed since.
                resource = await self._update(str(resource["id"]), event, None)
        else:
            resource = await self._update(event_id, event, etag)
        if event.rrule and not (fresh and not event.moved and not event.exdates):
            resource = await settle_instances(self._http, resource, event)
        return Written(str(resource["id"]), str(resource["@odata.etag"]))

    async def _update(self, event_id: str, event: OutgoingEvent, etag: str | None) -> dict[str, Any]:
        answer = await self._http.call("event.update", "PATCH", event_path(event_id),
                                       body=event_body(event, creating=False),
                                       headers={"If-Match": etag} if etag else None)
        if answer.status == 412:
            raise await self._refusal(event_id)
        if not answer.ok:
            raise answer.error()
        return dict(answer.body)

    async def _refusal(self, event_id: str) -> ProviderError:
        """Why a conditional write got 412: the event changed, or it was deleted meanwhile."""
        answer = await self._http.call("event.get", "GET", event_path(event_id))
        if answer.status in (404, 410):
            return NotFound("the event was deleted in the calendar")
        return PreconditionFailed("the event changed in the calendar since it was read")

    async def _ensure_category(self, colour: str) -> None:
        """Make sure the master list has the category of the colour (a 409 says another writer just added it). The
        master list needs MailboxSettings.ReadWrite, which Lockstep does not ask for (least privilege): refused
        (403), the event still carries the category's name, and Outlook shows it uncoloured unless the user (or an
        earlier grant with that scope) created a category of that name."""
        name, preset = category_for(colour)
        if self._categories_refused or name.casefold() in self._categories:
            return
        listed = await self._http.call("masterCategories.list", "GET", "me/outlook/masterCategories")
        if listed.status == 403:
            self._categories_refused = True
            return
        if not listed.ok:
            raise listed.error()
        items = listed.body.get("value", []) if isinstance(listed.body, dict) else []
        self._categories |= {str(item.get("displayName", "")).casefold() for item in items}
        if name.casefold() not in self._categories:
            answer = await self._http.call("masterCategories.create", "POST", "me/outlook/masterCategories",
                                           body={"displayName": name, "color": preset})
            if answer.status == 403:
                self._categories_refused = True
                return
            if not answer.ok and answer.status != 409:
                raise answer.error()
            self._categories.add(name.casefold())

    async def delete_event(self, calendar_id: str, event_id: str, *, etag: str | None = None,
                           reason: str = "") -> None:
        """As CalendarProvider.delete_event; a group id deletes every single of the group (no condition: a group has
        no version of its own)."""
        if is_group(event_id):
            await delete_group(self._http, self._calendar(calendar_id), event_id.removeprefix(GROUP_PREFIX))
            return
        answer = await self._http.call("event.delete", "DELETE", event_path(event_id),
                                       headers={"If-Match": etag} if etag else None)
        if answer.status == 412:
            raise await self._refusal(event_id)
        if not answer.ok:
            raise answer.error()

    # -- push -----------------------------------------------------------------------------------------------------

    async def watch(self, calendar_id: str, address: str, token: str) -> Subscription:
        return await subscribe(self._http, calendar_id, address, token)

    async def renew(self, subscription: Subscription) -> Subscription:
        return await renew(self._http, subscription)

    async def unwatch(self, subscription: Subscription) -> None:
        await unsubscribe(self._http, subscription)

