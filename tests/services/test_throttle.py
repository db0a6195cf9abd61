"""The attempt throttle on a real Redis: shared by every API process, keyed by digests, and kept in memory when
Redis is not there."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from redis import Redis

from domain.attempts import AttemptPolicy
from services.errors import AuthenticationError, TooManyAttemptsError
from services.metrics import throttled_sign_ins
from services.throttle import Attempt, AttemptThrottle, ThrottlePolicies
from tests.support.redis_server import own_redis

POLICIES = ThrottlePolicies(
    per_address=AttemptPolicy(free_failures=3, first_delay_seconds=1, max_delay_seconds=60, lock_after=10,
                              lock_seconds=900, max_lock_seconds=900, forget_after_seconds=900),
    per_account=AttemptPolicy(free_failures=10, first_delay_seconds=0, max_delay_seconds=0, lock_after=10,
                              lock_seconds=60, max_lock_seconds=900, forget_after_seconds=86400, lock_growth=2,
                              success_clears_failures=True))
SECRET = "a server secret of some length 0123456789"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def wrong_password(throttle: AttemptThrottle, attempt: Attempt) -> str:
    """One attempt whose check fails; returns the typed outcome's name and wait."""
    try:
        async with throttle.attempt(attempt):
            raise AuthenticationError("Email or password is wrong")
    except TooManyAttemptsError as refused:
        return f"wait {refused.retry_after_seconds}"
    except AuthenticationError:
        return "checked"
    raise AssertionError("unreachable")


async def test_two_api_processes_share_one_count_of_failures(redis_url: str) -> None:
    # given two API processes' throttles on one Redis
    clock = Clock()
    first, second = (AttemptThrottle(POLICIES, SECRET, redis_url, clock) for _ in range(2))
    attempt = Attempt("sign_in", "203.0.113.7", account="pat@example.com")
    # when the client fails on each in turn
    outcomes = [await wrong_password(first if n % 2 == 0 else second, attempt) for n in range(5)]
    # then the fifth attempt, on either process, is refused because of the four before it
    assert outcomes == ["checked", "checked", "checked", "checked", "wait 1"]
    assert await wrong_password(first, attempt) == "wait 1"
    await first.close()
    await second.close()


async def test_parallel_attempts_cannot_slip_past_the_count(redis_url: str) -> None:
    # given a client firing 40 wrong passwords at once
    throttle = AttemptThrottle(POLICIES, SECRET, redis_url, Clock())
    attempt = Attempt("sign_in", "203.0.113.7")
    outcomes = await asyncio.gather(*(wrong_password(throttle, attempt) for _ in range(40)))
    # then only the free failures and the one that starts the first delay were checked
    assert outcomes.count("checked") == 4
    assert outcomes.count("wait 1") == 36
    await throttle.close()


async def test_records_name_no_address_or_email_in_clear(redis_url: str) -> None:
    throttle = AttemptThrottle(POLICIES, SECRET, redis_url, Clock())
    await wrong_password(throttle, Attempt("sign_in", "203.0.113.7", account="pat@example.com"))
    stored = Redis.from_url(redis_url, decode_responses=True)
    keys = [str(key) for key in stored.keys("lockstep:attempts:*")]
    # the address's count, the account's count, and the look-up of whether the address is the account's own
    assert len(keys) == 3
    everything = " ".join(keys + [str(stored.get(key)) for key in keys])
    assert "203.0.113.7" not in everything and "pat" not in everything
    await throttle.close()


async def test_an_unreadable_record_counts_as_none(redis_url: str) -> None:
    # given a client whose record in Redis was overwritten with something unreadable
    throttle = AttemptThrottle(POLICIES, SECRET, redis_url, Clock())
    attempt = Attempt("sign_in", "203.0.113.7")
    for _ in range(4):
        await wrong_password(throttle, attempt)
    stored = Redis.from_url(redis_url)
    for key in stored.keys("lockstep:attempts:*"):
        stored.set(key, b'{"failures": "many"')
    # then its next attempt is checked and counted from zero
    assert [await wrong_password(throttle, attempt) for _ in range(5)] == ["checked"] * 4 + ["wait 1"]
    await throttle.close()


async def test_a_success_forgives_the_attempt_and_a_throttled_answer_is_counted(redis_url: str) -> None:
    # given a throttle and a client that failed three times
    clock = Clock()
    throttle = AttemptThrottle(POLICIES, SECRET, redis_url, clock)
    attempt = Attempt("sign_up", "203.0.113.7")
    for _ in range(3):
        await wrong_password(throttle, attempt)
    # when it then succeeds ten times
    for _ in range(10):
        async with throttle.attempt(attempt):
            pass
    # then successes never count, and its fourth failure is still checked
    assert await wrong_password(throttle, attempt) == "checked"
    before = throttled_sign_ins("signUp")
    assert await wrong_password(throttle, attempt) == "wait 1"
    assert throttled_sign_ins("signUp") == before + 1
    await throttle.close()


async def test_without_redis_each_process_still_throttles_in_its_own_memory(tmp_path: Path) -> None:
    # given a throttle whose Redis goes away
    with own_redis(tmp_path) as server:
        throttle = AttemptThrottle(POLICIES, SECRET, server.url, Clock())
        assert await wrong_password(throttle, Attempt("sign_in", "203.0.113.7")) == "checked"
    # when the client keeps failing, sign-in is still answered, and still throttled
    outcomes = [await wrong_password(throttle, Attempt("sign_in", "203.0.113.7")) for _ in range(5)]
    assert outcomes == ["checked", "checked", "checked", "checked", "wait 1"]
    await throttle.close()


async def test_with_no_redis_configured_attempts_are_counted_in_memory() -> None:
    throttle = AttemptThrottle(POLICIES, SECRET, None, Clock())
    outcomes = [await wrong_password(throttle, Attempt("refresh_token", "203.0.113.7")) for _ in range(5)]
    assert outcomes == ["checked", "checked", "checked", "checked", "wait 1"]


async def test_an_attempt_its_client_abandoned_stays_counted(redis_url: str) -> None:
    # given a client that gives up on each attempt while it is being checked
    throttle = AttemptThrottle(POLICIES, SECRET, redis_url, Clock())
    attempt = Attempt("sign_in", "203.0.113.7")

    async def abandoned() -> None:
        async with throttle.attempt(attempt):
            raise asyncio.CancelledError

    for _ in range(3):
        with pytest.raises(asyncio.CancelledError):
            await abandoned()
    # then those attempts count like failures: the next wrong one is the last free one, and then come waits
    assert await wrong_password(throttle, attempt) == "checked"
    assert await wrong_password(throttle, attempt) == "wait 1"
    await throttle.close()
