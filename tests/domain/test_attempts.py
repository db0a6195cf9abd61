"""The failed-attempt schedule: free failures, growing delays, locks, and forgetting."""

from __future__ import annotations

from hypothesis import given, strategies as st

from domain.attempts import (
    FRESH,
    AttemptPolicy,
    AttemptRecord,
    after_success,
    begin_attempt,
    forgive_attempt,
    keep_seconds,
    wait_seconds,
)

PER_ADDRESS = AttemptPolicy(free_failures=3, first_delay_seconds=1, max_delay_seconds=60, lock_after=10,
                            lock_seconds=900, max_lock_seconds=900, forget_after_seconds=900)
PER_ACCOUNT = AttemptPolicy(free_failures=10, first_delay_seconds=0, max_delay_seconds=0, lock_after=10,
                            lock_seconds=60, max_lock_seconds=900, forget_after_seconds=86400, lock_growth=2,
                            success_clears_failures=True)
T0 = 1_800_000_000.0


def fail_as_soon_as_allowed(record: AttemptRecord, now: float, policy: AttemptPolicy,
                            times: int) -> tuple[AttemptRecord, float, list[int]]:
    """`times` failures, each made the moment the previous wait ends; returns the record, the time and the waits."""
    waits = []
    for _ in range(times):
        now += wait_seconds(record, now, policy)
        wait, record = begin_attempt(record, now, policy)
        assert wait == 0
        waits.append(wait_seconds(record, now, policy))
    return record, now, waits


def test_three_free_failures_then_delays_that_double_then_a_lock_of_fifteen_minutes() -> None:
    # when one address fails ten times, each time as soon as it may
    _record, _now, waits = fail_as_soon_as_allowed(FRESH, T0, PER_ADDRESS, 10)
    # then the waits after each failure are
    assert waits == [0, 0, 0, 1, 2, 4, 8, 16, 32, 900]


def test_an_attempt_during_a_wait_is_refused_with_the_time_left_and_not_counted() -> None:
    record, now, _ = fail_as_soon_as_allowed(FRESH, T0, PER_ADDRESS, 5)  # the fifth imposes 2 s
    wait, after = begin_attempt(record, now + 0.5, PER_ADDRESS)
    assert (wait, after) == (2, record)


def test_after_a_lock_is_served_failures_count_from_zero() -> None:
    record, now, _ = fail_as_soon_as_allowed(FRESH, T0, PER_ADDRESS, 10)
    assert wait_seconds(record, now + 899.5, PER_ADDRESS) == 1
    wait, after = begin_attempt(record, now + 900, PER_ADDRESS)
    assert wait == 0 and after.failures == 1
    assert wait_seconds(after, now + 900, PER_ADDRESS) == 0


def test_account_locks_start_at_a_minute_and_double_up_to_fifteen_minutes() -> None:
    record, now, locks = FRESH, T0, []
    for _ in range(6):
        record, now, waits = fail_as_soon_as_allowed(record, now, PER_ACCOUNT, 10)
        assert waits[:9] == [0] * 9
        locks.append(waits[9])
    assert locks == [60, 120, 240, 480, 900, 900]


def test_a_success_clears_an_accounts_failures_but_only_forgives_itself_for_an_address() -> None:
    account, _, _ = fail_as_soon_as_allowed(FRESH, T0, PER_ACCOUNT, 5)
    address, now, _ = fail_as_soon_as_allowed(FRESH, T0, PER_ADDRESS, 5)
    assert after_success(account, now, PER_ACCOUNT).failures == 0
    assert after_success(address, now, PER_ADDRESS).failures == 4
    assert forgive_attempt(account, now, PER_ACCOUNT).failures == 4


def test_a_record_is_forgotten_when_its_keep_time_ends() -> None:
    record, now, _ = fail_as_soon_as_allowed(FRESH, T0, PER_ADDRESS, 9)
    keep = keep_seconds(record, now, PER_ADDRESS)
    assert keep == 900
    assert begin_attempt(record, now + keep, PER_ADDRESS) == (0, AttemptRecord(1, now + keep, 0))


@given(st.lists(st.floats(min_value=0, max_value=2000, allow_nan=False), max_size=60))
def test_no_wait_is_ever_longer_than_the_longest_lock(gaps: list[float]) -> None:
    record, now = FRESH, T0
    for gap in gaps:
        now += gap
        wait, record = begin_attempt(record, now, PER_ACCOUNT)
        assert 0 <= wait <= PER_ACCOUNT.max_lock_seconds
        assert 0 <= wait_seconds(record, now, PER_ADDRESS) <= PER_ADDRESS.max_lock_seconds


@given(st.lists(st.floats(min_value=0, max_value=120, allow_nan=False), max_size=80))
def test_an_address_never_gets_more_checked_attempts_than_the_lock_allows(gaps: list[float]) -> None:
    # given attempts at any times within one lock period, whatever the waits said
    record, now, checked = FRESH, T0, 0
    for gap in gaps:
        now = min(now + gap, T0 + PER_ADDRESS.lock_seconds - 1)
        wait, record = begin_attempt(record, now, PER_ADDRESS)
        checked += wait == 0
    # then at most `lock_after` of them were checked
    assert checked <= PER_ADDRESS.lock_after


@given(st.integers(min_value=0, max_value=40), st.floats(min_value=0, max_value=10**6, allow_nan=False))
def test_a_success_never_makes_a_wait_longer(failures: int, later: float) -> None:
    record, now, _ = fail_as_soon_as_allowed(FRESH, T0, PER_ADDRESS, failures)
    for policy in (PER_ADDRESS, PER_ACCOUNT):
        assert wait_seconds(after_success(record, now + later, policy), now + later, policy) <= \
            wait_seconds(record, now + later, policy)
