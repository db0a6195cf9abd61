"""A faithful fake of Google's OAuth endpoints and the Calendar API v3 subset Lockstep uses, as a real HTTP server on
127.0.0.1 (docs/providers.md, "Google Calendar API v3"; field names and types as in the discovery document beside
it).

Use it as an async context manager in the test's loop (`async with FakeGoogle() as google:`), or start it on a
thread of its own for tests that drive a separate server process (`with google.running_in_thread():`). Its URLs:
`api_url` (Calendar v3 root), `authorize_url`, `token_url`, `revoke_url`.

What tests can do besides calling it over HTTP:
- `oauth.issue_tokens()` grants tokens without the browser dance; `oauth.expire_access_tokens()`, `oauth.revoke_all()`,
  `oauth.refuse_consent`;
- `insert_by_hand` / `update_by_hand` / `delete_by_hand` play the staff member in Google Calendar (and notify
  channels), `expire_sync_tokens()` makes every sync token answer 410;
- `fail(method, path_pattern, status, times=...)` makes the next matching requests fail in Google's error shape;
- `page_limit` shortens every page below maxResults, `empty_first_page` starts every listing with an empty page;
- `log` holds every request and its answer, `channels.deliveries` every notification sent.
Every Calendar API call needs a live bearer token whose grant has a scope the method accepts (per the discovery
document), else 401 authError / 403 insufficientPermissions. The Calendar API handlers are in google_calendar_api.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.fakes.google_calendar_api import CalendarApi, Pages
from tests.fakes.google_channels import Channels
from tests.fakes.google_oauth import OAuthServer
from tests.fakes.google_store import ApiError, FakeCalendar, Store
from tests.fakes.loopback import LoggedRequest, LoopbackServer, logged_body

__all__ = ["DISCOVERY", "FakeGoogle", "Fault", "LoggedRequest"]

DISCOVERY = Path(__file__).with_name("google-calendar-v3.discovery.json")
_DEFAULT_FAULTS = {  # status -> (reason, domain, message) of Google's answer
    401: ("authError", "global", "Invalid Credentials"),
    403: ("rateLimitExceeded", "usageLimits", "Rate Limit Exceeded"),
    404: ("notFound", "global", "Not Found"),
    410: ("deleted", "global", "Resource has been deleted"),
    412: ("conditionNotMet", "global", "Precondition Failed"),
    429: ("rateLimitExceeded", "usageLimits", "Rate Limit Exceeded"),
    500: ("backendError", "global", "Backend Error"),
    503: ("backendError", "global", "Backend Error"),
}
_USAGE_LIMITS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"}


def _method_scopes() -> dict[str, frozenset[str]]:
    found: dict[str, frozenset[str]] = {}

    def walk(resources: dict[str, Any]) -> None:
        for resource in resources.values():
            for method in resource.get("methods", {}).values():
                found[method["id"]] = frozenset(method.get("scopes", ()))
            walk(resource.get("resources", {}))

    document = json.loads(DISCOVERY.read_text())
    walk(document["resources"])
    return found


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    reason: str
    remaining: int
    retry_after: str | None


class FakeGoogle(LoopbackServer, CalendarApi):
    thread_name = "fake-google"

    def __init__(self, *, client_id: str = "lockstep-test.apps.googleusercontent.com",
                 client_secret: str = "fake-client-secret", redirect_uris: tuple[str, ...] = (),
                 user_email: str = "tech@example.com", time_zone: str = "Europe/Berlin",
                 access_token_lifetime: float = 3599.0) -> None:
        super().__init__()
        self.store = Store(user_email)
        self.add_calendar(user_email, user_email, time_zone, primary=True)
        self.scopes_by_method = _method_scopes()
        known = {scope for scopes in self.scopes_by_method.values() for scope in scopes}
        self.oauth = OAuthServer(client_id, client_secret, set(redirect_uris), known, access_token_lifetime)
        self.channels = Channels()
        self.faults: list[Fault] = []
        self.page_limit: int | None = None
        self.empty_first_page = False
        self._pages: dict[str, Pages] = {}

    # -- URLs and lifecycle -------------------------------------------------------------------------------------

    @property
    def authorize_url(self) -> str:
        return f"{self.url}/o/oauth2/v2/auth"

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    @property
    def revoke_url(self) -> str:
        return f"{self.url}/revoke"

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        api = "/calendar/v3"
        routes: list[tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]], str]] = [
            ("GET", "/o/oauth2/v2/auth", self.oauth.authorize, "oauth.authorize"),
            ("POST", "/token", self.oauth.token, "oauth.token"),
            ("POST", "/revoke", self.oauth.revoke, "oauth.revoke"),
            ("GET", f"{api}/users/me/calendarList", self._calendar_list, "calendar.calendarList.list"),
            ("GET", f"{api}/calendars/{{calendarId}}/events", self._events_list, "calendar.events.list"),
            ("POST", f"{api}/calendars/{{calendarId}}/events", self._events_insert, "calendar.events.insert"),
            ("POST", f"{api}/calendars/{{calendarId}}/events/watch", self._events_watch, "calendar.events.watch"),
            ("GET", f"{api}/calendars/{{calendarId}}/events/{{eventId}}", self._events_get, "calendar.events.get"),
            ("PATCH", f"{api}/calendars/{{calendarId}}/events/{{eventId}}", self._events_patch,
             "calendar.events.patch"),
            ("DELETE", f"{api}/calendars/{{calendarId}}/events/{{eventId}}", self._events_delete,
             "calendar.events.delete"),
            ("GET", f"{api}/calendars/{{calendarId}}/events/{{eventId}}/instances", self._events_instances,
             "calendar.events.instances"),
            ("POST", f"{api}/channels/stop", self._channels_stop, "calendar.channels.stop"),
        ]
        for method, path, handler, name in routes:
            app.router.add_route(method, path, handler, name=name)
        return app

    def _outbox(self) -> Channels:
        return self.channels

    # -- helpers for tests --------------------------------------------------------------------------------------

    def add_calendar(self, calendar_id: str, summary: str, time_zone: str = "Europe/Berlin", *,
                     access_role: str = "owner", colour: str = "#9fe1e7", primary: bool = False) -> FakeCalendar:
        with self._lock:
            calendar = FakeCalendar(calendar_id, summary, time_zone, access_role, colour, primary)
            self.store.calendars[calendar_id] = calendar
            return calendar

    def fail(self, method: str, path_pattern: str, status: int, *, times: int = 1, reason: str | None = None,
             retry_after: str | None = None) -> None:
        """The next `times` requests whose method is `method` and whose decoded path matches the regular expression
        `path_pattern` (searched, not anchored) get `status` with Google's error body (reason defaulting by status:
        see _DEFAULT_FAULTS) and, when given, a Retry-After header."""
        default = _DEFAULT_FAULTS.get(status, ("backendError", "global", "Error"))
        with self._lock:
            self.faults.append(Fault(method.upper(), re.compile(path_pattern), status, reason or default[0], times,
                                     retry_after))

    def insert_by_hand(self, calendar_id: str, resource: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            calendar = self.store.calendar(calendar_id)
            created = self.store.insert(calendar, resource)
            self._changed(calendar)
            return created

    def update_by_hand(self, calendar_id: str, event_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            calendar = self.store.calendar(calendar_id)
            updated = self.store.patch(calendar, event_id, changes, None)
            self._changed(calendar)
            return updated

    def delete_by_hand(self, calendar_id: str, event_id: str) -> None:
        with self._lock:
            calendar = self.store.calendar(calendar_id)
            self.store.delete(calendar, event_id, None)
            self._changed(calendar)

    def expire_sync_tokens(self) -> None:
        with self._lock:
            self.store.sync_tokens.clear()

    def live_events(self, calendar_id: str) -> list[dict[str, Any]]:
        """Every live single event and instance, as a singleEvents listing without a window has them."""
        with self._lock:
            calendar = self.store.calendar(calendar_id)
            return self.store.listing(calendar, None, None, single_events=True, show_deleted=False)

    def get_event(self, calendar_id: str, event_id: str) -> dict[str, Any]:
        with self._lock:
            return self.store.get(self.store.calendar(calendar_id), event_id)

    def _changed(self, calendar: FakeCalendar) -> None:
        for channel in self.channels.watching(calendar.calendar_id):
            self._on_loop(self.channels.enqueue, channel, "exists")

    # -- plumbing -----------------------------------------------------------------------------------------------

    def _fault_for(self, request: web.Request) -> web.Response | None:
        with self._lock:
            for fault in self.faults:
                if fault.method == request.method and fault.pattern.search(request.path) and fault.remaining > 0:
                    fault.remaining -= 1
                    default = _DEFAULT_FAULTS.get(fault.status, ("backendError", "global", "Error"))
                    domain = "usageLimits" if fault.reason in _USAGE_LIMITS else default[1]
                    message = default[2] if fault.reason == default[0] else fault.reason
                    error = ApiError(fault.status, fault.reason, message, domain)
                    headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                    return web.json_response(error.body(), status=fault.status, headers=headers)
        return None

    @web.middleware
    async def _middleware(self, request: web.Request,
                          handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        body = await logged_body(request)
        response: web.StreamResponse
        fault = self._fault_for(request)
        try:
            if fault is not None:
                response = fault
            else:
                if request.path.startswith("/calendar/v3/"):
                    if (request.content_type == "application/json" and await request.read()
                            and not isinstance(body, dict)):
                        raise ApiError(400, "parseError", "Parse Error")
                    self._authorise(request)
                response = await handler(request)
        except ApiError as error:
            response = web.json_response(error.body(), status=error.status)
        except web.HTTPException as answer:  # redirects of the authorisation endpoint
            self._record(request, body, answer)
            raise
        self._record(request, body, response)
        return response

    def _authorise(self, request: web.Request) -> None:
        grant = self.oauth.grant_for(request.headers.get("Authorization", ""))
        route = request.match_info.route.name
        accepted = self.scopes_by_method.get(route or "", frozenset())
        if not grant.scopes & accepted:
            raise ApiError(403, "insufficientPermissions", "Request had insufficient authentication scopes.")
