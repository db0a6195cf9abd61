"""Password hashing off the event loop, and the rules a new password must meet.

argon2 is slow on purpose (tens of milliseconds of CPU and 64 MiB per hash). On the event loop, a few parallel
sign-ins would stall every other request of the process, so hashing and verifying run in a small pool of threads of
their own; argon2's C code releases the GIL while it works. The pool is bounded so that a burst of sign-ins queues
for a few cores instead of taking all of them, and its threads run at a low scheduling priority (where the
system allows a thread its own, as Linux does): argon2 spreads one hash over several threads of its own, which
inherit that priority, so even a hash that takes every core gives way to the event loop whenever it has work.

A *weak* password is one a guesser tries early: too short, mostly the account's own email or name, or rated below
`MIN_STRENGTH` (0-4) by zxcvbn, which knows the most common passwords, dictionary words, names, repeats ("aaaa"),
sequences ("12345") and keyboard patterns.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from services.errors import InvalidInputError

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
MIN_STRENGTH = 3
# zxcvbn's cost grows steeply with length; a password whose first 72 characters are strong is strong.
_RATED_LENGTH = 72
T = TypeVar("T")
# The hashing threads' nice value: low enough a priority that the event loop wins the CPU whenever it has work,
# high enough that a hash queued behind a flood of requests still finishes within a second (measured with
# bench/abuse.py: at 19 a sign-in's hash took over a second under a flood of 8 clients; at 10, 0.8 s at most).
HASHING_NICENESS = 10


def _yield_to_the_event_loop() -> None:
    """Runs first in each hashing thread: lower this thread's priority (on Linux a nice value is a thread's own)."""
    # Where there is no per-thread priority, hashing still runs, at normal priority.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


class PasswordHashing:
    """argon2id hashing in a pool of `workers` threads. The pool closes when this object is garbage collected."""

    def __init__(self, workers: int = 2, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._pool = ThreadPoolExecutor(max_workers=max(workers, 1), thread_name_prefix="password-hashing",
                                        initializer=_yield_to_the_event_loop)
        weakref.finalize(self, self._pool.shutdown, wait=False)
        # Verifying against this keeps sign-in time the same whether or not the email exists.
        self._unknown_account_hash = self._hasher.hash("not a real password")

    async def _off_loop(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, work)

    async def hash(self, password: str) -> str:
        return await self._off_loop(functools.partial(self._hasher.hash, password))

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """Whether `password` matches `stored_hash`; None (no such account) takes as long and is never a match."""
        def check() -> bool:
            try:
                return self._hasher.verify(stored_hash or self._unknown_account_hash, password) and bool(stored_hash)
            except (VerificationError, InvalidHashError):
                return False

        return await self._off_loop(check)

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)

    async def weakness(self, password: str, email: str, name: str) -> str | None:
        """Why `password` is too weak for the account of `email` and `name`, or None; rated off the loop too."""
        return await self._off_loop(functools.partial(weakness, password, email, name))


def _personal_words(email: str, name: str) -> list[str]:
    local = email.partition("@")[0]
    words = [email, local, name, *name.split(), *local.replace("_", ".").replace("-", ".").split(".")]
    return [word.lower() for word in words if len(word) >= 3]


def weakness(password: str, email: str, name: str) -> str | None:
    """Why `password` is too weak for the account of `email` and `name`, or None when it is strong enough."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Use at most {MAX_PASSWORD_LENGTH} characters"
    if not password.strip():
        return "Use letters, digits or symbols, not only spaces"
    folded = password.lower()
    personal = _personal_words(email, name)
    if email and email.lower() in folded:
        return "Don't use your email address in your password"
    # What is left once the account's own words are taken out must still be a password.
    for word in sorted(personal, key=len, reverse=True):
        folded = folded.replace(word, "")
    if len(folded.strip()) < MIN_PASSWORD_LENGTH // 2:
        return "Don't build your password from your email address or name"
    rating = zxcvbn(password[:_RATED_LENGTH], user_inputs=personal)
    if rating["score"] >= MIN_STRENGTH:
        return None
    feedback = rating["feedback"]
    reason = feedback["warning"] or "This password is easy to guess"
    hints = " ".join(feedback["suggestions"])
    return f"{reason.rstrip('.')}. {hints}".strip()


async def refuse_weak_password(passwords: PasswordHashing, password: str, email: str, name: str,
                               path: list[str | int]) -> None:
    """A weak new password is an InvalidInputError saying why."""
    reason = await passwords.weakness(password, email, name)
    if reason is not None:
        raise InvalidInputError(path, reason)


async def check_new_password(passwords: PasswordHashing, password: str, email: str, name: str,
                             path: list[str | int]) -> str:
    """The hash of a new password that is strong enough; a weak one is an InvalidInputError saying why."""
    await refuse_weak_password(passwords, password, email, name, path)
    return await passwords.hash(password)
