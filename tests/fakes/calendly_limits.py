"""Limits of the fake Calendly (tests/fakes/calendly.py): each user's request budget, the rate-limit headers every
API answer carries, and faults on demand.

- *budget*: `rate_limit` API requests per `rate_window` seconds per user (Calendly: 500 a minute, 50 on Free); over
  it the answer is 429. `X-RateLimit-Limit`, `-Remaining` and `-Reset` (whole seconds to the window's end) go on every
  API answer, a refused token's included.
- *fault*: the next requests of a method whose path matches a pattern get a status in Calendly's error shape (a 429
  with Remaining 0 and its Reset, Retry-After when given; on the OAuth endpoints the token endpoint's shape), or are
  answered only after a stall (status 0), so that a client times out.
"""

from __future__ import annotations

import asyncio
import math
import re
import threading
import time
from contextlib import suppress
from dataclasses import dataclass

from aiohttp import web

from tests.fakes.calendly_errors import error
from tests.fakes.calendly_oauth import token_error
from tests.fakes.calendly_store import User

RATE = web.RequestKey("calendly_rate", dict[str, str])  # the rate-limit headers of the answer


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int  # 0: stall for `seconds`, then answer as usual
    remaining: int
    retry_after: str | None = None
    reset: int = 60
    seconds: float = 0.0


class Limits:
    _lock: threading.RLock
    _stopping: asyncio.Event | None
    faults: list[Fault]
    rate_limit: int
    rate_window: float
    _budgets: dict[str, tuple[float, int]]

    def set_budget(self, limit: int, window: float = 60.0) -> None:
        """Each user's budget: `limit` API requests per `window` seconds (Calendly: 500 a minute, 50 on Free)."""
        with self._lock:
            self.rate_limit, self.rate_window = limit, window
            self._budgets.clear()

    def fail(self, method: str, path_pattern: str, status: int, times: int = 1, *, retry_after: str | None = None,
             reset: int = 60) -> None:
        """The next `times` requests of `method` whose path matches `path_pattern` (searched) get `status` in
        Calendly's error shape (on the OAuth endpoints, the token endpoint's); a 429 says X-RateLimit-Remaining 0
        and X-RateLimit-Reset `reset`, and Retry-After when given."""
        with self._lock:
            self.faults.append(Fault(method.upper(), re.compile(path_pattern), status, times, retry_after, reset))

    def stall(self, method: str, path_pattern: str, seconds: float, times: int = 1) -> None:
        """The next `times` matching requests are answered only after `seconds` (or when the fake stops)."""
        with self._lock:
            self.faults.append(Fault(method.upper(), re.compile(path_pattern), 0, times, seconds=seconds))

    def _fault_for(self, request: web.Request) -> Fault | None:
        with self._lock:
            for found in self.faults:
                if found.method == request.method and found.pattern.search(request.path) and found.remaining > 0:
                    found.remaining -= 1
                    return found
        return None

    def _fault_answer(self, request: web.Request, fault: Fault) -> web.Response:
        if request.path.startswith("/oauth/"):
            return token_error(fault.status, "server_error" if fault.status >= 500 else "invalid_request",
                               "The authorization server could not handle the request.")
        headers = {}
        if fault.status == 429:
            headers = {"X-RateLimit-Limit": str(self.rate_limit), "X-RateLimit-Remaining": "0",
                       "X-RateLimit-Reset": str(fault.reset)}
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
        return error(fault.status, headers=headers).response()

    def _spend(self, request: web.Request, user: User | None) -> None:
        """Count the request against its user's budget; 429 over it. The headers go on the answer."""
        with self._lock:
            clock = time.monotonic()
            start, used = self._budgets.get(user.uuid if user else "", (clock, 0))
            if clock - start >= self.rate_window:
                start, used = clock, 0
            if user is not None:
                used += 1
                self._budgets[user.uuid] = (start, used)
            reset = max(1, math.ceil(self.rate_window - (clock - start)))
        request[RATE] = {"X-RateLimit-Limit": str(self.rate_limit),
                         "X-RateLimit-Remaining": str(max(0, self.rate_limit - used)), "X-RateLimit-Reset": str(reset)}
        if used > self.rate_limit:
            raise error(429)

    def _rate_headers(self, request: web.Request, response: web.StreamResponse) -> None:
        """The rate-limit headers of the answer, unless a fault set its own."""
        for name, value in request.get(RATE, {}).items():
            response.headers.setdefault(name, value)
        for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining"):
            response.headers.setdefault(name, str(self.rate_limit))
        response.headers.setdefault("X-RateLimit-Reset", str(math.ceil(self.rate_window)))

    async def _stall(self, seconds: float) -> None:
        assert self._stopping is not None
        with suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
