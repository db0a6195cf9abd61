"""The mail job against a real SMTP server on loopback, on the test's clock: a mail server that is down holds no
booking up and gets the mail once it is back, with no manual step; one that refuses the recipient fails the mail at
once; nothing secret reaches the logs, the stored errors or the mail; staff members and the owner get the
notifications that need them, and the customer hears of changes made by hand in the staff member's calendar."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar
import pytest

from domain.conflicts import ConflictPolicy
from domain.retry import KEEP_TRYING
from jobs.pull import pull_calendar
from jobs.push import push_mapping
from models import Booking, BookingStatus, MailOutbox, MailState
from providers.base import RemoteCalendar
from services.sync_dispatch import dispatch_outbox
from services.sync_health import record_failure, record_success
from tests.fakes.memory import MemoryProvider
from tests.support.invitations import invitation_of
from tests.support.mail import MailTimeline, mail_runtime, states
from tests.support.smtp import PASSWORD, Security, SmtpTestServer, parts, running_smtp, self_signed_certificate
from tests.support.sync import ConnectedStaff, book, given_connected_staff

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)
TEN_BERLIN = datetime(2030, 1, 8, 9, tzinfo=UTC)
CUSTOMER = "cleo@example.com"
STAFF = "sam@example.com"
OWNER = "owner@example.com"


@pytest.fixture
def smtp() -> Iterator[SmtpTestServer]:
    with running_smtp() as server:
        yield server


@pytest.fixture
def mail_jobs(db: str, redis_url: str, smtp: SmtpTestServer) -> Iterator[MailTimeline]:
    with mail_runtime(db, redis_url, smtp.url):
        yield MailTimeline(redis_url)


async def test_with_the_mail_server_down_the_booking_commits_and_the_mail_arrives_once_it_is_back(
        mail_jobs: MailTimeline, smtp: SmtpTestServer) -> None:
    # given the mail server down
    given = await given_connected_staff()
    smtp.stop()
    # when a booking is made: it commits at once, its mail owed in the outbox
    started = time.perf_counter()
    (booking,) = await book(given, TEN_BERLIN, NOW)
    assert time.perf_counter() - started < 2
    assert (await Booking.get(id=booking.id)).status == BookingStatus.CONFIRMED
    # when the mail job runs, it cannot deliver: the mail waits for the retry schedule's first delay
    assert await mail_jobs.tick(NOW) == ["retrying"]
    row = await MailOutbox.get(kind="booking_confirmed")
    assert row.attempts == 1
    assert timedelta(seconds=30) <= row.next_attempt_at - NOW <= timedelta(seconds=33)
    assert "could not be reached" in row.last_error
    assert await mail_jobs.tick(NOW + timedelta(seconds=10)) == []
    # when the server is back, the next due try delivers it, once
    smtp.start()
    assert await mail_jobs.tick(row.next_attempt_at) == ["sent"]
    assert await mail_jobs.tick(row.next_attempt_at + timedelta(minutes=5)) == []
    assert [message["Subject"].endswith("is confirmed") for message in smtp.to(CUSTOMER)] == [True]


async def test_a_mail_server_down_for_more_than_a_day_fails_the_mail_only_after_a_day_and_logs_it(
        mail_jobs: MailTimeline, smtp: SmtpTestServer, caplog: pytest.LogCaptureFixture) -> None:
    given = await given_connected_staff()
    await book(given, TEN_BERLIN + timedelta(days=3), NOW)
    smtp.stop()
    await MailOutbox.filter(kind="booking_reminder").delete()
    moment = NOW
    with caplog.at_level(logging.INFO, logger="lockstep.mail"):
        while (outcome := await mail_jobs.tick(moment)) != ["failed"]:
            assert outcome in (["retrying"], [])
            row = await MailOutbox.get(kind="booking_confirmed")
            moment = row.next_attempt_at
    assert moment - NOW >= KEEP_TRYING
    row = await MailOutbox.get(kind="booking_confirmed")
    assert row.state == MailState.FAILED
    given_up = [record for record in caplog.records if record.levelno == logging.ERROR
                and record.name.startswith("lockstep")]
    assert [record.getMessage() for record in given_up] == ["mail not delivered"]


async def test_a_permanent_refusal_fails_the_mail_at_once_and_is_logged(
        mail_jobs: MailTimeline, smtp: SmtpTestServer, caplog: pytest.LogCaptureFixture) -> None:
    given = await given_connected_staff()
    smtp.handler.refuse[CUSTOMER] = "550 5.1.1 No such mailbox"
    await book(given, TEN_BERLIN, NOW)
    with caplog.at_level(logging.INFO, logger="lockstep.mail"):
        assert await mail_jobs.tick(NOW) == ["failed"]
    row = await MailOutbox.get(kind="booking_confirmed")
    assert (row.state, row.attempts) == (MailState.FAILED, 0)
    assert row.last_error == "recipient refused: 550 5.1.1 No such mailbox"
    assert [(record.levelname, record.getMessage()) for record in caplog.records
            if record.name.startswith("lockstep")] == [("WARNING", "mail refused by the mail server")]
    # it is never tried again (the reminder, three hours on, is a mail of its own)
    assert await mail_jobs.tick(NOW + timedelta(hours=2)) == []
    assert smtp.received == []


async def test_a_refusal_for_now_is_retried(mail_jobs: MailTimeline, smtp: SmtpTestServer) -> None:
    given = await given_connected_staff()
    smtp.handler.refuse[CUSTOMER] = "451 4.7.1 Greylisted, try later"
    await book(given, TEN_BERLIN, NOW)
    assert await mail_jobs.tick(NOW) == ["retrying"]
    del smtp.handler.refuse[CUSTOMER]
    row = await MailOutbox.get(kind="booking_confirmed")
    assert await mail_jobs.tick(row.next_attempt_at) == ["sent"]


def _logged(records: list[logging.LogRecord]) -> str:
    return "\n".join(f"{record.getMessage()} {record.__dict__}" for record in records)


async def test_nothing_secret_reaches_the_logs_the_stored_errors_or_the_mail(
        db: str, redis_url: str, smtp: SmtpTestServer, caplog: pytest.LogCaptureFixture) -> None:
    given = await given_connected_staff()
    await book(given, TEN_BERLIN, NOW)
    wrong = smtp.url.replace(PASSWORD, PASSWORD + "-wrong")
    with caplog.at_level(logging.DEBUG):
        # a sign-in the server refuses, then a server that is down, then the right password
        with mail_runtime(db, redis_url, wrong):
            assert await MailTimeline(redis_url).tick(NOW) == ["retrying"]
        first = await MailOutbox.get(kind="booking_confirmed")
        smtp.stop()
        with mail_runtime(db, redis_url, smtp.url):
            assert await MailTimeline(redis_url).tick(first.next_attempt_at) == ["retrying"]
            second = await MailOutbox.get(kind="booking_confirmed")
            smtp.start()
            assert await MailTimeline(redis_url).tick(second.next_attempt_at) == ["sent"]
    assert "refused the sign-in (535)" in first.last_error
    for text in (_logged(caplog.records), first.last_error, second.last_error, smtp.received[0].raw.decode()):
        assert PASSWORD not in text
        assert "lockstep:" not in text  # nor the URL's user:password part
    runtime_repr = repr(__import__("jobs.runtime", fromlist=["config"]).config())
    assert PASSWORD not in runtime_repr


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_mail_goes_encrypted_to_a_relay_whose_certificate_the_ca_file_trusts(
        db: str, redis_url: str, tmp_path: Path, security: Security) -> None:
    # given a private relay with its own certificate (STARTTLS required, or TLS from the first byte), and a booking
    certificate = self_signed_certificate(tmp_path)
    given = await given_connected_staff()
    await book(given, TEN_BERLIN, NOW)
    # when the mail job runs, trusting the relay's certificate through the CA file
    with running_smtp(security, certificate) as relay, mail_runtime(
            db, redis_url, relay.url, smtp_starttls=security == "starttls", smtp_ca_file=str(certificate.cert_file)):
        assert await MailTimeline(redis_url).tick(NOW) == ["sent"]
    # then the relay took the confirmation, signed in and encrypted
    (received,) = relay.received
    assert (received.sender, received.recipients, received.encrypted, received.signed_in) == (
        "bookings@fixit.example", [CUSTOMER], True, True)
    assert received.message["Subject"] == "Your booking on Tuesday 8 January 2030, 10:00 is confirmed"
    assert await states() == [("booking_confirmed", "sent"), ("booking_reminder", "pending")]


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_a_relay_whose_certificate_is_not_trusted_gets_nothing_and_the_mail_is_retried(
        db: str, redis_url: str, tmp_path: Path, security: Security) -> None:
    # given a relay whose certificate neither the system nor the CA file (another authority's) trusts
    certificate, other = self_signed_certificate(tmp_path, "relay"), self_signed_certificate(tmp_path, "other")
    given = await given_connected_staff()
    await book(given, TEN_BERLIN, NOW)
    moment = NOW
    with running_smtp(security, certificate) as relay:
        for ca_file in ("", str(other.cert_file)):
            # when the mail job tries
            with mail_runtime(db, redis_url, relay.url, smtp_starttls=security == "starttls", smtp_ca_file=ca_file):
                assert await MailTimeline(redis_url).tick(moment) == ["retrying"]
            row = await MailOutbox.get(kind="booking_confirmed")
            # then the attempt fails on the certificate, and waits for the next try
            where = f"{'smtps' if security == 'tls' else 'smtp'}://127.0.0.1:{relay.port}"
            assert row.last_error == f"the mail server at {where} is not trusted: self-signed certificate"
            assert (row.state, row.next_attempt_at > moment) == (MailState.PENDING, True)
            moment = row.next_attempt_at
    # and nothing reached the relay: no message, in clear or otherwise
    assert relay.received == []
    assert (await MailOutbox.get(kind="booking_confirmed")).attempts == 2


@pytest.mark.parametrize(("signs_in", "why"), [
    (True, "does not offer what the settings ask (The SMTP AUTH extension is not supported by this server. Try "
           "connecting via TLS (or STARTTLS).)"),
    (False, "answered 530 Must issue a STARTTLS command first"),
])
async def test_a_relay_that_requires_starttls_gets_nothing_from_a_worker_not_set_to_use_it(
        db: str, redis_url: str, tmp_path: Path, signs_in: bool, why: str) -> None:
    # given a relay that refuses AUTH and MAIL before STARTTLS, and a worker without LOCKSTEP_SMTP_STARTTLS (with
    # the relay's user and password, or without)
    certificate = self_signed_certificate(tmp_path)
    given = await given_connected_staff()
    await book(given, TEN_BERLIN, NOW)
    with running_smtp("starttls", certificate) as relay:
        url = relay.url if signs_in else f"smtp://127.0.0.1:{relay.port}"
        with mail_runtime(db, redis_url, url, smtp_ca_file=str(certificate.cert_file)):
            # when the mail job tries
            assert await MailTimeline(redis_url).tick(NOW) == ["retrying"]
    # then neither the password nor the mail went in clear: the relay took nothing, and the mail waits
    row = await MailOutbox.get(kind="booking_confirmed")
    assert (row.state, row.attempts, row.last_error) == (
        MailState.PENDING, 1, f"the mail server at smtp://127.0.0.1:{relay.port} {why}")
    assert relay.received == []


def memory() -> MemoryProvider:
    return MemoryProvider([RemoteCalendar("work", "Work", "", "Europe/Berlin", writable=True, primary=True)])


async def pushed(given: ConnectedStaff, provider: MemoryProvider, starts: datetime, name: str = "Cleo Customer"
                 ) -> tuple[Booking, str]:
    (booking,) = await book(given, starts, NOW, name=name)
    for mapping_id in await dispatch_outbox(NOW):
        await push_mapping(mapping_id, provider, NOW)
    await pull_calendar(given.calendar.id, provider, NOW)
    event_id = next(event_id for event_id, event in provider.calendars["work"].events.items()
                    if f"{booking.id}" in event_id or name in event.payload)
    return booking, event_id


def moved_by_hand(provider: MemoryProvider, event_id: str, to: datetime) -> None:
    calendar: Any = icalendar.Calendar.from_ical(provider.calendars["work"].events[event_id].payload)
    for event in calendar.walk("VEVENT"):
        length = event["DTEND"].dt - event["DTSTART"].dt
        event.pop("DTSTART")
        event.pop("DTEND")
        event.add("DTSTART", to)
        event.add("DTEND", to + length)
    provider.write_by_hand("work", event_id, calendar.to_ical().decode())


async def test_a_hand_move_in_the_staff_members_calendar_tells_the_customer(
        mail_jobs: MailTimeline, smtp: SmtpTestServer) -> None:
    # given a booking whose event is in the staff member's calendar, its confirmation sent
    given = await given_connected_staff()
    provider = memory()
    booking, event_id = await pushed(given, provider, TEN_BERLIN)
    assert await mail_jobs.tick(NOW) == ["sent"]
    # when the staff member drags the event four hours later and the calendar is pulled
    moved_by_hand(provider, event_id, TEN_BERLIN + timedelta(hours=4))
    await pull_calendar(given.calendar.id, provider, NOW + timedelta(minutes=1))
    # then the customer is told of the new time (nobody else: the policy settled it, no one needs to act)
    assert await mail_jobs.tick(NOW + timedelta(minutes=1)) == ["sent"]
    confirmed, moved = smtp.to(CUSTOMER)
    assert moved["Subject"] == "Your booking has moved to Tuesday 8 January 2030, 14:00"
    assert len(smtp.received) == 2
    # and its invitation is the same event as the confirmation's, at the new time, with a higher SEQUENCE
    first, second = invitation_of(confirmed, "REQUEST"), invitation_of(moved, "REQUEST")
    assert (first.uid, first.sequence, first.starts_at, first.ends_at) == (
        f"invitation-booking-{booking.id}@lockstep.example", 1, TEN_BERLIN, TEN_BERLIN + timedelta(hours=1))
    four_later = TEN_BERLIN + timedelta(hours=4)
    assert (second.uid, second.sequence, second.starts_at, second.ends_at, second.status) == (
        first.uid, 2, four_later, four_later + timedelta(hours=1), "CONFIRMED")


async def test_a_hand_delete_that_cancels_the_booking_tells_the_customer(
        mail_jobs: MailTimeline, smtp: SmtpTestServer) -> None:
    # given a booking whose event is in the staff member's calendar, with the policy "calendar wins"
    given = await given_connected_staff(policy=ConflictPolicy.CALENDAR_WINS)
    provider = memory()
    booking, event_id = await pushed(given, provider, TEN_BERLIN)
    # when the staff member deletes the event and the calendar is pulled
    provider.delete_by_hand("work", event_id)
    await pull_calendar(given.calendar.id, provider, NOW + timedelta(minutes=1))
    # then the customer gets the confirmation and the cancellation
    assert await mail_jobs.tick(NOW + timedelta(minutes=1)) == ["sent", "sent"]
    confirmed, cancelled = smtp.to(CUSTOMER)
    assert [message["Subject"] for message in (confirmed, cancelled)] == [
        "Your booking on Tuesday 8 January 2030, 10:00 is confirmed",
        "Your booking on Tuesday 8 January 2030, 10:00 is cancelled"]
    # and the cancellation is a CANCEL of the same event, at its time, with a higher SEQUENCE
    first, last = invitation_of(confirmed, "REQUEST"), invitation_of(cancelled, "CANCEL")
    assert (first.uid, first.sequence, first.status) == (
        f"invitation-booking-{booking.id}@lockstep.example", 1, "CONFIRMED")
    assert (last.uid, last.sequence, last.status, last.starts_at, last.ends_at) == (
        first.uid, 2, "CANCELLED", TEN_BERLIN, TEN_BERLIN + timedelta(hours=1))


async def test_a_conflict_to_resolve_is_mailed_to_the_staff_member_and_the_owner(
        mail_jobs: MailTimeline, smtp: SmtpTestServer) -> None:
    # given two bookings in the calendar, and the policy "ask"
    given = await given_connected_staff()
    provider = memory()
    other_start = TEN_BERLIN + timedelta(hours=4)
    await pushed(given, provider, other_start, name="Dora")
    _, event_id = await pushed(given, provider, TEN_BERLIN)
    assert await mail_jobs.tick(NOW) == ["sent", "sent"]
    # when the staff member drags one booking's event onto the other's time
    moved_by_hand(provider, event_id, other_start)
    await pull_calendar(given.calendar.id, provider, NOW + timedelta(minutes=1))
    assert await mail_jobs.tick(NOW + timedelta(minutes=1)) == ["sent", "sent"]
    # then the staff member and the owner are each asked to choose, in the business's name
    for address, name in ((STAFF, "Sam Tech"), (OWNER, "Olga Owner")):
        (mail,) = smtp.to(address)
        assert mail["Subject"] == "A booking and a calendar disagree: choose which one stands"
        assert mail["From"].addresses[0].display_name == "Fix-It"
        assert parts(mail)["text/plain"].startswith(f"Hello {name},\n\nA booking and the calendar disagree")
        assert sorted(parts(mail)) == ["text/html", "text/plain"]


async def test_reauthorisation_goes_to_staff_and_owner_and_recovery_to_the_staff_member_with_the_bookings(
        mail_jobs: MailTimeline, smtp: SmtpTestServer) -> None:
    given = await given_connected_staff()
    # the calendar refuses the credentials: the staff member and the owner must reconnect it
    await record_failure(given.connection.id, "credentials refused", NOW, credentials_refused=True)
    assert await mail_jobs.tick(NOW) == ["sent", "sent"]
    assert [message["Subject"] for message in smtp.to(STAFF) + smtp.to(OWNER)] == [
        "A calendar needs to be reconnected"] * 2
    smtp.received.clear()
    await MailOutbox.all().delete()
    # an outage, a booking made during it, and the calendar answering again
    await given.connection.update_from_dict({"health": "active"}).save()
    await record_success(given.connection.id, NOW - timedelta(minutes=10))
    await book(given, TEN_BERLIN, NOW - timedelta(minutes=8))
    await dispatch_outbox(NOW - timedelta(minutes=8))
    for minutes in (9, 5, 1):
        await record_failure(given.connection.id, "unreachable", NOW - timedelta(minutes=minutes))
    await record_success(given.connection.id, NOW)
    outcomes = await mail_jobs.tick(NOW)
    # then the staff member alone is told, with the booking made meanwhile listed; the customer got a confirmation
    assert sorted(outcomes) == ["sent", "sent"]
    (recovered,) = smtp.to(STAFF)
    assert recovered["Subject"] == "Calendar sync is working again"
    assert "- Tuesday 8 January 2030, 10:00: Cleo Customer, Boiler check\n" in parts(recovered)["text/plain"]
    assert "<li>Tuesday 8 January 2030, 10:00: Cleo Customer, Boiler check</li>" in parts(recovered)["text/html"]
    assert smtp.to(OWNER) == []


async def test_a_staff_member_who_turned_conflict_mail_off_gets_none(
        mail_jobs: MailTimeline, smtp: SmtpTestServer) -> None:
    from models import MailPreference, User

    given = await given_connected_staff()
    staff_user = await User.get(email=STAFF)
    await MailPreference.create(user=staff_user, kind="reauthorization_required", enabled=False)
    await record_failure(given.connection.id, "credentials refused", NOW, credentials_refused=True)
    assert await mail_jobs.tick(NOW) == ["sent"]
    assert smtp.to(STAFF) == []
    assert len(smtp.to(OWNER)) == 1
    assert await states() == [("reauthorization_required", "sent")]
