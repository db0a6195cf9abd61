"""Webhook deliveries of the fake Calendly, made the way Calendly makes them (docs/calendly.md, "Webhooks"):

- a delivery is one POST of a JSON envelope to a subscription's callback URL, signed with the subscription's key
  over the exact bytes sent (`Calendly-Webhook-Signature: t=<unix seconds>,v1=<hex>`), each attempt anew;
- a 2xx answer delivers it. Anything else (a redirect too: none is followed), no answer, or none within `timeout`
  fails it, and it is tried again after each of `retry_delays` in turn (Calendly backs off for 24 hours; here the
  schedule is compressed). A subscription's retry_started_at is set at its first failure and cleared when a
  delivery to it succeeds with none still waiting; once a delivery has spent its retries the subscription is
  disabled and gets nothing more (it has to be created again);
- a 410 answer deletes the subscription at once, without a retry;
- first attempts leave one queue in order; retries and delayed deliveries go on their own, so a failing receiver
  never holds back the others.

Faults on demand (`inject`): `bad_signature` (the first attempt signed with another key), `stale_timestamp` (the
first attempt signed ten minutes ago), `delay` (leaves `seconds` late, so a later delivery can overtake it),
`duplicate` (sent twice), `lost` (never sent; kept in `lost`). `attempts` logs every POST and what it was answered
(0: no answer in time), with the moment the POST began (`sent_at`, perf_counter(), taken once the attempt is signed
and checked), from which a benchmark measures how long the receiver takes to act on a delivery.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.fakes.calendly_store import Store, Subscription, now
from tests.fakes.outbox import Outbox

SIGNATURE_HEADER = "Calendly-Webhook-Signature"
FAULTS = ("bad_signature", "stale_timestamp", "delay", "duplicate", "lost")
STALE_SECONDS = 600


@dataclass(frozen=True)
class Attempt:
    subscription: str  # uuid
    event: str  # "invitee.created" or "invitee.canceled"
    invitee: str  # URI
    url: str
    body: bytes
    signature: str
    number: int  # 1 for the first attempt
    status: int  # 0: no answer (refused, or none in time)
    fault: str = ""
    sent_at: float = 0.0  # perf_counter() as the POST began


@dataclass(frozen=True)
class _Delivery:
    subscription: Subscription
    event: str
    invitee: str
    body: bytes
    fault: str = ""
    delay: float = 0.0


@dataclass
class _Fault:
    kind: str
    remaining: int
    seconds: float
    event: str | None


def signature(key: str, body: bytes, at: int) -> str:
    return f"t={at},v1={hmac.new(key.encode(), f'{at}.'.encode() + body, hashlib.sha256).hexdigest()}"


@dataclass
class Webhooks(Outbox[_Delivery]):
    store: Store = field(default_factory=Store)
    check: Callable[[bytes, dict[str, str]], None] | None = None  # the contract's check of each POST
    retry_delays: tuple[float, ...] = (0.02, 0.05, 0.1)
    timeout: float = 2.0  # Calendly waits 10 s to connect and 15 s for the answer
    attempts: list[Attempt] = field(default_factory=list)
    lost: list[tuple[str, str, str]] = field(default_factory=list)  # (subscription uuid, event, invitee URI)
    _faults: list[_Fault] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _waiting: dict[str, int] = field(default_factory=dict)  # subscription uuid -> deliveries waiting for a retry

    def inject(self, kind: str, times: int = 1, *, seconds: float = 0.2, event: str | None = None) -> None:
        """The next `times` deliveries (of `event` only, when given) suffer `kind` (one of FAULTS)."""
        if kind not in FAULTS:
            raise ValueError(f"unknown delivery fault {kind!r}")
        self._faults.append(_Fault(kind, times, seconds, event))

    def _fault_for(self, event: str) -> _Fault | None:
        for found in self._faults:
            if found.remaining > 0 and found.event in (None, event):
                found.remaining -= 1
                return found
        return None

    def deliver(self, subscription: Subscription, event: str, invitee: str, envelope: dict[str, Any]) -> None:
        """Queue one delivery (call on the server's loop)."""
        body = json.dumps(envelope, separators=(",", ":")).encode()
        fault = self._fault_for(event)
        kind, delay = (fault.kind, fault.seconds) if fault else ("", 0.0)
        if kind == "lost":
            self.lost.append((subscription.uuid, event, invitee))
            return
        delivery = _Delivery(subscription, event, invitee, body, kind, delay if kind == "delay" else 0.0)
        self._put(delivery)
        if kind == "duplicate":
            self._put(delivery)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await super().stop()

    async def drained(self) -> None:
        """Wait until every delivery queued so far is settled: delivered, given up on, or its subscription gone."""
        await super().drained()
        while self._tasks:
            await asyncio.gather(*list(self._tasks))

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, item: _Delivery) -> None:
        if item.delay:
            self._spawn(self._late(item))
        else:
            await self._attempt(item, 1)

    async def _late(self, item: _Delivery) -> None:
        await asyncio.sleep(item.delay)
        await self._attempt(item, 1)

    async def _retry(self, item: _Delivery, number: int, delay: float) -> None:
        await asyncio.sleep(delay)
        self._waiting[item.subscription.uuid] -= 1
        await self._attempt(item, number)

    def _signed(self, item: _Delivery, number: int) -> str:
        """The signature of one attempt; a signature fault spoils the first attempt only (retries are signed
        right, as they would be)."""
        key = item.subscription.signing_key
        at = int(time.time())
        if item.fault == "bad_signature" and number == 1:
            key = "not-" + key
        elif item.fault == "stale_timestamp" and number == 1:
            at -= STALE_SECONDS
        return signature(key, item.body, at)

    async def _attempt(self, item: _Delivery, number: int) -> None:
        subscription = item.subscription
        if self.store.subscriptions.get(subscription.uuid) is not subscription or subscription.state != "active":
            return  # deleted or disabled meanwhile
        assert self._session is not None
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: self._signed(item, number),
                   "User-Agent": "Calendly"}
        if self.check is not None:
            self.check(item.body, headers)
        status = 0
        sent_at = time.perf_counter()
        try:
            async with self._session.post(subscription.callback_url, data=item.body, headers=headers,
                                          allow_redirects=False,
                                          timeout=aiohttp.ClientTimeout(total=self.timeout)) as answer:
                status = answer.status
                await answer.read()
        except (aiohttp.ClientError, TimeoutError):
            pass
        self.attempts.append(Attempt(subscription.uuid, item.event, item.invitee, subscription.callback_url,
                                     item.body, headers[SIGNATURE_HEADER], number, status, item.fault, sent_at))
        self._settle(item, number, status)

    def _settle(self, item: _Delivery, number: int, status: int) -> None:
        subscription = item.subscription
        if 200 <= status < 300:
            if not self._waiting.get(subscription.uuid):
                subscription.retry_started_at = None
            return
        if status == 410:
            self.store.subscriptions.pop(subscription.uuid, None)
            return
        if subscription.retry_started_at is None:
            subscription.retry_started_at = now()
        if number > len(self.retry_delays):
            subscription.state, subscription.updated_at = "disabled", now()
            return
        self._waiting[subscription.uuid] = self._waiting.get(subscription.uuid, 0) + 1
        self._spawn(self._retry(item, number + 1, self.retry_delays[number - 1]))
