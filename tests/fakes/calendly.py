"""A faithful fake of the Calendly API v2 and its OAuth server that Lockstep uses, as a real HTTP server on 127.0.0.1
(docs/calendly.md; Calendly's OpenAPI description beside this file is the contract, and every request the fake
receives, every answer and every webhook it sends is checked against it with tests/support/calendly_contract.py).

Use it as an async context manager in the test's loop (`async with FakeCalendly() as calendly:`), or from a thread
of its own (`with calendly.running_in_thread():`). Its URLs: `api_url` (the API root, where resource URIs live too:
`{api_url}/users/{uuid}`), `authorize_url`, `token_url`, `revoke_url`.

What tests can do besides calling it over HTTP:
- `user` (Tess, the default user) and `organization_uri`; `add_user`, `add_event_type`; `book`, `cancel_by_invitee`,
  `cancel_by_host`, `reschedule` play the people on Calendly and deliver webhooks (tests/fakes/calendly_scheduling.py);
- `oauth.personal_token()` and `oauth.issue_tokens()` grant tokens; `oauth.expire_access_tokens()`,
  `oauth.revoke_all()` (tests/fakes/calendly_oauth.py);
- `webhooks_refused` makes creating a subscription 403 (a plan without webhooks); `signing_key()` reads a
  subscription's key; `webhooks` delivers, retries and disables (`retry_delays`, `inject`, `attempts`, `lost`), and
  `deliveries_settled()` waits for it (tests/fakes/calendly_webhooks.py);
- `set_budget(limit, window)` is each user's request budget (500 a minute); over it the API answers 429. Every API
  answer carries X-RateLimit-Limit, -Remaining and -Reset (seconds to the window's end);
- `fail(method, path_pattern, status, times)` makes the next matching requests fail in Calendly's error shape
  (a 429 with Remaining 0 and `reset`), `stall(...)` makes them answer only after `seconds` (a time-out)
  (tests/fakes/calendly_limits.py);
- `log` holds every request and its answer; `violations` what broke the contract, and leaving the `async with`
  fails the test when there is any (`sending_bad_requests()` excuses the requests of a test that means them).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from types import TracebackType

from aiohttp import web

from tests.fakes.calendly_api import USER, CalendlyApi
from tests.fakes.calendly_errors import CalendlyError, error
from tests.fakes.calendly_limits import RATE, Fault, Limits
from tests.fakes.calendly_oauth import CalendlyOAuth, Grant
from tests.fakes.calendly_scheduling import Booked, Scheduling
from tests.fakes.calendly_store import Store, User
from tests.fakes.calendly_subscription_api import GRANT, SubscriptionApi
from tests.fakes.calendly_webhooks import Webhooks
from tests.fakes.loopback import LoggedRequest, LoopbackServer, logged_body
from tests.support.calendly_contract import exchange_problems, webhook_problems

__all__ = ["Booked", "FakeCalendly", "LoggedRequest"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ROUTES = [
    ("GET", "/oauth/authorize", "_authorize", ""), ("POST", "/oauth/token", "_token", ""),
    ("POST", "/oauth/revoke", "_revoke", ""),
    ("GET", "/users/me", "_me", "users:read"), ("GET", "/users/{uuid}", "_user_get", "users:read"),
    ("GET", "/event_types", "_event_types", "event_types:read"),
    ("GET", "/event_types/{uuid}", "_event_type_get", "event_types:read"),
    ("GET", "/scheduled_events", "_scheduled_events", "scheduled_events:read"),
    ("GET", "/scheduled_events/{uuid}", "_scheduled_event", "scheduled_events:read"),
    ("GET", "/scheduled_events/{uuid}/invitees", "_invitees", "scheduled_events:read"),
    ("GET", "/scheduled_events/{event_uuid}/invitees/{invitee_uuid}", "_invitee_get", "scheduled_events:read"),
    ("POST", "/scheduled_events/{uuid}/cancellation", "_cancellation", "scheduled_events:write"),
    ("POST", "/webhook_subscriptions", "_subscription_create", "webhooks:write"),
    ("GET", "/webhook_subscriptions", "_subscriptions_list", "webhooks:read"),
    ("GET", "/webhook_subscriptions/{webhook_uuid}", "_subscription_get", "webhooks:read"),
    ("DELETE", "/webhook_subscriptions/{webhook_uuid}", "_subscription_delete", "webhooks:write"),
]
SCOPES = {name: scope for _, _, name, scope in ROUTES}


class FakeCalendly(LoopbackServer, Limits, Scheduling, CalendlyApi, SubscriptionApi):
    thread_name = "fake-calendly"

    def __init__(self, *, client_id: str = "calendly-web-client", client_secret: str = "fake-calendly-secret",
                 native_client_id: str = "calendly-native-client", redirect_uris: tuple[str, ...] = (),
                 name: str = "Tess Tech", email: str = "tess@example.com", time_zone: str = "Europe/Berlin",
                 check_contract: bool = True) -> None:
        super().__init__()
        self.store = Store()
        self.user = self.add_user(name, email, time_zone)
        self.client_id, self.client_secret, self.native_client_id = client_id, client_secret, native_client_id
        self.oauth = CalendlyOAuth(self.store, client_id, client_secret, set(redirect_uris), native_client_id,
                                   self.user.uuid)
        self.webhooks = Webhooks(store=self.store, check=self._check_delivery)
        self.webhooks_refused = False
        self.check_contract = check_contract
        self.violations: list[str] = []
        self.faults: list[Fault] = []
        self.rate_limit, self.rate_window = 500, 60.0
        self._budgets: dict[str, tuple[float, int]] = {}  # user uuid -> (window start on monotonic, requests)
        self._excused = False
        self._stopping: asyncio.Event | None = None

    # -- URLs and lifecycle -------------------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return self.url

    @property
    def authorize_url(self) -> str:
        return f"{self.url}/oauth/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.url}/oauth/token"

    @property
    def revoke_url(self) -> str:
        return f"{self.url}/oauth/revoke"

    @property
    def user_uri(self) -> str:
        return self.store.user_uri(self.user)

    @property
    def organization_uri(self) -> str:
        return self.store.uri("organizations", self.user.organization)

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        for method, path, name, _ in ROUTES:
            app.router.add_route(method, path, getattr(self, name), name=name.strip("_"))
        return app

    def _outbox(self) -> Webhooks:
        return self.webhooks

    async def start(self) -> None:
        self._stopping = asyncio.Event()
        await super().start()
        self.store.base = self.url

    async def stop(self) -> None:
        if self._stopping is not None:
            self._stopping.set()
        await super().stop()

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        await self.stop()
        if kind is None:
            self.assert_conforming()

    def assert_conforming(self) -> None:
        """Fail when anything the fake received, answered or sent broke the contract."""
        assert not (self.check_contract and self.violations), "\n".join(self.violations)

    async def deliveries_settled(self) -> None:
        """Wait until every webhook delivery so far is delivered, given up on, or its subscription gone."""
        await self.notifications_sent()

    # -- helpers for tests --------------------------------------------------------------------------------------

    def personal_token(self, user: User | None = None, scopes: tuple[str, ...] | None = None) -> str:
        return self.oauth.personal_token((user or self.user).uuid, scopes)

    @contextmanager
    def sending_bad_requests(self) -> Iterator[None]:
        """Requests made inside are not held to the contract (a test of the fake's 400s); answers still are."""
        self._excused = True
        try:
            yield
        finally:
            self._excused = False

    # -- the OAuth endpoints ------------------------------------------------------------------------------------

    async def _authorize(self, request: web.Request) -> web.Response:
        return await self.oauth.authorize(request)

    async def _token(self, request: web.Request) -> web.Response:
        return await self.oauth.token(request)

    async def _revoke(self, request: web.Request) -> web.Response:
        return await self.oauth.revoke(request)

    # -- plumbing -----------------------------------------------------------------------------------------------

    def _authorised(self, request: web.Request) -> tuple[Grant, User]:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        grant, expired = self.oauth.grant_for(token) if scheme == "Bearer" else (None, False)
        if grant is None or expired:
            raise error(401)
        handler_name = getattr(request.match_info.handler, "__name__", "")
        if not grant.allows(SCOPES.get(handler_name, "")):
            raise error(403)
        return grant, self.store.users[grant.user]

    async def _api(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        request[RATE] = {}
        try:
            grant, user = self._authorised(request)
        except CalendlyError:
            self._spend(request, None)
            raise
        request[GRANT], request[USER] = grant, user
        self._spend(request, user)
        with self._lock:
            return await handler(request)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        body = await logged_body(request, forms=True)
        api = not request.path.startswith("/oauth/")
        response: web.StreamResponse
        fault = self._fault_for(request)
        if fault is not None and fault.status == 0:
            await self._stall(fault.seconds)
            fault = None
        try:
            if fault is not None:
                response = self._fault_answer(request, fault)
            else:
                response = await (self._api(request, handler) if api else handler(request))
        except CalendlyError as refused:
            response = refused.response()
        except web.HTTPFound as answer:  # the authorize endpoint's redirects
            self._record(request, body, answer)
            self._check(self.log[-1])
            raise
        except web.HTTPException as missing:
            if not api:
                raise
            response = error(404 if missing.status in (404, 405) else missing.status).response()
        if api:
            self._rate_headers(request, response)
        self._record(request, body, response)
        self._check(self.log[-1])
        return response

    def _check(self, entry: LoggedRequest) -> None:
        problems = exchange_problems(entry, requests=not self._excused)
        with self._lock:
            self.violations += problems

    def _check_delivery(self, body: bytes, headers: dict[str, str]) -> None:
        problems = webhook_problems(body, headers)
        with self._lock:
            self.violations += problems
