"""The size limit of what a client sends: HTTP request bodies and WebSocket messages.

Enforced while reading, as ASGI middleware, so an oversized request costs at most the limit in memory: a declared
Content-Length over the limit is refused before a byte of the body is read, and a chunked (or under-declared) body is
refused as soon as what has arrived passes the limit. The rest of it is never read.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# RFC 6455: "message too big".
MESSAGE_TOO_BIG = 1009


class _BodyTooLarge(Exception):
    pass


class RequestSizeLimit:
    """Refuse HTTP bodies over `max_body_bytes` with 413, and close WebSockets whose message passes
    `max_message_bytes` with 1009."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, max_message_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_message_bytes = max_message_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self.app(scope, self._websocket_receive(receive, send), send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._refuse(send)
            return
        received = 0
        response_started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLarge
            return message

        async def watched_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except _BodyTooLarge:
            if response_started:  # an endpoint that answers while still reading: nothing left to tell the client
                return
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"error": f"The request body may be at most {self.max_body_bytes} bytes",
                           "limit": self.max_body_bytes}).encode()
        # Closing the connection: the unread rest of the body would otherwise be taken for the next request.
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    def _websocket_receive(self, receive: Receive, send: Send) -> Receive:
        async def limited() -> Message:
            message = await receive()
            if message["type"] == "websocket.receive":
                size = len(message.get("text") or "") if message.get("bytes") is None else len(message["bytes"])
                if size > self.max_message_bytes:
                    # Close on the client's side, and tell the endpoint the socket is gone so it ends cleanly.
                    await send({"type": "websocket.close", "code": MESSAGE_TOO_BIG,
                                "reason": f"Messages may be at most {self.max_message_bytes} bytes"})
                    return {"type": "websocket.disconnect", "code": MESSAGE_TOO_BIG}
            return message

        return limited


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
