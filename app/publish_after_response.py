"""Live events raised by an HTTP request are published once its response has been sent.

Publishing makes this process fan the event out to its own subscribers, on the same event loop; with hundreds of
them that is tens of milliseconds of work. Held until the response has gone, it never delays the booker. The events
still follow their commit (services publish only after committing), and a request that fails after committing still
publishes what it committed.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from services import live


class PublishAfterResponse:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            # A socket carries many operations and answers each as it goes: nothing to wait for.
            await self.app(scope, receive, send)
            return
        events: list[live.LiveEvent] = []
        try:
            with live.holding() as events:
                await self.app(scope, receive, send)  # returns once the whole response has been sent
        finally:
            await live.publish_all(events)
