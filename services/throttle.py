"""Counting failed sign-in and account attempts where every API process sees them (Redis), per client address and
per account, and refusing attempts that come too soon with `TooManyAttemptsError`.

The schedule itself is `domain.attempts`. Records are keyed by an HMAC of the address or email (never the value in
clear) and hold only counts and times. Each change is a compare-and-set (WATCH/MULTI), so parallel attempts from
many processes count exactly.

Without Redis, or while it does not answer, each process counts in its own memory instead (bounded in size), so
sign-in keeps working and is still throttled, per process. Redis is tried again after `RETRY_REDIS_SECONDS`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import math
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError, WatchError

from domain.attempts import (
    FRESH,
    AttemptPolicy,
    AttemptRecord,
    after_success,
    begin_attempt,
    forgive_attempt,
    keep_seconds,
)
from services import metrics
from services.errors import ServiceError, TooManyAttemptsError

log = logging.getLogger("lockstep.throttle")
RETRY_REDIS_SECONDS = 30.0
MAX_MEMORY_RECORDS = 50_000
KNOWN_ADDRESS_SECONDS = 30 * 24 * 3600  # how long an address that signed in to an account counts as the owner's
_MAX_RACES = 50  # compare-and-set retries before an attempt is refused as if throttled

# The GraphQL mutation that each throttled action answers, as /metrics names it.


def count_throttled(action: str) -> None:
    """Called once for every attempt the throttle refuses (`action`: sign_in, sign_up, refresh_token, ...)."""
    metrics.record_throttled_sign_in(metrics.OPERATION_OF_ACTION.get(action, action))


@dataclass(frozen=True)
class Attempt:
    """Who tries what: the action, the client's address and, where one is named, the account's email."""

    action: str
    address: str
    account: str | None = None


@dataclass(frozen=True)
class ThrottlePolicies:
    per_address: AttemptPolicy
    per_account: AttemptPolicy


Update = Callable[[AttemptRecord], tuple[int, AttemptRecord]]


class MemoryRecords:
    """Records of this process only, the oldest dropped past `limit`."""

    def __init__(self, limit: int = MAX_MEMORY_RECORDS) -> None:
        self.limit = limit
        self._records: OrderedDict[str, tuple[AttemptRecord, float]] = OrderedDict()

    async def update(self, key: str, change: Update, keep: Callable[[AttemptRecord], int], now: float) -> int:
        stored = self._records.pop(key, None)
        record = stored[0] if stored and stored[1] > now else FRESH
        wait, changed = change(record)
        self._records[key] = (changed, now + keep(changed))
        while len(self._records) > self.limit:
            self._records.popitem(last=False)
        return wait


def _decoded(raw: bytes | str | None) -> AttemptRecord:
    """A stored record; one that cannot be read (left by an older version, or edited by hand) counts as none."""
    if raw is None:
        return FRESH
    try:
        return AttemptRecord(**json.loads(raw))
    except (ValueError, TypeError):
        return FRESH


class RedisRecords:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def update(self, key: str, change: Update, keep: Callable[[AttemptRecord], int], now: float) -> int:
        async with self.redis.pipeline(transaction=True) as pipe:
            for _ in range(_MAX_RACES):
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    wait, changed = change(_decoded(raw))
                    pipe.multi()
                    pipe.set(key, json.dumps(asdict(changed)), ex=keep(changed))
                    await pipe.execute()
                    return wait
                except WatchError:
                    continue
        return 1


class AttemptThrottle:
    """`async with throttle.attempt(Attempt(...)):` around the check of an attempt. It raises TooManyAttemptsError
    before the body when the attempt comes too soon. A ServiceError raised by the body (a wrong password, an invalid
    token) leaves the attempt counted as a failure; a normal exit, or an unexpected error that is not the client's
    doing, forgives it."""

    def __init__(self, policies: ThrottlePolicies, key_secret: str, redis_url: str | None = None,
                 clock: Callable[[], float] = time.time, prefix: str = "lockstep:attempts") -> None:
        self.policies = policies
        # A key of its own, derived so that these digests reveal nothing about the secret it comes from.
        self._key_secret = hmac.new(key_secret.encode(), b"lockstep attempt records", hashlib.sha256).digest()
        self._clock = clock
        self._prefix = prefix
        self._memory = MemoryRecords()
        self._redis = RedisRecords(Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5,
                                                  retry=Retry(NoBackoff(), 0))) if redis_url else None
        self._redis_down_until = 0.0

    def _key(self, kind: str, action: str, value: str) -> str:
        digest = hmac.new(self._key_secret, value.encode(), hashlib.sha256).hexdigest()
        return f"{self._prefix}:{action}:{kind}:{digest}"

    def _subjects(self, attempt: Attempt) -> list[tuple[str, AttemptPolicy]]:
        subjects = [(self._key("address", attempt.action, attempt.address), self.policies.per_address)]
        if attempt.account is not None:
            subjects.append((self._key("account", attempt.action, attempt.account), self.policies.per_account))
        return subjects

    async def _update(self, key: str, change: Update, policy: AttemptPolicy) -> int:
        now = self._clock()

        def keep(record: AttemptRecord) -> int:
            return keep_seconds(record, now, policy)

        return await self._store(key, change, keep, now)

    async def _store(self, key: str, change: Update, keep: Callable[[AttemptRecord], int], now: float) -> int:
        if self._redis is not None and now >= self._redis_down_until:
            try:
                return await self._redis.update(key, change, keep, now)
            except (RedisError, OSError) as exc:
                log.warning("attempt counts kept in this process for %ss: Redis failed (%s)",
                            RETRY_REDIS_SECONDS, type(exc).__name__)
                self._redis_down_until = now + RETRY_REDIS_SECONDS
        return await self._memory.update(key, change, keep, now)

    async def _begin(self, key: str, policy: AttemptPolicy) -> int:
        now = self._clock()
        return await self._update(key, lambda record: begin_attempt(record, now, policy), policy)

    async def _end(self, key: str, policy: AttemptPolicy, succeeded: bool) -> None:
        now = self._clock()
        end = after_success if succeeded else forgive_attempt
        await self._update(key, lambda record: (0, end(record, now, policy)), policy)

    def _known_key(self, attempt: Attempt) -> str:
        return self._key("known", attempt.action, f"{attempt.account}\n{attempt.address}")

    async def _is_known(self, attempt: Attempt) -> bool:
        """Whether this address has succeeded for this account within KNOWN_ADDRESS_SECONDS."""
        now = self._clock()

        def read(record: AttemptRecord) -> tuple[int, AttemptRecord]:
            return (1 if record.last_failure_at is not None else 0), record

        def keep(record: AttemptRecord) -> int:  # a look must not shorten how long the mark is kept
            since = record.last_failure_at
            return 1 if since is None else max(math.ceil(since + KNOWN_ADDRESS_SECONDS - now), 1)

        return await self._store(self._known_key(attempt), read, keep, now) == 1

    async def _remember(self, attempt: Attempt) -> None:
        now = self._clock()
        # The record's time is when the address was last seen to succeed (it holds no failures).
        await self._store(self._known_key(attempt), lambda _record: (0, AttemptRecord(0, now, 0)),
                          lambda _record: KNOWN_ADDRESS_SECONDS, now)

    @asynccontextmanager
    async def attempt(self, attempt: Attempt) -> AsyncIterator[None]:
        begun: list[tuple[str, AttemptPolicy]] = []
        subjects = self._subjects(attempt)
        # The account's own lock stops guessing spread over many addresses; an address the account has signed in
        # from before is the owner's, and is held back by its own count only, so a stranger cannot lock them out.
        if attempt.account is not None and await self._is_known(attempt):
            subjects = subjects[:1]
        for key, policy in subjects:
            wait = await self._begin(key, policy)
            if wait > 0:
                for counted_key, counted_policy in begun:
                    await self._end(counted_key, counted_policy, succeeded=False)
                count_throttled(attempt.action)
                raise TooManyAttemptsError(wait)
            begun.append((key, policy))
        try:
            yield
        except (ServiceError, asyncio.CancelledError):
            # A refused attempt stays counted; so does one its client abandoned (its check may still be running).
            raise
        except BaseException:
            for key, policy in begun:
                await self._end(key, policy, succeeded=False)
            raise
        for key, policy in begun:
            await self._end(key, policy, succeeded=True)
        if attempt.account is not None:
            await self._remember(attempt)

    async def spend(self, attempt: Attempt) -> None:
        """Count an attempt that never fails (a request that sends mail answers the same whatever happens), so that
        its rate is held back as failures are; TooManyAttemptsError when it comes too soon."""
        for key, policy in self._subjects(attempt):
            wait = await self._begin(key, policy)
            if wait > 0:
                count_throttled(attempt.action)
                raise TooManyAttemptsError(wait)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.redis.aclose()
