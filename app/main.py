"""The Starlette application: routes, lifespan and the exported schema."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from tortoise import connections

from app import graphiql
from app.appointment_webhooks import appointment_webhooks
from app.db import connected
from app.farewell import configured_farewell
from app.feed_routes import calendar_feeds
from app.graphql import LockstepGraphQL, build_schema
from app.live_hub import LiveHub
from app.logs import RequestIds
from app.metrics import metrics_endpoint
from app.oauth_accounts import configured_gateways
from app.oauth_routes import oauth_callbacks
from app.publish_after_response import PublishAfterResponse
from app.request_limits import RequestSizeLimit
from app.settings import Settings
from app.sign_in_providers import configured_sign_in
from app.sign_in_routes import sign_in_callbacks
from app.webhooks import WebhookInboxes, webhooks
from services import live
from services.auth import AccountSecurity
from services.connections import AccountProbe
from services.credentials import CredentialVault
from services.oauth_connections import OAuthGateway
from services.sign_in import SignInGateway

schema = build_schema()


async def health(request: Request) -> JSONResponse:
    """The database decides the status code; live updates are reported beside it (off without Redis; unavailable
    while the Redis feed is reconnecting) with this process's subscriber count."""
    try:
        await connections.get("default").execute_query("SELECT 1")
        database = "ok"
    except Exception:  # any failure means "not healthy"; the reason goes to the logs, not to the caller
        database = "unavailable"
    status = 200 if database == "ok" else 503
    body: dict[str, object] = {"status": "ok" if status == 200 else "degraded", "database": database}
    hub: LiveHub | None = request.app.state.live_hub
    body["live"] = "off" if hub is None else "ok" if hub.connected.is_set() else "unavailable"
    body["subscribers"] = 0 if hub is None else hub.subscriber_count()
    return JSONResponse(body, status_code=status)


def browser_origins(settings: Settings) -> Middleware:
    """CORS for HTTP: pages on the LOCKSTEP_ALLOWED_ORIGINS (the same list the WebSocket checks) may call the API,
    sending a bearer token; other origins get no CORS headers, so their pages cannot read an answer. No cookies are
    involved (tokens travel in the Authorization header), so credentials mode stays off."""
    return Middleware(CORSMiddleware, allow_origins=list(settings.allowed_origins), allow_methods=["GET", "POST"],
                      allow_headers=["Authorization", "Content-Type"], max_age=600)


def create_app(settings: Settings | None = None, account_probe: AccountProbe | None = None,
               oauth_gateways: Mapping[str, OAuthGateway] | None = None,
               accounts: AccountSecurity | None = None,
               sign_in_gateways: Mapping[str, SignInGateway] | None = None) -> Starlette:
    """The app. `account_probe` replaces the CalDAV account check (tests pass a fake); `oauth_gateways` the OAuth
    providers configured by the settings; `accounts` the sign-in protection the settings describe (tests pass one
    with their own clock); `sign_in_gateways` the customer sign-in providers configured by the settings."""
    settings = settings or Settings.from_env()
    gateways = dict(oauth_gateways if oauth_gateways is not None else configured_gateways(settings))
    vault = CredentialVault(settings.secret_keys)
    # Live updates need Redis; without it subscriptions are refused and nothing is published.
    hub = None
    if settings.redis_url:
        hub = LiveHub(settings.redis_url, settings.live_channel, settings.live_queue_size)
    sign_in = dict(sign_in_gateways if sign_in_gateways is not None else configured_sign_in(settings))
    graphql = LockstepGraphQL(settings, account_probe, hub, gateways, configured_farewell(settings, vault), accounts,
                              sign_in=sign_in)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with connected(settings.database_url, settings.sqlite_busy_timeout_ms):
            publisher = live.configure(settings.redis_url, settings.live_channel)
            if hub is not None:
                await hub.start()
            try:
                yield
            finally:
                if hub is not None:
                    await hub.stop()
                if publisher is not None:
                    await publisher.close()
                await graphql.accounts.throttle.close()

    webhook_inboxes = WebhookInboxes(settings.redis_url)
    routes: list[BaseRoute] = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/health", health),
        Route("/metrics", metrics_endpoint(settings, hub)),
        # One route per edge for every provider (the registry says which have OAuth or push); Google's open channels
        # and its registered redirect URI keep pointing at /webhooks/google and /oauth/google/callback.
        Route("/oauth/{provider}/callback", oauth_callbacks(gateways, vault)),
        Route("/webhooks/{provider}", webhooks(webhook_inboxes, appointment_webhooks(settings, vault)),
              methods=["POST"]),
        Route("/auth/{provider}/callback", sign_in_callbacks(sign_in, vault)),
        Route("/feeds/{token}.ics", calendar_feeds(graphql.feeds, settings.max_feed_bookings), methods=["GET"]),
    ]
    if settings.graphiql:
        routes.append(Mount(graphiql.ASSETS_PATH, graphiql.assets()))
    app = Starlette(
        routes=routes,
        middleware=[Middleware(RequestIds), browser_origins(settings),
                    Middleware(RequestSizeLimit, max_body_bytes=settings.max_body_bytes,
                               max_message_bytes=settings.max_ws_message_bytes),
                    Middleware(PublishAfterResponse)],
        lifespan=lifespan,
    )
    app.state.live_hub = hub
    app.state.webhook_inbox = webhook_inboxes
    app.state.slot_cache = graphql.slot_cache
    return app
