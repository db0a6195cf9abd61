"""How failed attempts slow down, then lock out, whoever makes them: a client address, or an account.

Terms:
- *subject*: what attempts are counted for (one client address for one action, or one account).
- *failure*: an attempt that was checked and refused (a wrong password, an unknown refresh token or invitation code).
  An attempt is counted as a failure from the moment it starts and forgiven if it succeeds, so a burst of parallel
  attempts cannot all slip past the count before the first of them is checked.
- *wait*: how many seconds must pass before the subject's next attempt. An attempt made sooner is refused at once,
  unchecked and not counted; the server never sleeps on it.
- *delay*: the wait after each failure past the free ones: `first_delay_seconds`, doubling with every further
  failure, up to `max_delay_seconds`.
- *lock*: the wait once failures reach `lock_after`: `lock_seconds` from the last failure, `lock_growth` times longer
  for every lock the subject served before, up to `max_lock_seconds`. When a lock has been served, failures are
  counted from zero again.
- *forgetting*: a record is dropped `forget_after_seconds` after its last failure once no lock is running.

Times are seconds since the epoch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class AttemptPolicy:
    free_failures: int
    first_delay_seconds: float
    max_delay_seconds: float
    lock_after: int
    lock_seconds: float
    max_lock_seconds: float
    forget_after_seconds: float
    lock_growth: float = 1.0
    # True: a success proves the subject (an account's owner) and clears its failures; False: it only forgives itself.
    success_clears_failures: bool = False


@dataclass(frozen=True)
class AttemptRecord:
    failures: int = 0
    last_failure_at: float | None = None
    locks_served: int = 0


FRESH = AttemptRecord()


def delay_after(failures: int, policy: AttemptPolicy) -> float:
    """The wait that `failures` failures (short of a lock) impose after the last one."""
    past_free = failures - policy.free_failures
    if past_free <= 0:
        return 0.0
    return min(policy.first_delay_seconds * 2 ** (past_free - 1), policy.max_delay_seconds)


def lock_length(locks_served: int, policy: AttemptPolicy) -> float:
    return min(policy.lock_seconds * policy.lock_growth ** locks_served, policy.max_lock_seconds)


def _wait_ends_at(record: AttemptRecord, policy: AttemptPolicy) -> float:
    if record.last_failure_at is None:
        return -math.inf
    if record.failures >= policy.lock_after:
        return record.last_failure_at + lock_length(record.locks_served, policy)
    return record.last_failure_at + delay_after(record.failures, policy)


def current(record: AttemptRecord, now: float, policy: AttemptPolicy) -> AttemptRecord:
    """The record as it stands at `now`: forgotten when stale, counted from zero once a lock has been served."""
    if record.last_failure_at is None:
        return FRESH
    wait_end = _wait_ends_at(record, policy)
    if now >= max(record.last_failure_at + policy.forget_after_seconds, wait_end):
        return FRESH
    if record.failures >= policy.lock_after and now >= wait_end:
        return AttemptRecord(0, record.last_failure_at, record.locks_served + 1)
    return record


def wait_seconds(record: AttemptRecord, now: float, policy: AttemptPolicy) -> int:
    """Whole seconds until the next attempt may be checked (rounded up); 0: it may be checked now."""
    left = _wait_ends_at(current(record, now, policy), policy) - now
    return math.ceil(left) if left > 0 else 0


def begin_attempt(record: AttemptRecord, now: float, policy: AttemptPolicy) -> tuple[int, AttemptRecord]:
    """(0, the record with this attempt counted as a failure) when it may be checked, else (the wait, the record
    unchanged)."""
    wait = wait_seconds(record, now, policy)
    if wait > 0:
        return wait, record
    standing = current(record, now, policy)
    return 0, AttemptRecord(standing.failures + 1, now, standing.locks_served)


def forgive_attempt(record: AttemptRecord, now: float, policy: AttemptPolicy) -> AttemptRecord:
    """The record with one attempt that `begin_attempt` counted taken back (it was not the subject's failure)."""
    standing = current(record, now, policy)
    return replace(standing, failures=max(standing.failures - 1, 0))


def after_success(record: AttemptRecord, now: float, policy: AttemptPolicy) -> AttemptRecord:
    """The record once an attempt that `begin_attempt` counted has succeeded."""
    if policy.success_clears_failures:
        return replace(current(record, now, policy), failures=0)
    return forgive_attempt(record, now, policy)


def keep_seconds(record: AttemptRecord, now: float, policy: AttemptPolicy) -> int:
    """How long a store must keep the record for it to matter (at least one second)."""
    if record.last_failure_at is None:
        return 1
    until = max(record.last_failure_at + policy.forget_after_seconds, _wait_ends_at(record, policy))
    return max(math.ceil(until - now), 1)
