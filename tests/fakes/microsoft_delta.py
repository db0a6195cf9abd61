"""calendarView delta of the fake Microsoft Graph (reference section A3).

Terms:
- *round*: the pages from a request without a token (or with a deltaLink's token) to the page that carries
  `@odata.deltaLink`. Its items are fixed when it starts; pages between are reached by `@odata.nextLink`
  (`$skiptoken`). A first round has everything in the window; a later one what changed since the previous round
  ended: changed events (in the window: the event; a series: its master, full, then each occurrence, bare, and each
  exception, full) and removals (`@removed`, also for events now outside the window, as Graph reports them).
- *sync state*: what a token names (calendar, window, the mailbox's sequence at the end of its round). Expired
  tokens answer 410 syncStateNotFound, with a Location of the initial query when asked.
Quirks a test can switch on: `empty_delta_page` (every round starts with an empty page that has a nextLink) and
`replay_delta` (a later round repeats the items of the round before it).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from tests.fakes.microsoft_api import window_of
from tests.fakes.microsoft_errors import DEFAULT_FAULTS, GraphError
from tests.fakes.microsoft_query import MAILBOX, PREFS, Preferences
from tests.fakes.microsoft_render import delta_items, in_window, removal_items
from tests.fakes.microsoft_store import Calendar, Mailbox
from tests.fakes.microsoft_times import utc_timestamp


@dataclass
class SyncState:
    account: str
    calendar_id: str
    window: tuple[datetime, datetime]
    sequence: int
    items: list[dict[str, Any]] = field(default_factory=list)  # a round's items not yet sent, or a token's last round
    sent: list[dict[str, Any]] = field(default_factory=list)  # what the round has sent so far


@dataclass
class DeltaTokens:
    skip: dict[str, SyncState] = field(default_factory=dict)
    delta: dict[str, SyncState] = field(default_factory=dict)
    gone: dict[str, SyncState] = field(default_factory=dict)
    with_location: bool = False

    def expire(self, with_location: bool) -> None:
        self.gone.update(self.skip)
        self.gone.update(self.delta)
        self.skip.clear()
        self.delta.clear()
        self.with_location = with_location


class DeltaApi:
    _lock: threading.RLock
    page_size: int
    delta: DeltaTokens
    empty_delta_page: bool
    replay_delta: bool

    async def _delta(self, request: web.Request) -> web.Response:
        mailbox: Mailbox = request[MAILBOX]
        prefs: Preferences = request[PREFS]
        calendar_id = request.match_info.get("calendar_id")
        with self._lock:
            calendar = mailbox.calendar(calendar_id) if calendar_id else mailbox.default_calendar
            if "$skiptoken" in request.query:
                state = self._known(request, self.delta.skip, request.query["$skiptoken"])
                return self._page(request, state, prefs, fresh=False)
            if request.query.get("$deltatoken"):
                previous = self._known(request, self.delta.delta, request.query["$deltatoken"])
                return self._page(request, self._later_round(mailbox, previous, prefs), prefs, fresh=True)
            return self._page(request, self._first_round(mailbox, calendar, window_of(request), prefs), prefs,
                              fresh=True)

    def _known(self, request: web.Request, tokens: dict[str, SyncState], token: str) -> SyncState:
        state = tokens.pop(token, None) if tokens is self.delta.skip else tokens.get(token)
        if state is not None and state.account == request[MAILBOX].account:
            return state
        headers = {}
        gone = self.delta.gone.get(token)
        if gone is not None and self.delta.with_location:
            start, end = (utc_timestamp(moment) for moment in gone.window)
            headers["Location"] = str(request.url.with_query({"startDateTime": start, "endDateTime": end}))
        code, message = DEFAULT_FAULTS[410]
        raise GraphError(410, code, message, headers)

    @staticmethod
    def _first_round(mailbox: Mailbox, calendar: Calendar, window: tuple[datetime, datetime],
                     prefs: Preferences) -> SyncState:
        items = [item for event in sorted(mailbox.events.values(), key=lambda event: event.created)
                 if event.calendar_id == calendar.calendar_id and in_window(event, window)
                 for item in delta_items(mailbox, event, window, prefs.view)]
        return SyncState(mailbox.account, calendar.calendar_id, window, mailbox.sequence, items)

    def _later_round(self, mailbox: Mailbox, previous: SyncState, prefs: Preferences) -> SyncState:
        events, removals = mailbox.changed_since(previous.calendar_id, previous.sequence)
        items = [item for event in sorted(events, key=lambda event: event.sequence)
                 for item in delta_items(mailbox, event, previous.window, prefs.view)]
        items += [item for removal in removals for item in removal_items(removal, previous.window, prefs.view)]
        if self.replay_delta:
            items = previous.items + items
        return SyncState(mailbox.account, previous.calendar_id, previous.window, mailbox.sequence, items)

    def _page(self, request: web.Request, state: SyncState, prefs: Preferences, *, fresh: bool) -> web.Response:
        size = min(self.page_size, prefs.max_page_size or self.page_size)
        if fresh and self.empty_delta_page:
            page: list[dict[str, Any]] = []
        else:
            page, state.items = state.items[:size], state.items[size:]
        state.sent += page
        body: dict[str, Any] = {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(event)", "value": page}
        token = secrets.token_urlsafe(24)
        if state.items or (fresh and self.empty_delta_page):
            self.delta.skip[token] = state
            body["@odata.nextLink"] = str(request.url.with_query({"$skiptoken": token}))
        else:
            self.delta.delta[token] = SyncState(state.account, state.calendar_id, state.window, state.sequence,
                                                state.sent)
            body["@odata.deltaLink"] = str(request.url.with_query({"$deltatoken": token}))
        return web.json_response(body, headers=prefs.headers())
