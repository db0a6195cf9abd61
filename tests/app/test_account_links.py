"""Account links through the real ASGI app and the real mail job, to a real SMTP server on loopback: signing up mails
a link that verifies the address once, within a day; a forgotten password is reset with a mailed link that works
once, within an hour, and signs the account out everywhere; asking for a reset answers the same for an address no
account has; every request that mails someone is throttled; no token reaches the logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from models import AccountToken, AccountTokenPurpose, MailOutbox, User
from services.account_tokens import token_digest
from tests.support.account_mail import INVALID, delivered, link_of, token_of
from tests.support.graphql import GraphQLClient, api_with, sign_up
from tests.support.mail import MAIL_FROM, MailTimeline, mail_runtime, states
from tests.support.smtp import SmtpTestServer, running_smtp

PAT = "pat@example.com"
PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new tuba staple"
VERIFY = """mutation($input: AccountTokenInput!) { verifyEmail(input: $input) { __typename
  ... on User { email emailVerified } ... on ValidationError { message path } } }"""
RESEND = """mutation { resendVerification { __typename ... on ResendVerificationPayload { sent }
  ... on ValidationError { message path } ... on NotAuthorized { message }
  ... on TooManyAttempts { retryAfterSeconds } } }"""
REQUEST_RESET = """mutation($input: RequestPasswordResetInput!) { requestPasswordReset(input: $input) { __typename
  ... on RequestPasswordResetPayload { accepted } ... on ValidationError { message path }
  ... on TooManyAttempts { retryAfterSeconds } } }"""
RESET = """mutation($input: ResetPasswordInput!) { resetPassword(input: $input) { __typename
  ... on ResetPasswordPayload { passwordReset } ... on ValidationError { message path } } }"""
SIGN_IN = """mutation($input: SignInInput!) { signIn(input: $input) { __typename } }"""
REFRESH = """mutation($input: RefreshTokenInput!) { refreshToken(input: $input) { __typename } }"""
VIEWER = "{ viewer { email emailVerified } }"


@pytest.fixture
def smtp() -> Iterator[SmtpTestServer]:
    with running_smtp() as server:
        yield server


@pytest.fixture
def mail_jobs(db: str, redis_url: str, smtp: SmtpTestServer) -> Iterator[MailTimeline]:
    with mail_runtime(db, redis_url, smtp.url):
        yield MailTimeline(redis_url)


async def test_signing_up_mails_a_link_that_verifies_the_address_once(
        api: GraphQLClient, mail_jobs: MailTimeline, smtp: SmtpTestServer) -> None:
    # given a customer who just signed up with a password
    account = await sign_up(api, PAT, name="Pat Doe")
    assert (await api(VIEWER, token=account["accessToken"]))["viewer"] == {"email": PAT, "emailVerified": False}
    # when the mail job runs
    (message,) = await delivered(mail_jobs, smtp, PAT)
    # then one verification mail arrived, linking to the web app's account page with a token
    assert message["Subject"] == "Confirm your email address"
    assert link_of(message).startswith("http://127.0.0.1:8000/account?token=")
    assert await states() == [("account_verify", "sent")]
    # and only the token's digest is stored, valid for a day
    token = token_of(message)
    (stored,) = await AccountToken.all()
    assert (stored.purpose, stored.token_hash, stored.used_at) == (AccountTokenPurpose.VERIFY_EMAIL,
                                                                   token_digest(token), None)
    assert timedelta(hours=23, minutes=59) < stored.expires_at - stored.created_at <= timedelta(hours=24)
    # and the sent mail's row keeps no copy of the link's token
    (sent,) = await MailOutbox.all()
    assert token not in str(sent.data) and "link" not in sent.data
    # when the link is opened
    verified = await api(VERIFY, {"input": {"token": token}})
    # then the address is verified
    assert verified["verifyEmail"] == {"__typename": "User", "email": PAT, "emailVerified": True}
    assert (await api(VIEWER, token=account["accessToken"]))["viewer"] == {"email": PAT, "emailVerified": True}
    # and the link works once only
    assert (await api(VERIFY, {"input": {"token": token}}))["verifyEmail"] == INVALID


async def test_account_mail_comes_from_the_deployments_name_not_a_bare_address(
        api: GraphQLClient, db: str, redis_url: str, smtp: SmtpTestServer) -> None:
    # given a customer who signed up (a verification mail owed) and asked to reset their password
    await sign_up(api, PAT, name="Pat Doe")
    with mail_runtime(db, redis_url, smtp.url):
        # when the mail goes with the deployment's name left as it is
        (verify,) = await delivered(MailTimeline(redis_url), smtp, PAT)
    await api(REQUEST_RESET, {"input": {"email": PAT}})
    with mail_runtime(db, redis_url, smtp.url, mail_from_name="Fix-It Bookings"):
        # and when it goes with LOCKSTEP_MAIL_FROM_NAME set
        reset = (await delivered(MailTimeline(redis_url), smtp, PAT))[1]
    # then each comes from that name at the deployment's address, not from a bare address
    assert [(message["Subject"], str(message["From"])) for message in (verify, reset)] == [
        ("Confirm your email address", f"Lockstep <{MAIL_FROM}>"),
        ("Reset your password", f"Fix-It Bookings <{MAIL_FROM}>")]


async def test_an_expired_or_unknown_verification_link_changes_nothing(
        api: GraphQLClient, mail_jobs: MailTimeline, smtp: SmtpTestServer) -> None:
    # given a verification link whose day has passed
    await sign_up(api, PAT)
    (message,) = await delivered(mail_jobs, smtp, PAT)
    await AccountToken.all().update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    # when it is opened, and so is a token never issued
    expired = await api(VERIFY, {"input": {"token": token_of(message)}})
    unknown = await api(VERIFY, {"input": {"token": "never-issued-" + "x" * 30}})
    # then both are refused alike and the address stays unverified
    assert expired["verifyEmail"] == INVALID and unknown["verifyEmail"] == INVALID
    assert (await User.get(email=PAT)).email_verified_at is None
    assert (await AccountToken.get()).used_at is None


async def test_a_signed_in_unverified_user_can_have_the_link_sent_again_a_few_times(
        api: GraphQLClient, mail_jobs: MailTimeline, smtp: SmtpTestServer) -> None:
    # given a signed-in user whose address is not verified
    access = (await sign_up(api, PAT))["accessToken"]
    # when they ask for the link again and again
    answers = [(await api(RESEND, token=access))["resendVerification"] for _ in range(6)]
    # then four more links go out, and the next ones are held back
    assert [answer["__typename"] for answer in answers] == ["ResendVerificationPayload"] * 4 + ["TooManyAttempts"] * 2
    messages = await delivered(mail_jobs, smtp, PAT)
    assert len(messages) == 5 and len({token_of(message) for message in messages}) == 5
    # and any of them verifies the address
    assert (await api(VERIFY, {"input": {"token": token_of(messages[2])}}))["verifyEmail"]["emailVerified"] is True
    # and nobody signed out can ask
    assert (await api(RESEND))["resendVerification"] == {"__typename": "NotAuthorized", "message": "Sign in first"}


async def test_a_verified_address_has_nothing_to_resend(api: GraphQLClient, mail_jobs: MailTimeline,
                                                        smtp: SmtpTestServer) -> None:
    access = (await sign_up(api, PAT))["accessToken"]
    (message,) = await delivered(mail_jobs, smtp, PAT)
    await api(VERIFY, {"input": {"token": token_of(message)}})
    assert (await api(RESEND, token=access))["resendVerification"] == {
        "__typename": "ValidationError", "message": "This email address is verified already", "path": []}


async def test_a_password_reset_link_sets_the_password_once_and_signs_out_everywhere(
        api: GraphQLClient, mail_jobs: MailTimeline, smtp: SmtpTestServer, caplog: pytest.LogCaptureFixture) -> None:
    # (ours at DEBUG, the rest at INFO, as LOCKSTEP_LOG_LEVEL=DEBUG has it: the drivers' DEBUG lines stay off)
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="lockstep")
    # given an account signed in on two devices
    first = await sign_up(api, PAT)
    second = (await api("""mutation($input: SignInInput!) { signIn(input: $input) { ... on AuthPayload {
        refreshToken } } }""", {"input": {"email": PAT, "password": PASSWORD}}))["signIn"]
    await delivered(mail_jobs, smtp, PAT)
    # when a reset is asked for (in another case)
    answer = await api(REQUEST_RESET, {"input": {"email": " PAT@Example.com "}})
    assert answer["requestPasswordReset"] == {"__typename": "RequestPasswordResetPayload", "accepted": True}
    (_, message) = await delivered(mail_jobs, smtp, PAT)
    assert message["Subject"] == "Reset your password"
    token = token_of(message)
    stored = await AccountToken.get(purpose=AccountTokenPurpose.RESET_PASSWORD)
    assert stored.token_hash == token_digest(token)
    assert timedelta(minutes=59) < stored.expires_at - stored.created_at <= timedelta(hours=1)
    # then a weak password is refused and the link still works
    weak = await api(RESET, {"input": {"token": token, "newPassword": "short"}})
    assert weak["resetPassword"]["__typename"] == "ValidationError"
    assert weak["resetPassword"]["path"] == ["input", "newPassword"]
    # when a strong one is set with it
    reset = await api(RESET, {"input": {"token": token, "newPassword": NEW_PASSWORD}})
    assert reset["resetPassword"] == {"__typename": "ResetPasswordPayload", "passwordReset": True}
    # then the new password signs in and the old one does not
    assert (await api(SIGN_IN, {"input": {"email": PAT, "password": NEW_PASSWORD}}))["signIn"] == {
        "__typename": "AuthPayload"}
    assert (await api(SIGN_IN, {"input": {"email": PAT, "password": PASSWORD}}))["signIn"] == {
        "__typename": "AuthenticationFailed"}
    # and both devices were signed out
    for refresh_token in (first["refreshToken"], second["refreshToken"]):
        assert (await api(REFRESH, {"input": {"refreshToken": refresh_token}}))["refreshToken"] == {
            "__typename": "AuthenticationFailed"}
    # and the link works once only
    again = await api(RESET, {"input": {"token": token, "newPassword": "yet another fine tuba"}})
    assert again["resetPassword"] == INVALID
    # and no token of the account is in the logs
    for secret in (token, first["refreshToken"], second["refreshToken"]):
        assert secret not in caplog.text


async def test_an_expired_reset_link_changes_nothing(api: GraphQLClient, mail_jobs: MailTimeline,
                                                     smtp: SmtpTestServer) -> None:
    account = await sign_up(api, PAT)
    await api(REQUEST_RESET, {"input": {"email": PAT}})
    (_, message) = await delivered(mail_jobs, smtp, PAT)
    await AccountToken.filter(purpose=AccountTokenPurpose.RESET_PASSWORD).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1))
    answer = await api(RESET, {"input": {"token": token_of(message), "newPassword": NEW_PASSWORD}})
    assert answer["resetPassword"] == INVALID
    assert (await api(SIGN_IN, {"input": {"email": PAT, "password": PASSWORD}}))["signIn"] == {
        "__typename": "AuthPayload"}
    assert (await api(REFRESH, {"input": {"refreshToken": account["refreshToken"]}}))["refreshToken"] == {
        "__typename": "AuthPayload"}


async def test_asking_a_reset_for_an_address_without_account_answers_the_same_and_mails_nobody(
        api: GraphQLClient, mail_jobs: MailTimeline, smtp: SmtpTestServer) -> None:
    # given one account
    await sign_up(api, PAT)
    await delivered(mail_jobs, smtp, PAT)
    # when a reset is asked for it and for an address no account has
    known = await api.raw(REQUEST_RESET, {"input": {"email": PAT}})
    unknown = await api.raw(REQUEST_RESET, {"input": {"email": "nobody@example.com"}})
    # then the answers are the same, byte for byte
    assert known == unknown
    # and only the account's owner gets mail
    await delivered(mail_jobs, smtp, PAT)
    assert [item.recipients for item in smtp.received] == [[PAT], [PAT]]
    assert await states() == [("account_verify", "sent"), ("password_reset", "sent")]


async def test_reset_requests_are_throttled_per_client_address_alike_for_every_address(api: GraphQLClient) -> None:
    await sign_up(api, PAT)
    emails = [PAT, "nobody@example.com", PAT, "nobody@example.com", PAT, "nobody@example.com"]
    answers = [(await api(REQUEST_RESET, {"input": {"email": email}}))["requestPasswordReset"]["__typename"]
               for email in emails]
    assert answers == ["RequestPasswordResetPayload"] * 4 + ["TooManyAttempts"] * 2


@pytest.mark.parametrize("email", [PAT, "nobody@example.com"])
async def test_reset_requests_are_throttled_per_address_asked_for(db: str, email: str) -> None:
    # given a server whose per-client limit is far away, so only the per-address one counts
    async with api_with(throttle_free_failures=100, throttle_lock_after=100) as (api, _):
        await sign_up(api, PAT)
        # when one address is asked for over and over, and then another
        answers = [(await api(REQUEST_RESET, {"input": {"email": email}}))["requestPasswordReset"]["__typename"]
                   for _ in range(11)]
        other = await api(REQUEST_RESET, {"input": {"email": "someone-else@example.com"}})
    # then the address is held back after ten, whether or not an account has it, and another address is not
    assert answers == ["RequestPasswordResetPayload"] * 10 + ["TooManyAttempts"]
    assert other["requestPasswordReset"]["__typename"] == "RequestPasswordResetPayload"
