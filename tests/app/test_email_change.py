"""Changing an account's address through the real ASGI app and the real mail job, to a real SMTP server on loopback:
the new address gets a link, the account keeps its address until the link is opened, the link works once within a
day, and it changes nothing when another account has taken the address meanwhile."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from domain.mail import MailKind
from models import AccountToken, AccountTokenPurpose, MailOutbox, User
from services.account_tokens import token_digest
from tests.support.account_mail import INVALID, delivered, token_of
from tests.support.graphql import GraphQLClient, api_with, sign_up
from tests.support.mail import MAIL_FROM, MailTimeline, mail_runtime
from tests.support.smtp import SmtpTestServer, parts, running_smtp

PAT = "pat@example.com"
PASSWORD = "correct horse battery"
NEW = "pat.new@example.com"
SIGN_IN = """mutation($input: SignInInput!) { signIn(input: $input) { __typename } }"""
REQUEST = """mutation($input: RequestEmailChangeInput!) { requestEmailChange(input: $input) { __typename
  ... on RequestEmailChangePayload { sent } ... on ValidationError { message path } ... on NotAuthorized { message }
  ... on TooManyAttempts { retryAfterSeconds } } }"""
CONFIRM = """mutation($input: AccountTokenInput!) { confirmEmailChange(input: $input) { __typename
  ... on User { email emailVerified } ... on ValidationError { message path } } }"""
VIEWER = "{ viewer { email emailVerified } }"


@pytest.fixture
def smtp() -> Iterator[SmtpTestServer]:
    with running_smtp() as server:
        yield server


@pytest.fixture
def mail_jobs(db: str, redis_url: str, smtp: SmtpTestServer) -> Iterator[MailTimeline]:
    with mail_runtime(db, redis_url, smtp.url):
        yield MailTimeline(redis_url)


async def signed_up(api: GraphQLClient, mail_jobs: MailTimeline, smtp: SmtpTestServer) -> str:
    """Pat's access token, their sign-up's verification mail delivered."""
    access = (await sign_up(api, PAT))["accessToken"]
    assert len(await delivered(mail_jobs, smtp, PAT)) == 1
    return str(access)


async def test_the_new_address_is_confirmed_by_a_link_mailed_to_it_before_it_counts(
        api: GraphQLClient, mail_jobs: MailTimeline, smtp: SmtpTestServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="lockstep")
    access = await signed_up(api, mail_jobs, smtp)
    # when Pat asks for a new address, confirming with their password
    answer = await api(REQUEST, {"input": {"newEmail": " Pat.New@Example.com", "password": PASSWORD}}, access)
    assert answer["requestEmailChange"] == {"__typename": "RequestEmailChangePayload", "sent": True}
    # then the new address gets a link, and the old one nothing more
    (message,) = await delivered(mail_jobs, smtp, NEW)
    assert message["Subject"] == "Confirm your new email address"
    assert len(smtp.to(PAT)) == 1
    token = token_of(message)
    stored = await AccountToken.get(purpose=AccountTokenPurpose.CHANGE_EMAIL)
    assert (stored.token_hash, stored.new_email) == (token_digest(token), NEW)
    assert timedelta(hours=23, minutes=59) < stored.expires_at - stored.created_at <= timedelta(hours=24)
    # and until it is opened the account keeps its address
    assert (await api(VIEWER, token=access))["viewer"] == {"email": PAT, "emailVerified": False}
    # when it is opened
    confirmed = await api(CONFIRM, {"input": {"token": token}})
    # then the account has the new address, verified, and signs in with it
    assert confirmed["confirmEmailChange"] == {"__typename": "User", "email": NEW, "emailVerified": True}
    assert (await api(VIEWER, token=access))["viewer"] == {"email": NEW, "emailVerified": True}
    assert (await api(SIGN_IN, {"input": {"email": NEW, "password": PASSWORD}}))["signIn"] == {
        "__typename": "AuthPayload"}
    assert (await api(SIGN_IN, {"input": {"email": PAT, "password": PASSWORD}}))["signIn"] == {
        "__typename": "AuthenticationFailed"}
    # and the link works once only
    assert (await api(CONFIRM, {"input": {"token": token}}))["confirmEmailChange"] == INVALID
    assert token not in caplog.text


async def test_a_wrong_password_or_the_accounts_own_address_sends_nothing(
        api: GraphQLClient, mail_jobs: MailTimeline, smtp: SmtpTestServer) -> None:
    access = await signed_up(api, mail_jobs, smtp)
    await MailOutbox.filter(kind=MailKind.ACCOUNT_VERIFY.value).delete()
    wrong = await api(REQUEST, {"input": {"newEmail": NEW, "password": "not the password"}}, access)
    missing = await api(REQUEST, {"input": {"newEmail": NEW}}, access)
    same = await api(REQUEST, {"input": {"newEmail": PAT, "password": PASSWORD}}, access)
    assert wrong["requestEmailChange"] == missing["requestEmailChange"] == {
        "__typename": "ValidationError", "message": "The password is wrong", "path": ["input", "password"]}
    assert same["requestEmailChange"] == {"__typename": "ValidationError", "path": ["input", "newEmail"],
                                          "message": "This is the account's address already"}
    assert await MailOutbox.all().count() == 0 and await AccountToken.filter(purpose="change_email").count() == 0
    assert (await api(REQUEST, {"input": {"newEmail": NEW, "password": PASSWORD}}))["requestEmailChange"] == {
        "__typename": "NotAuthorized", "message": "Sign in first"}


async def accounts() -> list[tuple[str, str, bool, str]]:
    return [(user.email, user.name, user.email_verified_at is not None, user.password_hash)
            for user in await User.all().order_by("id")]


async def test_an_address_another_account_has_gets_the_free_addresses_answer_and_no_link(
        api: GraphQLClient, mail_jobs: MailTimeline, smtp: SmtpTestServer) -> None:
    # given Pat, and Tia whose account has the address Pat will ask for
    access = await signed_up(api, mail_jobs, smtp)
    await sign_up(api, "tia@example.com", name="Tia Taken")
    assert len(await delivered(mail_jobs, smtp, "tia@example.com")) == 1
    smtp.received.clear()
    before = await accounts()
    # when Pat asks for Tia's address, and for a free one
    taken = await api.raw(REQUEST, {"input": {"newEmail": "Tia@Example.com", "password": PASSWORD}}, access)
    free = await api.raw(REQUEST, {"input": {"newEmail": NEW, "password": PASSWORD}}, access)
    # then both answers are the same, word for word
    assert taken == free == {"data": {"requestEmailChange": {"__typename": "RequestEmailChangePayload",
                                                             "sent": True}}}
    # and only the free address has a change request, whose link went to it
    assert await AccountToken.filter(purpose=AccountTokenPurpose.CHANGE_EMAIL).values_list(
        "new_email", flat=True) == [NEW]
    (link_mail,) = await delivered(mail_jobs, smtp, NEW)
    assert (link_mail["Subject"], str(link_mail["From"])) == ("Confirm your new email address",
                                                              f"Lockstep <{MAIL_FROM}>")
    # and Tia is told someone tried, with no link, and Pat hears nothing more
    (notice,) = smtp.to("tia@example.com")
    assert notice["Subject"] == "Someone tried to use your email address"
    assert parts(notice)["text/plain"] == (
        "Hello Tia Taken,\n\nSomeone signed in to another account asked to make this email address theirs. Nothing "
        "has changed: the address stays with your account, and the other account was not told that it is yours."
        "\n\nYou need not do anything.\n")
    assert "http" not in parts(notice)["text/html"] and "token" not in notice.as_string()
    assert smtp.to(PAT) == []
    # and no account changed
    assert await accounts() == before


async def test_asking_for_a_taken_address_counts_against_the_same_throttle(db: str) -> None:
    # given a server that locks a client address out after three requests that mail (no growing delays, so the
    # count alone decides, however long a request takes)
    async with api_with(throttle_free_failures=100, throttle_lock_after=3) as (api, _):
        access = (await sign_up(api, PAT))["accessToken"]
        await sign_up(api, "tia@example.com")
        # when Pat asks for the taken address twice and a free one, then for each again
        answers = [(await api(REQUEST, {"input": {"newEmail": address, "password": PASSWORD}},
                              access))["requestEmailChange"]["__typename"]
                   for address in ["tia@example.com", "tia@example.com", NEW, "tia@example.com", NEW]]
    # then all three counted alike, and both kinds are held back after them
    assert answers == ["RequestEmailChangePayload"] * 3 + ["TooManyAttempts"] * 2


async def test_an_address_taken_meanwhile_changes_nothing(
        api: GraphQLClient, mail_jobs: MailTimeline, smtp: SmtpTestServer) -> None:
    # given a change link for an address that someone else signs up with before it is opened
    access = await signed_up(api, mail_jobs, smtp)
    await api(REQUEST, {"input": {"newEmail": NEW, "password": PASSWORD}}, access)
    (message,) = await delivered(mail_jobs, smtp, NEW)
    await sign_up(api, NEW)
    # when the link is opened
    answer = await api(CONFIRM, {"input": {"token": token_of(message)}})
    # then it is refused and the account keeps its address
    assert answer["confirmEmailChange"] == {"__typename": "ValidationError", "path": ["input", "token"],
                                            "message": "An account with this email already exists"}
    assert [user.email for user in await User.all().order_by("id")] == [PAT, NEW]


async def test_an_expired_change_link_changes_nothing(
        api: GraphQLClient, mail_jobs: MailTimeline, smtp: SmtpTestServer) -> None:
    access = await signed_up(api, mail_jobs, smtp)
    await api(REQUEST, {"input": {"newEmail": NEW, "password": PASSWORD}}, access)
    (message,) = await delivered(mail_jobs, smtp, NEW)
    await AccountToken.filter(purpose=AccountTokenPurpose.CHANGE_EMAIL).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert (await api(CONFIRM, {"input": {"token": token_of(message)}}))["confirmEmailChange"] == INVALID
    assert (await api(VIEWER, token=access))["viewer"] == {"email": PAT, "emailVerified": False}


async def test_change_mail_is_throttled(api: GraphQLClient) -> None:
    access = (await sign_up(api, PAT))["accessToken"]
    answers = [(await api(REQUEST, {"input": {"newEmail": f"new{n}@example.com", "password": PASSWORD}},
                          access))["requestEmailChange"]["__typename"] for n in range(6)]
    assert answers == ["RequestEmailChangePayload"] * 4 + ["TooManyAttempts"] * 2
