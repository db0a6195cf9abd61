"""Sign-in protection through the real ASGI app: throttled attempts per address and per account, weak passwords,
and the refresh-token grace."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import replace

import httpx
import pytest
from starlette.applications import Starlette

from app.account_security import account_security
from app.main import create_app
from app.settings import Settings
from models import RefreshToken, Staff, User
from services.metrics import throttled_sign_ins
from tests.support.graphql import SIGN_UP, GraphQLClient, given_shop, sign_up

SIGN_IN = """mutation($input: SignInInput!) { signIn(input: $input) { __typename
  ... on AuthPayload { refreshToken } ... on AuthenticationFailed { message }
  ... on TooManyAttempts { message retryAfterSeconds } } }"""
REFRESH = """mutation($input: RefreshTokenInput!) { refreshToken(input: $input) { __typename
  ... on AuthPayload { refreshToken } ... on AuthenticationFailed { message }
  ... on TooManyAttempts { retryAfterSeconds } } }"""
ACCEPT = """mutation($input: AcceptStaffInviteInput!) { acceptStaffInvite(input: $input) { __typename
  ... on ValidationError { message path } ... on TooManyAttempts { retryAfterSeconds } } }"""
RIGHT = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class Server:
    """One app with a clock the test moves, reached from any client address."""

    def __init__(self, app: Starlette, clock: Clock, stack: AsyncExitStack) -> None:
        self.app, self.clock, self.stack = app, clock, stack

    async def client(self, address: str, headers: dict[str, str] | list[tuple[str, str]] | None = None
                     ) -> GraphQLClient:
        transport = httpx.ASGITransport(app=self.app, client=(address, 40000))
        http = await self.stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url="http://lockstep.test", headers=headers))
        return GraphQLClient(http)


@pytest.fixture
async def server(db: str) -> AsyncIterator[Server]:
    settings = replace(Settings.from_env(), trusted_proxies=("10.0.0.0/8",))
    clock = Clock()
    async with AsyncExitStack() as stack:
        yield Server(create_app(settings, accounts=account_security(settings, clock)), clock, stack)


async def sign_in(client: GraphQLClient, password: str, email: str = "pat@example.com") -> dict[str, object]:
    data = await client(SIGN_IN, {"input": {"email": email, "password": password}})
    return data["signIn"]  # type: ignore[no-any-return]


WRONG = {"__typename": "AuthenticationFailed", "message": "Email or password is wrong"}


def waiting(seconds: int) -> dict[str, object]:
    return {"__typename": "TooManyAttempts", "message": f"Too many attempts; try again in {seconds} seconds",
            "retryAfterSeconds": seconds}


async def test_wrong_passwords_from_one_address_meet_growing_waits_then_a_lock_that_refuses_even_the_right_one(
        server: Server) -> None:
    # given an account and a guesser at one address
    guesser = await server.client("203.0.113.7")
    await sign_up(guesser, "pat@example.com")
    tokens_before = await RefreshToken.all().count()
    throttled_before = throttled_sign_ins("signIn")
    # when it guesses as fast as it can: three free failures, then each failure makes it wait longer
    answers = [await sign_in(guesser, "wrong password!!") for _ in range(5)]
    assert answers == [WRONG, WRONG, WRONG, WRONG, waiting(1)]
    waits = []
    for _ in range(6):
        server.clock.now += 64  # past any delay, not long enough to be forgotten
        assert await sign_in(guesser, "wrong password!!") == WRONG
        waits.append((await sign_in(guesser, "wrong password!!"))["retryAfterSeconds"])
    # then the tenth failure locks the address for fifteen minutes, and the right password is refused too
    assert waits == [2, 4, 8, 16, 32, 900]
    assert await sign_in(guesser, RIGHT) == waiting(900)
    assert await RefreshToken.all().count() == tokens_before
    assert throttled_sign_ins("signIn") == throttled_before + 8
    # and after the lock the right password works
    server.clock.now += 900
    assert (await sign_in(guesser, RIGHT))["__typename"] == "AuthPayload"


async def test_another_address_is_not_held_up_by_a_guessers_lock(server: Server) -> None:
    guesser, owner = await server.client("203.0.113.7"), await server.client("198.51.100.20")
    await sign_up(owner, "pat@example.com")
    for _ in range(5):
        await sign_in(guesser, "wrong password!!")
    assert (await sign_in(owner, RIGHT))["__typename"] == "AuthPayload"


async def test_guessing_one_account_from_many_addresses_locks_it_briefly_then_for_doubling_times(
        server: Server) -> None:
    # given an account guessed at from ten addresses, two guesses each
    await sign_up(await server.client("198.51.100.20"), "pat@example.com")
    guessers = [await server.client(f"203.0.113.{n}") for n in range(1, 11)]
    for guesser in guessers[:5]:
        assert [await sign_in(guesser, "wrong password!!") for _ in range(2)] == [WRONG, WRONG]
    # then the account is locked for a minute from every address, the owner's too
    owner = await server.client("198.51.100.20")
    assert await sign_in(owner, RIGHT) == waiting(60)
    assert (await sign_in(guessers[9], RIGHT, email="someone.else@example.com"))["__typename"] == \
        "AuthenticationFailed"
    # and when the guessing goes on after it, the next lock lasts twice as long
    server.clock.now += 60
    for guesser in guessers[5:]:
        await sign_in(guesser, "wrong password!!")
        await sign_in(guesser, "wrong password!!")
    assert await sign_in(owner, RIGHT) == waiting(120)
    server.clock.now += 120
    assert (await sign_in(owner, RIGHT))["__typename"] == "AuthPayload"


async def test_an_address_the_owner_signed_in_from_is_not_locked_out_by_strangers(server: Server) -> None:
    # given an owner who has signed in from their phone's address before
    owner = await server.client("198.51.100.20")
    await sign_up(owner, "pat@example.com")
    assert (await sign_in(owner, RIGHT))["__typename"] == "AuthPayload"
    # when strangers at ten addresses guess the account's password until it is locked
    for n in range(1, 11):
        guesser = await server.client(f"203.0.113.{n}")
        await sign_in(guesser, "wrong password!!")
    assert await sign_in(await server.client("203.0.113.11"), RIGHT) == waiting(60)
    # then the owner still signs in from their own address, and the account stays locked for everyone else
    assert (await sign_in(owner, RIGHT))["__typename"] == "AuthPayload"
    assert await sign_in(await server.client("203.0.113.12"), RIGHT) == waiting(60)


async def test_successful_sign_ins_are_never_throttled(server: Server) -> None:
    client = await server.client("203.0.113.7")
    await sign_up(client, "pat@example.com")
    answers = {(await sign_in(client, RIGHT))["__typename"] for _ in range(12)}
    assert answers == {"AuthPayload"}


async def test_x_forwarded_for_names_the_client_only_behind_a_trusted_proxy(server: Server) -> None:
    # given a guesser that writes its own X-Forwarded-For, first directly, then through our proxy
    await sign_up(await server.client("198.51.100.20"), "pat@example.com")
    direct = await server.client("203.0.113.7", {"X-Forwarded-For": "192.0.2.1"})
    for _ in range(4):
        await sign_in(direct, "wrong password!!")
    # then a forged header does not get it a fresh count, and through a trusted proxy the header names the client
    assert await sign_in(direct, "wrong password!!") == waiting(1)
    proxied = await server.client("10.0.0.5", {"X-Forwarded-For": "203.0.113.7"})
    assert await sign_in(proxied, "wrong password!!") == waiting(1)
    other = await server.client("10.0.0.5", {"X-Forwarded-For": "203.0.113.8"})
    assert await sign_in(other, "wrong password!!") == WRONG


async def test_a_forged_first_forwarded_line_does_not_hide_the_line_a_trusted_proxy_added(server: Server) -> None:
    # given a guesser behind our proxy that starts every request with a forged X-Forwarded-For line of its own
    await sign_up(await server.client("198.51.100.20"), "pat@example.com")
    answers = []
    for n in range(5):
        forged = await server.client("10.0.0.5", [("X-Forwarded-For", f"192.0.2.{n}"),
                                                  ("X-Forwarded-For", "203.0.113.7")])
        answers.append(await sign_in(forged, "wrong password!!"))
    # then every attempt counts for the address the proxy saw
    assert answers == [WRONG, WRONG, WRONG, WRONG, waiting(1)]


async def test_sign_up_accept_invite_and_refresh_are_throttled_too(server: Server) -> None:
    # given a shop with a pending invitation, and a guesser
    await given_shop(await server.client("198.51.100.20"))
    guesser = await server.client("203.0.113.7")
    # when it guesses invitation codes, refresh tokens and sign-ups with taken emails
    codes = [(await guesser(ACCEPT, {"input": {"code": f"guess-{n}", "password": RIGHT}}))["acceptStaffInvite"]
             for n in range(5)]
    refreshes = [(await guesser(REFRESH, {"input": {"refreshToken": f"guess-{n}"}}))["refreshToken"]
                 for n in range(5)]
    sign_ups = [(await guesser(SIGN_UP, {"input": {"email": "owner@example.com", "password": RIGHT,
                                                   "name": "Olga"}}))["signUp"]["__typename"] for _ in range(5)]
    # then each is refused for a while after four failures, and nothing was created
    assert [code["__typename"] for code in codes] == ["ValidationError"] * 4 + ["TooManyAttempts"]
    assert [answer["__typename"] for answer in refreshes] == ["AuthenticationFailed"] * 4 + ["TooManyAttempts"]
    assert sign_ups == ["ValidationError"] * 4 + ["TooManyAttempts"]
    assert await User.all().count() == 1
    assert (await Staff.get(email="sam@example.com")).user_id is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(("password", "reason"), [
    ("aaaaaaaaaa", 'Repeats like "aaa" are easy to guess.'),
    ("1234567890", "This is a top-100 common password."),
    ("password12", "This is a very common password."),
    (" " * 10, "Use letters, digits or symbols, not only spaces"),
    ("kim.new@example.com", "Don't use your email address in your password"),
])
async def test_weak_passwords_are_refused_at_sign_up_and_create_nothing(server: Server, password: str,
                                                                         reason: str) -> None:
    client = await server.client("203.0.113.7")
    data = await client(SIGN_UP, {"input": {"email": "kim.new@example.com", "password": password, "name": "Kim"}})
    assert data["signUp"]["__typename"] == "ValidationError"
    assert data["signUp"]["path"] == ["input", "password"]
    assert data["signUp"]["message"].startswith(reason)
    assert await User.all().count() == 0


async def test_a_weak_password_is_refused_when_accepting_an_invitation(server: Server) -> None:
    shop = await given_shop(await server.client("198.51.100.20"))
    data = await (await server.client("203.0.113.7"))(ACCEPT, {"input": {"code": shop.staff_invite,
                                                                         "password": "sam tech sam"}})
    assert data["acceptStaffInvite"] == {"__typename": "ValidationError", "path": ["input", "password"],
                                         "message": "Don't build your password from your email address or name"}
    assert (await Staff.get(email="sam@example.com")).user_id is None  # type: ignore[attr-defined]


async def test_a_quick_reuse_of_a_refresh_token_from_another_address_revokes_the_family(server: Server) -> None:
    # given a refresh token exchanged by its client
    client = await server.client("198.51.100.20")
    first = await sign_up(client, "pat@example.com")
    winner = await client(REFRESH, {"input": {"refreshToken": first["refreshToken"]}})
    # when someone elsewhere presents the same token a moment later
    thief = await server.client("203.0.113.7")
    replay = await thief(REFRESH, {"input": {"refreshToken": first["refreshToken"]}})
    # then the grace does not apply: the family is revoked, the winner's new token too
    assert replay["refreshToken"] == {"__typename": "AuthenticationFailed",
                                      "message": "Refresh token was already used; sign in again"}
    after = await client(REFRESH, {"input": {"refreshToken": winner["refreshToken"]["refreshToken"]}})
    assert after["refreshToken"]["__typename"] == "AuthenticationFailed"


async def test_the_refresh_grace_is_a_setting(db: str) -> None:
    # given a server whose grace is off
    settings = replace(Settings.from_env(), refresh_reuse_grace_seconds=0)
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://lockstep.test") as http:
        client = GraphQLClient(http)
        first = await sign_up(client, "pat@example.com")
        winner = await client(REFRESH, {"input": {"refreshToken": first["refreshToken"]}})
        # when the same client retries at once, then even that revokes the family
        retry = await client(REFRESH, {"input": {"refreshToken": first["refreshToken"]}})
        assert retry["refreshToken"]["message"] == "Refresh token was already used; sign in again"
        after = await client(REFRESH, {"input": {"refreshToken": winner["refreshToken"]["refreshToken"]}})
        assert after["refreshToken"]["__typename"] == "AuthenticationFailed"
