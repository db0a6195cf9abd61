"""Password hashing runs off the event loop; weak passwords are refused with the reason."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from services.errors import InvalidInputError
from services.passwords import HASHING_NICENESS, PasswordHashing, check_new_password, weakness

EMAIL = "pat.doe@example.com"
NAME = "Pat Doe"


async def ticks_while(work: asyncio.Future[Any]) -> int:
    """How often a timer task on the loop got to run (every millisecond) before `work` finished."""
    ticks = 0
    while not work.done():
        await asyncio.sleep(0.001)
        ticks += 1
    await work
    return ticks


async def test_the_event_loop_keeps_running_while_several_passwords_are_hashed() -> None:
    # given a hashing pool of two threads
    passwords = PasswordHashing(workers=2)
    # when four passwords are hashed and verified at once
    work = asyncio.ensure_future(asyncio.gather(
        *(passwords.hash(f"a long enough password {n}") for n in range(4)),
        passwords.verify(None, "whatever it is")))
    ticks = await ticks_while(work)
    # then a timer on the loop ran many times meanwhile: each hash takes tens of milliseconds, and on the loop the
    # timer could only have run between them
    assert ticks >= 20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread has a priority of its own on Linux only")
async def test_hashing_threads_give_way_to_the_event_loop() -> None:
    # given a hashing pool that has hashed a password (so its thread exists)
    passwords = PasswordHashing(workers=1)
    await passwords.hash("a long enough password")
    # then its thread runs at the hashing priority, below the event loop's thread
    hashing = [thread for thread in threading.enumerate() if thread.name.startswith("password-hashing")]
    assert hashing
    assert {os.getpriority(os.PRIO_PROCESS, thread.native_id or 0) for thread in hashing} == {HASHING_NICENESS}
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) < HASHING_NICENESS


async def test_verify_matches_only_the_right_password_and_never_a_missing_account() -> None:
    passwords = PasswordHashing(workers=1)
    stored = await passwords.hash("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert await passwords.verify(stored, "correct horse battery") is True
    assert await passwords.verify(stored, "correct horse batter") is False
    assert await passwords.verify("not a hash", "correct horse battery") is False
    assert await passwords.verify(None, "not a real password") is False


@pytest.mark.parametrize(("password", "reason"), [
    ("aaaaaaaaaa", 'Repeats like "aaa" are easy to guess. Add another word or two. Uncommon words are better. '
                   "Avoid repeated words and characters."),
    ("1234567890", "This is a top-100 common password. Add another word or two. Uncommon words are better."),
    ("password12", "This is a very common password. Add another word or two. Uncommon words are better."),
    (" " * 10, "Use letters, digits or symbols, not only spaces"),
    ("pat.doe@example.com", "Don't use your email address in your password"),
    ("PAT.DOE@EXAMPLE.COM!", "Don't use your email address in your password"),
    ("PatDoe2026", "Don't build your password from your email address or name"),
    ("short", "Use at least 10 characters"),
    ("x" * 1025, "Use at most 1024 characters"),
])
def test_weak_passwords_are_refused_with_the_reason(password: str, reason: str) -> None:
    assert weakness(password, EMAIL, NAME) == reason


@pytest.mark.parametrize("password", ["correct horse battery", "plum-orbit-cactus-42", "a9!Qv7#mLp2x",
                                      "staff pass 123", "Pat's violet kettle 7" + "z" * 1000])
def test_strong_passwords_pass(password: str) -> None:
    assert weakness(password, EMAIL, NAME) is None


async def test_a_weak_new_password_is_a_validation_error_on_its_field() -> None:
    with pytest.raises(InvalidInputError) as refused:
        await check_new_password(PasswordHashing(workers=1), "password12", EMAIL, NAME, ["input", "password"])
    assert (refused.value.path, refused.value.message) == (
        ["input", "password"], "This is a very common password. Add another word or two. Uncommon words are better.")


# zxcvbn takes a few milliseconds per password, far more on a busy machine.
@settings(deadline=None)
@given(st.characters(codec="utf-8"), st.integers(min_value=10, max_value=80))
def test_one_character_repeated_is_never_strong(character: str, length: int) -> None:
    assert weakness(character * length, EMAIL, NAME) is not None


@settings(deadline=None)
@given(st.emails())
def test_an_accounts_own_email_is_never_its_password(email: str) -> None:
    password = email if len(email) >= 10 else email * 2
    assert weakness(password, email, "Alex Smith") is not None
