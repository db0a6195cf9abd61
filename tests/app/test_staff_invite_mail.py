"""Staff invitations by mail, through the real ASGI app and the real mail job, to a real SMTP server on loopback:
createStaff and resendStaffInvite each mail the staff member a link to the web app's account page whose `invite`
code acceptStaffInvite takes; a resend makes the earlier code (and an earlier mail not sent yet) void; a refused
resend mails nobody and changes nothing; no code reaches the logs or stays in a sent mail's row."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from models import MailOutbox, Staff, User
from tests.support.account_mail import delivered, invite_code_of, link_of
from tests.support.graphql import GraphQLClient, api_with, given_shop, sign_up
from tests.support.mail import MAIL_FROM, MailTimeline, mail_runtime, states
from tests.support.management import ACCEPT_INVITE, join
from tests.support.smtp import SmtpTestServer, parts, running_smtp

SAM = "sam@example.com"  # given_shop's staff member, Sam Tech of Fix-It, whose owner is Olga Owner
ACCOUNT_PAGE = "http://127.0.0.1:8000/account"
RESEND = """mutation($input: ResendStaffInviteInput!) { resendStaffInvite(input: $input) { __typename
  ... on ResendStaffInvitePayload { inviteCode } ... on StaffAlreadyJoined { message }
  ... on NotAuthorized { message } ... on TooManyAttempts { retryAfterSeconds } } }"""
CREATE_STAFF = """mutation($input: CreateStaffInput!) { createStaff(input: $input) { __typename
  ... on CreateStaffPayload { inviteCode } ... on ValidationError { message path } } }"""
REFUSED_CODE = {"__typename": "ValidationError", "path": ["input", "code"],
                "message": "This invitation code is not valid"}


@pytest.fixture
def smtp() -> Iterator[SmtpTestServer]:
    with running_smtp() as server:
        yield server


@pytest.fixture
def mail_jobs(db: str, redis_url: str, smtp: SmtpTestServer) -> Iterator[MailTimeline]:
    with mail_runtime(db, redis_url, smtp.url):
        yield MailTimeline(redis_url)


def invitation_text(link: str) -> str:
    return ("Hello Sam Tech,\n\n"
            "Olga Owner invited you to take bookings at Fix-It. To accept, open this link and choose the password "
            "you will\nsign in with:\n\n"
            f"{link}\n\n"
            "The link works until you have accepted, or until Fix-It sends you a new invitation. If you did not "
            "expect\nthis mail, ignore it: no account is made without you.\n")


async def everything() -> tuple[object, ...]:
    """Every mail row, staff row and account as they are: what a refused request must leave alone."""
    mail = [(row.id, row.kind, str(row.state), row.address, row.data, row.next_attempt_at)
            for row in await MailOutbox.all().order_by("id")]
    staff = [(row.id, row.invite_code_hash, row.user_id) for row in await Staff.all().order_by("id")]
    users = [(row.id, row.email) for row in await User.all().order_by("id")]
    return mail, staff, users


async def test_creating_a_staff_member_mails_them_a_link_whose_code_lets_them_join(
        api: GraphQLClient, mail_jobs: MailTimeline, smtp: SmtpTestServer,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="lockstep")
    # given Olga Owner's business Fix-It, where she has just added Sam Tech (createStaff answered his code)
    shop = await given_shop(api)
    # when the mail job runs
    (message,) = await delivered(mail_jobs, smtp, SAM)
    # then Sam got one invitation, in the business's name, linking to the account page with the code answered
    link = f"{ACCOUNT_PAGE}?invite={shop.staff_invite}"
    assert (message["Subject"], str(message["From"])) == ("Olga Owner invited you to take bookings at Fix-It",
                                                          f"Fix-It <{MAIL_FROM}>")
    assert link_of(message, "invite") == link and invite_code_of(message) == shop.staff_invite
    bodies = parts(message)
    assert bodies["text/plain"] == invitation_text(link)
    assert bodies["text/html"] == (
        "<!DOCTYPE html>\n<html><body>\n<p>Hello Sam Tech,</p>\n"
        "<p>Olga Owner invited you to take bookings at Fix-It. To accept, open this link and choose the password "
        "you will\nsign in with:</p>\n"
        f'<p><a href="{link}">{link}</a></p>\n'
        "<p>The link works until you have accepted, or until Fix-It sends you a new invitation. If you did not "
        "expect\nthis mail, ignore it: no account is made without you.</p>\n</body></html>\n")
    # and it is his only mail; the sent row keeps no copy of the code
    assert [item.recipients for item in smtp.received if SAM in item.recipients] == [[SAM]]
    (sent,) = await MailOutbox.filter(kind="staff_invite")
    assert (str(sent.state), sent.address) == ("sent", SAM)
    assert "link" not in sent.data and shop.staff_invite not in str(sent.data)
    # when Sam opens the link and chooses a password, then he has joined
    await join(api, invite_code_of(message))
    assert (await Staff.get(email=SAM)).user_id == (await User.get(email=SAM)).id
    # and the code was never logged
    assert shop.staff_invite not in caplog.text


async def test_the_link_keeps_the_account_pages_own_query(db: str, mail_jobs: MailTimeline,
                                                          smtp: SmtpTestServer) -> None:
    # given an account page that already has a query of its own
    async with api_with(account_link_url="https://app.example.com/account?lang=de") as (client, _):
        shop = await given_shop(client)
    # when the invitation is sent, then its code is added to that query
    (message,) = await delivered(mail_jobs, smtp, SAM)
    assert link_of(message, "invite") == f"https://app.example.com/account?lang=de&invite={shop.staff_invite}"
    assert invite_code_of(message) == shop.staff_invite


async def test_a_resend_mails_a_new_code_and_the_first_mails_code_is_refused(
        api: GraphQLClient, mail_jobs: MailTimeline, smtp: SmtpTestServer) -> None:
    # given Sam's first invitation, delivered
    shop = await given_shop(api)
    (first,) = await delivered(mail_jobs, smtp, SAM)
    # when the owner resends it
    answer = await api(RESEND, {"input": {"staffId": shop.staff_id}}, shop.owner_token)
    code = answer["resendStaffInvite"]["inviteCode"]
    # then exactly one more invitation arrives, carrying the new code that was answered
    (_, second) = await delivered(mail_jobs, smtp, SAM)
    assert second["Subject"] == "Olga Owner invited you to take bookings at Fix-It"
    assert invite_code_of(second) == code != invite_code_of(first)
    assert await states() == [("account_verify", "sent"), ("staff_invite", "sent"), ("staff_invite", "sent")]
    # and the first mail's code is refused, changing nothing
    before = await everything()
    refused = await api(ACCEPT_INVITE, {"input": {"code": invite_code_of(first), "password": "staff pass 123 xyz"}})
    assert refused["acceptStaffInvite"] == REFUSED_CODE
    assert await everything() == before
    # and the second mail's code lets Sam join
    await join(api, invite_code_of(second))
    assert (await Staff.get(email=SAM)).invite_code_hash is None


async def test_a_resend_before_the_first_mail_went_out_sends_only_the_new_one(
        api: GraphQLClient, mail_jobs: MailTimeline, smtp: SmtpTestServer) -> None:
    # given Sam's first invitation, not sent yet
    shop = await given_shop(api)
    # when the owner resends it, and then the mail job runs
    answer = await api(RESEND, {"input": {"staffId": shop.staff_id}}, shop.owner_token)
    (message,) = await delivered(mail_jobs, smtp, SAM)
    # then Sam gets only the invitation with the new code; the first is dropped and keeps no copy of its link
    assert invite_code_of(message) == answer["resendStaffInvite"]["inviteCode"]
    assert await states() == [("account_verify", "sent"), ("staff_invite", "dropped"), ("staff_invite", "sent")]
    assert ["link" in row.data for row in await MailOutbox.filter(kind="staff_invite").order_by("id")] == [False,
                                                                                                         False]


async def test_a_resend_keeps_another_businesss_invitation_of_the_same_address(
        api: GraphQLClient, mail_jobs: MailTimeline, smtp: SmtpTestServer) -> None:
    # given Sam invited by Fix-It and by a second business, neither mail sent yet
    shop = await given_shop(api)
    other = await given_shop(api, owner_email="other@example.com")
    # when Fix-It resends its invitation
    answer = await api(RESEND, {"input": {"staffId": shop.staff_id}}, shop.owner_token)
    # then Sam gets the second business's invitation and Fix-It's new one
    messages = await delivered(mail_jobs, smtp, SAM)
    assert sorted(invite_code_of(message) for message in messages) == sorted(
        [other.staff_invite, answer["resendStaffInvite"]["inviteCode"]])
    assert [str(row.state) for row in await MailOutbox.filter(kind="staff_invite").order_by("id")] == [
        "dropped", "sent", "sent"]


async def test_a_resend_for_a_staff_member_who_joined_mails_nobody_and_changes_nothing(
        api: GraphQLClient, mail_jobs: MailTimeline, smtp: SmtpTestServer) -> None:
    # given Sam, who joined with his invitation
    shop = await given_shop(api)
    (message,) = await delivered(mail_jobs, smtp, SAM)
    await join(api, invite_code_of(message))
    before = await everything()
    # when the owner resends his invitation
    answer = await api(RESEND, {"input": {"staffId": shop.staff_id}}, shop.owner_token)
    # then there is nothing to resend, no mail is owed, and nothing changed
    assert answer["resendStaffInvite"] == {
        "__typename": "StaffAlreadyJoined",
        "message": "This staff member has already joined; they sign in with their own account"}
    assert await everything() == before
    assert await delivered(mail_jobs, smtp, SAM) == [message]


async def test_a_resend_by_another_owner_or_past_the_throttle_mails_nobody_and_changes_nothing(
        db: str, mail_jobs: MailTimeline, smtp: SmtpTestServer) -> None:
    async with api_with(throttle_free_failures=2, throttle_lock_after=100) as (client, _):
        # given Sam's invitation, and another business's owner
        shop = await given_shop(client)
        other_owner = (await sign_up(client, "other@example.com", "OWNER"))["accessToken"]
        before = await everything()
        # when the other owner asks for a new invitation, then they may not, and nothing changed
        refused = await client(RESEND, {"input": {"staffId": shop.staff_id}}, other_owner)
        assert refused["resendStaffInvite"] == {"__typename": "NotAuthorized",
                                                "message": "Only the business owner may do this"}
        assert await everything() == before
        # when the owner asks until the throttle holds them back
        answers = [(await client(RESEND, {"input": {"staffId": shop.staff_id}}, shop.owner_token))[
            "resendStaffInvite"] for _ in range(3)]
        assert [answer["__typename"] for answer in answers[:3]] == ["ResendStaffInvitePayload"] * 3
        allowed = await everything()
        held_back = await client(RESEND, {"input": {"staffId": shop.staff_id}}, shop.owner_token)
        # then the ask held back mails nobody and changes nothing
        assert held_back["resendStaffInvite"]["__typename"] == "TooManyAttempts"
        assert await everything() == allowed
    # and Sam gets only the last code answered, every earlier unsent one dropped
    (message,) = await delivered(mail_jobs, smtp, SAM)
    assert invite_code_of(message) == answers[-1]["inviteCode"]
    assert [str(row.state) for row in await MailOutbox.filter(kind="staff_invite").order_by("id")] == [
        "dropped", "dropped", "dropped", "sent"]


async def test_a_refused_create_staff_mails_nobody(api: GraphQLClient, mail_jobs: MailTimeline) -> None:
    # given Fix-It with Sam
    shop = await given_shop(api)
    before = await everything()
    # when the owner adds Sam's address a second time
    again = await api(CREATE_STAFF, {"input": {"businessId": shop.business_id, "name": "Sam Again", "email": SAM,
                                               "timeZone": "Europe/Berlin"}}, shop.owner_token)
    # then it is refused and no invitation is owed
    assert again["createStaff"] == {"__typename": "ValidationError", "path": ["input", "email"],
                                    "message": "This business already has staff with this email"}
    assert await everything() == before
