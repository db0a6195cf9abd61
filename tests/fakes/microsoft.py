"""A faithful fake of the Microsoft identity platform and the Microsoft Graph v1.0 calendar API Lockstep uses, as a
real HTTP server on 127.0.0.1 (reference sections A1-A7; the OpenAPI subset beside this file is the contract, and
tests/support/graph_contract.py checks traffic against it).

Use it as an async context manager in the test's loop (`async with FakeMicrosoft() as ms:`), or serve it from a
thread of its own for tests that drive a separate server process (`with ms.running_in_thread():`). Its URLs:
`api_url` (Graph v1.0 root), `authorize_url`, `token_url` (tenant `common`; any tenant segment is served).

What tests can do besides calling it over HTTP:
- `oauth.issue_tokens()` grants tokens without the browser; `oauth.expire_access_tokens()`, `oauth.revoke_all()`,
  `oauth.expire_client_secret()`, `oauth.require_admin_consent`, `oauth.missing_consent`, `oauth.single_use_refresh`;
- `add_account`, `add_calendar`, and `insert_by_hand` / `update_by_hand` / `delete_by_hand` / `move_by_hand` /
  `cancel_occurrence_by_hand` / `move_occurrence_by_hand` play the staff member in Outlook (and notify
  subscriptions); `expire_delta_tokens()` makes every delta token answer 410;
- `fail(method, path_pattern, status, ...)` makes the next matching requests fail in Graph's error shape;
- `page_size`, `empty_delta_page`, `replay_delta`, `concurrency_limit`, `response_delay` shape the answers;
- `log` holds every request and its answer, `subscriptions.deliveries` every POST the fake sent.
Every Graph call needs a live bearer token whose grant has a scope the call accepts: else 401
InvalidAuthenticationToken, or 403 ErrorAccessDenied.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any

from aiohttp import web

from tests.fakes.microsoft_api import GraphApi
from tests.fakes.microsoft_delta import DeltaApi, DeltaTokens
from tests.fakes.microsoft_errors import GraphError, fault
from tests.fakes.microsoft_hand import HandEdits
from tests.fakes.microsoft_oauth import IdentityPlatform, token_error
from tests.fakes.microsoft_query import MAILBOX, PREFS, preferences
from tests.fakes.microsoft_routes import ROUTE_SCOPES, routes
from tests.fakes.microsoft_store import Mailbox, StoredEvent, occurrence_id
from tests.fakes.microsoft_subscription_api import SubscriptionApi
from tests.fakes.microsoft_subscriptions import Subscriptions

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str  # as sent, percent-encoded, without the query
    query: tuple[tuple[str, str], ...]
    headers: dict[str, str]
    body: Any  # parsed JSON, the form of a token request, or None
    status: int
    response: Any  # parsed JSON, or None when the answer had no JSON body
    response_headers: dict[str, str] = field(default_factory=dict)
    answered_at: float = field(default_factory=time.perf_counter)


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    remaining: int
    retry_after: str | None
    code: str | None


class FakeMicrosoft(GraphApi, DeltaApi, SubscriptionApi, HandEdits):
    def __init__(self, *, client_id: str = "3f2b6c1e-7a4d-4e5b-9c21-5d8e0f6a4b17",
                 client_secret: str = "fake-client-secret", redirect_uris: tuple[str, ...] = (),
                 account: str = "tech@contoso.example", display_name: str = "Tess Tech",
                 access_token_lifetime: int = 3599) -> None:
        self._lock = threading.RLock()  # the server's loop and a test's thread may both change the state
        self.client_id, self.client_secret, self.tenant_id = client_id, client_secret, TENANT_ID
        self.oauth = IdentityPlatform(client_id, client_secret, set(redirect_uris), account, access_token_lifetime)
        self.mailboxes: dict[str, Mailbox] = {}
        self.add_account(account, display_name)
        self.subscriptions = Subscriptions()
        self.delta = DeltaTokens()
        self.log: list[LoggedRequest] = []
        self.faults: list[Fault] = []
        self.page_size = 10
        self.empty_delta_page = False
        self.replay_delta = False
        self.concurrency_limit = 4
        self.max_concurrent_seen = 0
        self.response_delay = 0.0  # seconds every Graph call takes, so that calls can overlap
        self._in_flight: dict[str, int] = {}
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    # -- URLs and lifecycle -------------------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"{self.url}/v1.0"

    @property
    def authorize_url(self) -> str:
        return f"{self.url}/common/oauth2/v2.0/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.url}/common/oauth2/v2.0/token"

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self.subscriptions.start()
        app = web.Application(middlewares=[self._middleware])
        for method, path, name in routes():
            app.router.add_route(method, path, getattr(self, name))
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    async def stop(self) -> None:
        await self.subscriptions.stop()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeMicrosoft:
        await self.start()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        await self.stop()

    @contextmanager
    def running_in_thread(self) -> Iterator[FakeMicrosoft]:
        """Serve from a thread with its own event loop, for tests whose own loop is busy or absent."""
        loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="fake-microsoft", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.start(), loop).result(timeout=10)
        try:
            yield self
        finally:
            asyncio.run_coroutine_threadsafe(self.stop(), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(timeout=10)
            loop.close()
            self._thread = None

    async def notifications_sent(self) -> None:
        """Wait until every notification queued so far has been delivered (or given up on)."""
        assert self._loop is not None
        if self._thread is None:
            await self.subscriptions.drained()
        else:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self.subscriptions.drained(), self._loop))

    # -- helpers for tests --------------------------------------------------------------------------------------

    def fail(self, method: str, path_pattern: str, status: int, times: int = 1, retry_after: str | None = None,
             code: str | None = None) -> None:
        """The next `times` requests whose method is `method` and whose decoded path matches the regular expression
        `path_pattern` (searched) get `status` with Graph's error body (code defaulting by status: 401
        InvalidAuthenticationToken, 412 ErrorIrresolvableConflict, 429 ApplicationThrottled, ...) and, when given,
        a Retry-After header (fractional values allowed). On the token endpoint the body is the identity
        platform's."""
        with self._lock:
            self.faults.append(Fault(method.upper(), re.compile(path_pattern), status, times, retry_after, code))

    # -- the identity platform's endpoints ----------------------------------------------------------------------

    async def _authorize(self, request: web.Request) -> web.Response:
        return await self.oauth.authorize(request)

    async def _consent(self, request: web.Request) -> web.Response:
        return await self.oauth.consent(request)

    async def _token(self, request: web.Request) -> web.Response:
        return await self.oauth.token(request)

    # -- plumbing -----------------------------------------------------------------------------------------------

    def _on_loop(self, action: Callable[..., None], *arguments: Any) -> None:
        if self._loop is None:
            return
        try:
            on_server_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            on_server_loop = False
        if on_server_loop:  # queued at once, so a wait for the notifications that follows sees it
            action(*arguments)
        else:
            self._loop.call_soon_threadsafe(action, *arguments)

    def _changed(self, mailbox: Mailbox, calendar_id: str, change_type: str, event: StoredEvent,
                 original: datetime | None = None) -> None:
        for subscription in self.subscriptions.covering(mailbox.account, calendar_id, change_type):
            item_id = event.immutable_id if subscription.immutable_ids else event.rest_id
            if original is not None:
                item_id = occurrence_id(item_id, original)
            self._on_loop(self.subscriptions.notify, subscription, change_type, item_id, f'W/"{event.change_key}"')

    def _fault_for(self, request: web.Request) -> web.Response | None:
        with self._lock:
            for found in self.faults:
                if found.method == request.method and found.pattern.search(request.path) and found.remaining > 0:
                    found.remaining -= 1
                    if "/oauth2/" in request.path:
                        answer = token_error(found.status, found.code or "temporarily_unavailable", 50000,
                                             "There was an error issuing a token.")
                        if found.retry_after is not None:
                            answer.headers["Retry-After"] = found.retry_after
                        return answer
                    return fault(found.status, found.code, found.retry_after).response()
        return None

    def _authorised(self, request: web.Request) -> Mailbox:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        grant, expired = self.oauth.grant_for(token) if scheme.lower() == "bearer" else (None, False)
        challenge = {"WWW-Authenticate": 'Bearer realm="", authorization_uri='
                     '"https://login.microsoftonline.com/common/oauth2/authorize", '
                     'client_id="00000003-0000-0000-c000-000000000000"'}
        if grant is None:
            message = "Access token is empty." if not token else "Access token validation failure. Invalid audience."
            raise GraphError(401, "InvalidAuthenticationToken", message, challenge)
        if expired:
            raise GraphError(401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.",
                             challenge)
        handler_name = getattr(request.match_info.handler, "__name__", "")
        accepted = ROUTE_SCOPES.get(handler_name.strip("_").replace("_", "."), frozenset())
        if not accepted & set(grant.scopes):
            raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        return self.mailboxes[grant.account]

    async def _graph(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        mailbox = self._authorised(request)
        request[MAILBOX], request[PREFS] = mailbox, preferences(request)
        with self._lock:
            busy = self._in_flight.get(mailbox.account, 0)
            if busy >= self.concurrency_limit:
                raise GraphError(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.")
            self._in_flight[mailbox.account] = busy + 1
            self.max_concurrent_seen = max(self.max_concurrent_seen, busy + 1)
        try:
            if self.response_delay:
                await asyncio.sleep(self.response_delay)
            return await handler(request)
        finally:
            with self._lock:
                self._in_flight[mailbox.account] -= 1

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        raw = await request.read()
        body: Any = None
        if raw and request.content_type == "application/json":
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
        elif raw and request.content_type == "application/x-www-form-urlencoded":
            body = dict((await request.post()).items())
        response: web.StreamResponse
        try:
            response = self._fault_for(request) or (
                await self._graph(request, handler) if request.path.startswith("/v1.0/") else await handler(request))
        except GraphError as error:
            response = error.response(request.headers.get("client-request-id"))
        except web.HTTPFound as answer:  # the authorize endpoint's redirects
            self._record(request, body, answer)
            raise
        except web.HTTPException as missing:
            if not request.path.startswith("/v1.0/"):
                raise
            segment = request.path.rstrip("/").rsplit("/", 1)[-1]
            response = GraphError(400 if missing.status == 404 else missing.status, "BadRequest",
                                  f"Resource not found for the segment '{segment}'.").response()
        self._record(request, body, response)
        return response

    def _record(self, request: web.Request, body: Any, response: web.StreamResponse) -> None:
        answer = None
        if isinstance(response, web.Response) and response.content_type == "application/json" and response.text:
            answer = json.loads(response.text)
        with self._lock:
            self.log.append(LoggedRequest(request.method, request.raw_path.split("?")[0],
                                          tuple(request.query.items()), dict(request.headers), body,
                                          response.status, answer, dict(response.headers)))
