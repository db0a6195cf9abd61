"""What the fakes of Google and Microsoft share as real HTTP servers on 127.0.0.1: serving, the request log and
handing work to the server's loop.

Terms:
- *server loop*: the event loop the fake answers on: the test's own (`async with fake:`), or one on a thread of its
  own (`with fake.running_in_thread():`) for tests whose own loop is busy or absent.
- *outbox*: the queue of what the fake POSTs to subscribers (tests/fakes/outbox.py); it starts before the server
  answers and stops before it closes, and `notifications_sent()` waits until it is empty.
- *log*: every request the fake received and what it answered, in order (`LoggedRequest`).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from tests.fakes.outbox import Outbox


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str  # as sent, percent-encoded, without the query
    query: tuple[tuple[str, str], ...]
    headers: dict[str, str]
    body: Any  # parsed JSON, the form of a request the fake logs forms of, or None
    status: int
    response: Any  # parsed JSON, or None when the answer had no JSON body
    response_headers: dict[str, str] = field(default_factory=dict)
    answered_at: float = field(default_factory=time.perf_counter)  # just before the answer was written


async def logged_body(request: web.Request, *, forms: bool = False) -> Any:
    """The request's body as the log keeps it: parsed JSON (None when it does not parse) or, with `forms`, the fields
    of a form; None for anything else."""
    raw = await request.read()
    if raw and request.content_type == "application/json":
        try:
            return json.loads(raw)
        except ValueError:
            return None
    if forms and raw and request.content_type == "application/x-www-form-urlencoded":
        return dict((await request.post()).items())
    return None


class LoopbackServer:
    """A fake provider's server; a fake says what it serves (`_app`), what it sends (`_outbox`) and its thread's
    name (`thread_name`)."""

    thread_name = "fake-server"

    def __init__(self) -> None:
        self._lock = threading.RLock()  # the server's loop and a test's thread may both change the state
        self.log: list[LoggedRequest] = []
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    def _app(self) -> web.Application:
        raise NotImplementedError

    def _outbox(self) -> Outbox[Any]:
        raise NotImplementedError

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self._outbox().start()
        self._runner = web.AppRunner(self._app(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    async def stop(self) -> None:
        await self._outbox().stop()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        await self.stop()

    @contextmanager
    def running_in_thread(self) -> Iterator[Self]:
        """Serve from a thread with its own event loop, for tests whose own loop is busy or absent."""
        loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name=self.thread_name, daemon=True)
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
            await self._outbox().drained()
        else:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._outbox().drained(), self._loop))

    def _on_loop(self, action: Callable[..., None], *arguments: Any) -> None:
        """Run `action` on the server loop (nothing before the server started)."""
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

    def _record(self, request: web.Request, body: Any, response: web.StreamResponse) -> None:
        answer = None
        if isinstance(response, web.Response) and response.content_type == "application/json" and response.text:
            answer = json.loads(response.text)
        with self._lock:
            self.log.append(LoggedRequest(request.method, request.raw_path.split("?")[0],
                                          tuple(request.query.items()), dict(request.headers), body,
                                          response.status, answer, dict(response.headers)))
