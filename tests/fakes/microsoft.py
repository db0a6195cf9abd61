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
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from tests.fakes.loopback import LoggedRequest, LoopbackServer, logged_body
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

__all__ = ["TENANT_ID", "FakeMicrosoft", "Fault", "LoggedRequest"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    remaining: int
    retry_after: str | None
    code: str | None


class FakeMicrosoft(LoopbackServer, GraphApi, DeltaApi, SubscriptionApi, HandEdits):
    thread_name = "fake-microsoft"

    def __init__(self, *, client_id: str = "3f2b6c1e-7a4d-4e5b-9c21-5d8e0f6a4b17",
                 client_secret: str = "fake-client-secret", redirect_uris: tuple[str, ...] = (),
                 account: str = "tech@contoso.example", display_name: str = "Tess Tech",
                 access_token_lifetime: int = 3599) -> None:
        super().__init__()
        self.client_id, self.client_secret, self.tenant_id = client_id, client_secret, TENANT_ID
        self.oauth = IdentityPlatform(client_id, client_secret, set(redirect_uris), account, access_token_lifetime)
        self.mailboxes: dict[str, Mailbox] = {}
        self.add_account(account, display_name)
        self.subscriptions = Subscriptions()
        self.delta = DeltaTokens()
        self.faults: list[Fault] = []
        self.page_size = 10
        self.empty_delta_page = False
        self.replay_delta = False
        self.concurrency_limit = 4
        self.max_concurrent_seen = 0
        self.response_delay = 0.0  # seconds every Graph call takes, so that calls can overlap
        self._in_flight: dict[str, int] = {}

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

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        for method, path, name in routes():
            app.router.add_route(method, path, getattr(self, name))
        return app

    def _outbox(self) -> Subscriptions:
        return self.subscriptions

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
        body = await logged_body(request, forms=True)
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
