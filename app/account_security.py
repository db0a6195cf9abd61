"""The sign-in protection a server runs with, built from its settings (docs/security.md)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from app.settings import Settings
from domain.attempts import AttemptPolicy
from services.auth import AccountSecurity, TokenConfig
from services.passwords import PasswordHashing
from services.throttle import AttemptThrottle, ThrottlePolicies

# The growing delays between failures from one address: 1 s after the first failure past the free ones, doubling.
FIRST_DELAY_SECONDS = 1.0
MAX_DELAY_SECONDS = 60.0
# How long an account remembers its failures and locks (so that repeated locks keep doubling).
ACCOUNT_MEMORY_SECONDS = 24 * 3600.0


def throttle_policies(settings: Settings) -> ThrottlePolicies:
    per_address = AttemptPolicy(
        free_failures=settings.throttle_free_failures, first_delay_seconds=FIRST_DELAY_SECONDS,
        max_delay_seconds=MAX_DELAY_SECONDS, lock_after=settings.throttle_lock_after,
        lock_seconds=settings.throttle_lock_seconds, max_lock_seconds=settings.throttle_lock_seconds,
        forget_after_seconds=settings.throttle_lock_seconds)
    # No delays per account, only short locks that double: a stranger can keep the real user out only briefly.
    per_account = AttemptPolicy(
        free_failures=settings.account_lock_after, first_delay_seconds=0.0, max_delay_seconds=0.0,
        lock_after=settings.account_lock_after, lock_seconds=settings.account_lock_seconds,
        max_lock_seconds=settings.account_max_lock_seconds, forget_after_seconds=ACCOUNT_MEMORY_SECONDS,
        lock_growth=2.0, success_clears_failures=True)
    return ThrottlePolicies(per_address, per_account)


def account_security(settings: Settings, clock: Callable[[], float] = time.time) -> AccountSecurity:
    tokens = TokenConfig(settings.jwt_secret, settings.access_token_seconds, settings.refresh_token_days)
    throttle = AttemptThrottle(throttle_policies(settings), settings.jwt_secret, settings.redis_url, clock)
    return AccountSecurity(tokens, PasswordHashing(settings.password_hash_workers), throttle,
                           timedelta(seconds=settings.refresh_reuse_grace_seconds), settings.account_link_url)
