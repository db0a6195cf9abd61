"""The WebSocket side of /graphql (graphql-transport-ws): who the connection is, and keep-alive pings.

Browsers cannot set headers on a WebSocket, so the access token travels in the connection_init payload:
`{"authorization": "Bearer <jwt>"}` (the plain token is accepted too). It is read once, when the connection opens;
an invalid or expired token makes the connection anonymous, and the typed NotAuthorized of a subscription then says
why, exactly as over HTTP. The user it names is looked up again for every operation on the socket (see
app.graphql.CurrentViewer), so a deleted account or a changed role counts from the next operation on.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage

from services.auth import ANONYMOUS, TokenConfig, Viewer, viewer_from_access_token


def token_from(value: str) -> str:
    """The token of an Authorization value: "Bearer <token>" or the bare token."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() == "bearer":
        return rest.strip()
    return value.strip()


def viewer_from_connection_params(params: dict[str, Any], tokens: TokenConfig, fallback: Viewer) -> Viewer:
    """The viewer named by the connection_init payload; `fallback` (from the handshake's own Authorization header,
    which non-browser clients may send) when the payload names nobody."""
    raw = next((params[key] for key in ("authorization", "Authorization") if key in params), None)
    if raw is None:
        return fallback
    if not isinstance(raw, str):
        raise ConnectionRejectionError()
    token = token_from(raw)
    return viewer_from_access_token(token, tokens) if token else ANONYMOUS


class KeepAliveHandler(BaseGraphQLTransportWSHandler[Any, Any]):
    """graphql-transport-ws with server pings every `view.ws_keepalive_seconds` once the connection is
    acknowledged, so proxies and load balancers do not close a quiet subscription (the client answers pong)."""

    _pinger: asyncio.Task[None] | None = None

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        interval = getattr(self.view, "ws_keepalive_seconds", 0)
        if self.connection_acknowledged and interval > 0 and self._pinger is None:
            self._pinger = asyncio.create_task(self._ping_every(interval))

    async def _ping_every(self, interval: float) -> None:
        with contextlib.suppress(Exception):  # the socket closed: the handler is shutting down anyway
            while True:
                await asyncio.sleep(interval)
                await self.send_message({"type": "ping"})

    async def shutdown(self) -> None:
        if self._pinger is not None:
            self._pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pinger
        await super().shutdown()
