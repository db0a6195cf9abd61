"""The fake Microsoft Graph's calendar handlers: the signed-in user, calendars, calendarView, events (list, create,
get, update, delete, instances, cancel) and master categories, in the /me forms (reference sections A2, A4).

Each handler runs with the caller's mailbox (`request[MAILBOX]`) and Prefer headers (`request[PREFS]`) set by
the fake's middleware, under the fake's lock; what it changes it reports through `_changed`, which queues the
change notifications.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from tests.fakes.microsoft_errors import GraphError
from tests.fakes.microsoft_query import (
    MAILBOX,
    PREFS,
    Preferences,
    expanded,
    extended_filter,
    matches,
    page_of,
    selected,
)
from tests.fakes.microsoft_render import (
    calendar_view,
    event_resource,
    occurrence_resource,
    occurrences_in,
)
from tests.fakes.microsoft_store import Calendar, Mailbox, StoredEvent
from tests.fakes.microsoft_times import query_instant

MAX_WINDOW_DAYS = 1825
CATEGORY_COLOURS = {"none", *(f"preset{number}" for number in range(25))}


def window_of(request: web.Request) -> tuple[datetime, datetime]:
    start = query_instant(request.query.get("startDateTime"), "startDateTime")
    end = query_instant(request.query.get("endDateTime"), "endDateTime")
    if end - start > timedelta(days=MAX_WINDOW_DAYS):
        raise GraphError(400, "ErrorInvalidRequest", "Your request can't be completed. The range between the start "
                         f"and end dates is greater than the allowed range. Maximum number of days: {MAX_WINDOW_DAYS}")
    return start, end


def calendar_resource(mailbox: Mailbox, calendar: Calendar) -> dict[str, Any]:
    return {"id": calendar.calendar_id, "name": calendar.name, "color": calendar.color, "hexColor": "",
            "isDefaultCalendar": calendar.is_default, "changeKey": calendar.change_key, "canShare": calendar.can_edit,
            "canViewPrivateItems": True, "canEdit": calendar.can_edit, "isRemovable": not calendar.is_default,
            "isTallyingResponses": True, "allowedOnlineMeetingProviders": ["teamsForBusiness"],
            "defaultOnlineMeetingProvider": "teamsForBusiness", "owner": dict(calendar.owner)}


async def json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise GraphError(400, "BadRequest", "Unable to read JSON request payload.") from exc
    if not isinstance(body, dict):
        raise GraphError(400, "BadRequest", "Unable to read JSON request payload.")
    return body


class GraphApi:
    _lock: threading.RLock
    page_size: int

    def _changed(self, mailbox: Mailbox, calendar_id: str, change_type: str, event: StoredEvent,
                 original: datetime | None = None) -> None:
        raise NotImplementedError

    @staticmethod
    def _context(request: web.Request) -> tuple[Mailbox, Preferences]:
        return request[MAILBOX], request[PREFS]

    @staticmethod
    def _calendar(request: web.Request, mailbox: Mailbox) -> Calendar:
        calendar_id = request.match_info.get("calendar_id")
        return mailbox.calendar(calendar_id) if calendar_id else mailbox.default_calendar

    @staticmethod
    def _answer(body: Any, prefs: Preferences, status: int = 200) -> web.Response:
        return web.json_response(body, status=status, headers=prefs.headers())

    @staticmethod
    def _writable(calendar: Calendar) -> None:
        if not calendar.can_edit:
            raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")

    def _item(self, request: web.Request, mailbox: Mailbox, event: StoredEvent, original: datetime | None,
              prefs: Preferences) -> dict[str, Any]:
        resource = (occurrence_resource(mailbox, event, original, prefs.view) if original is not None
                    else event_resource(mailbox, event, prefs.view))
        return selected(request, expanded(request, resource, event.extended))

    # -- the user and calendars ---------------------------------------------------------------------------------

    async def _me(self, request: web.Request) -> web.Response:
        mailbox, prefs = self._context(request)
        given, _, surname = mailbox.display_name.partition(" ")
        return self._answer({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
                             "id": mailbox.user_id, "displayName": mailbox.display_name, "givenName": given,
                             "surname": surname, "mail": mailbox.account, "userPrincipalName": mailbox.account,
                             "businessPhones": [], "jobTitle": None, "mobilePhone": None, "officeLocation": None,
                             "preferredLanguage": "en-US"}, prefs)

    async def _calendars(self, request: web.Request) -> web.Response:
        mailbox, prefs = self._context(request)
        with self._lock:
            items = [calendar_resource(mailbox, calendar) for calendar in mailbox.calendars.values()]
        return self._answer(page_of(request, items, self.page_size, prefs), prefs)

    async def _calendar_view(self, request: web.Request) -> web.Response:
        mailbox, prefs = self._context(request)
        window = window_of(request)
        with self._lock:
            calendar = self._calendar(request, mailbox)
            items = [selected(request, item) for item in calendar_view(mailbox, calendar.calendar_id, window,
                                                                       prefs.view)]
        return self._answer(page_of(request, items, self.page_size, prefs), prefs)

    # -- events -------------------------------------------------------------------------------------------------

    async def _events_list(self, request: web.Request) -> web.Response:
        """Singles and series masters, not expanded; optionally only those with an extended property."""
        mailbox, prefs = self._context(request)
        wanted = extended_filter(request)
        with self._lock:
            calendar = self._calendar(request, mailbox)
            events = sorted((event for event in mailbox.events.values() if event.calendar_id == calendar.calendar_id
                             and (wanted is None or matches(event.extended, wanted))),
                            key=lambda event: event.created)
            items = [self._item(request, mailbox, event, None, prefs) for event in events]
        return self._answer(page_of(request, items, self.page_size, prefs), prefs)

    async def _events_create(self, request: web.Request) -> web.Response:
        mailbox, prefs = self._context(request)
        body = await json_object(request)
        with self._lock:
            calendar = self._calendar(request, mailbox)
            self._writable(calendar)
            known = len(mailbox.events)
            event = mailbox.create(calendar, body)
            if len(mailbox.events) > known:
                self._changed(mailbox, calendar.calendar_id, "created", event)
            return self._answer(event_resource(mailbox, event, prefs.view), prefs, 201)

    async def _event_get(self, request: web.Request) -> web.Response:
        mailbox, prefs = self._context(request)
        with self._lock:
            event, original = mailbox.find(request.match_info["event_id"])
            return self._answer(self._item(request, mailbox, event, original, prefs), prefs)

    async def _event_patch(self, request: web.Request) -> web.Response:
        mailbox, prefs = self._context(request)
        body = await json_object(request)
        with self._lock:
            event, original = mailbox.find(request.match_info["event_id"])
            self._writable(mailbox.calendar(event.calendar_id))
            mailbox.patch(event, original, body, request.headers.get("If-Match"))
            self._changed(mailbox, event.calendar_id, "updated", event, original)
            return self._answer(self._item(request, mailbox, event, original, prefs), prefs)

    async def _event_delete(self, request: web.Request) -> web.Response:
        mailbox, _ = self._context(request)
        with self._lock:
            event, original = mailbox.find(request.match_info["event_id"])
            self._writable(mailbox.calendar(event.calendar_id))
            mailbox.delete(event, original, request.headers.get("If-Match"))
            self._changed(mailbox, event.calendar_id, "deleted", event, original)
        return web.Response(status=204)

    async def _event_cancel(self, request: web.Request) -> web.Response:
        """The organizer cancels with a message: the attendees are told and the organizer's copy goes."""
        mailbox, _ = self._context(request)
        await json_object(request)
        with self._lock:
            event, original = mailbox.find(request.match_info["event_id"])
            self._writable(mailbox.calendar(event.calendar_id))
            mailbox.delete(event, original)
            self._changed(mailbox, event.calendar_id, "deleted", event, original)
        return web.Response(status=202)

    async def _instances(self, request: web.Request) -> web.Response:
        mailbox, prefs = self._context(request)
        window = window_of(request)
        with self._lock:
            event, original = mailbox.find(request.match_info["event_id"])
            starts = occurrences_in(event, window) if event.is_series and original is None else []
            items = [selected(request, occurrence_resource(mailbox, event, start, prefs.view)) for start in starts]
        return self._answer(page_of(request, items, self.page_size, prefs), prefs)

    # -- master categories --------------------------------------------------------------------------------------

    async def _categories(self, request: web.Request) -> web.Response:
        mailbox, prefs = self._context(request)
        with self._lock:
            return self._answer({"value": [dict(category) for category in mailbox.categories]}, prefs)

    async def _category_create(self, request: web.Request) -> web.Response:
        mailbox, prefs = self._context(request)
        body = await json_object(request)
        name, colour = body.get("displayName"), body.get("color", "none")
        if not isinstance(name, str) or not name.strip() or colour not in CATEGORY_COLOURS:
            raise GraphError(400, "ErrorInvalidRequest", "A category needs a displayName and a preset color.")
        with self._lock:
            return self._answer(mailbox.add_category(name, colour), prefs, 201)
