"""An appointment provider's jobs (jobs/appointments.py, jobs/push.py) against the fake Calendly served in the test's
loop, through the real adapter (providers/calendly_account.py) and client: a kept delivery is applied once, one that
cannot be read is set aside; the backstop applies what deliveries missed (a reschedule whose new half never came
too), recreates a subscription Calendly disabled or deleted, and backs off as a 429 asks; and a booking cancelled
in Lockstep cancels its appointment at Calendly with the booking's reason, once. Every exchange with the fake is
checked against Calendly's OpenAPI description when it closes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from jobs.appointments import apply_delivery, backstop_appointments
from jobs.push import push_mapping
from models import (
    AppointmentDelivery,
    Booking,
    BookingStatus,
    BusyBlock,
    ConnectionHealth,
    EventMapping,
    EventMappingState,
    ExternalCalendar,
    Provider,
    SyncLogEntry,
    WatchChannel,
)
from providers.calendly import CalendlyClient, PersonalAccessToken
from providers.calendly_account import CalendlyAccount, channel_url
from providers.registry import entry_of
from services.appointment_inbox import keep_delivery
from services.bookings import CANCEL_THIS, cancel_booking
from services.credentials import CredentialVault, new_key
from services.sync_dispatch import dispatch_outbox
from services.watch_channels import record_channel
from tests.fakes.calendly import FakeCalendly
from tests.fakes.calendly_store import EventType
from tests.support.appointments import apart_from, given_calendly_staff, given_mapped, stored
from tests.support.calendly import Receiver
from tests.support.calendly_deliveries import delivery_body
from tests.support.sync import ConnectedStaff

KEY = new_key()
OWN_KEY = "the-connections-own-signing-key"
HOUR = timedelta(hours=1)


def soon(days: int, hour: int) -> datetime:
    """`hour` o'clock UTC `days` from today: inside the import window, and ahead (Calendly cancels no past event)."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=days, hours=hour)


@dataclass
class Account:
    calendly: FakeCalendly
    receiver: Receiver  # where the subscription delivers: what reaches it never reached Lockstep by itself
    adapter: CalendlyAccount
    given: ConnectedStaff
    mapped: EventType
    unmapped: EventType
    channel: WatchChannel

    async def calendar(self) -> ExternalCalendar:
        # loaded as the pull job loads it
        return await ExternalCalendar.get(id=self.given.calendar.id).select_related("connection__staff")

    async def backstop(self, now: datetime | None = None) -> str:
        outcome = await backstop_appointments(await self.calendar(), self.adapter, self.receiver.hook_url,
                                              now or datetime.now(UTC))
        return outcome.status

    async def lockstep_receives(self, body: bytes) -> str:
        """Keep a delivery as the webhook would, and run its job."""
        description = entry_of(Provider.CALENDLY).appointments
        assert description is not None
        now = datetime.now(UTC)
        kept = await keep_delivery(self.given.calendar.id, description.delivery_key(description.read(body)), body,
                                   now)
        assert kept is not None
        return await apply_delivery(kept, now)


@pytest.fixture
async def account(db: str) -> AsyncIterator[Account]:
    """A staff member's Calendly account connected with a personal access token, one event type mapped to the
    staff member's service and one not, and a live subscription (created through the adapter) delivering to a
    receiver that answers 200."""
    async with FakeCalendly() as calendly, Receiver() as receiver:
        token = calendly.personal_token()
        mapped = calendly.add_event_type(calendly.user, "Boiler check", 60)
        unmapped = calendly.add_event_type(calendly.user, "Phone call", 30)
        credentials = {"personal_access_token": token, "signing_keys": [OWN_KEY], "user_uri": calendly.user_uri,
                       "organization_uri": calendly.organization_uri, "user_name": "Tess Tech"}
        given = await given_calendly_staff(calendar_id=calendly.user_uri,
                                           credentials=CredentialVault([KEY]).seal(credentials))
        await given_mapped(given, calendly.store.uri("event_types", mapped.uuid))
        async with CalendlyClient(PersonalAccessToken(token), api_url=calendly.api_url, timeout=5) as client:
            adapter = CalendlyAccount(client, credentials)
            opened = await adapter.watch(calendly.user_uri, receiver.hook_url, "")
            assert opened is not None
            channel = await record_channel(given.calendar.id, opened.subscription_id, opened.resource_id, "",
                                           opened.expires_at)
            yield Account(calendly, receiver, adapter, given, mapped, unmapped, channel)


# -- a kept delivery ------------------------------------------------------------------------------------------------

async def test_a_kept_delivery_is_applied_once(db: str) -> None:
    # given a mapped event type and a kept delivery of its appointment
    given = await given_calendly_staff()
    await given_mapped(given)
    body = delivery_body(start=datetime(2030, 1, 8, 9, tzinfo=UTC))
    now = datetime(2030, 1, 7, 6, tzinfo=UTC)
    kept = await keep_delivery(given.calendar.id, "the-key", body, now)
    assert kept is not None
    # when its job runs twice
    first, second = await apply_delivery(kept, now), await apply_delivery(kept, now + HOUR)
    # then the appointment is one booking, the delivery applied at the first run, and the second run skipped
    assert (first, second) == ("create", "skipped")
    assert await Booking.all().values_list("source", "starts_at") == [("calendly", datetime(2030, 1, 8, 9,
                                                                                            tzinfo=UTC))]
    assert await AppointmentDelivery.all().values_list("applied_at", "attempts") == [(now, 0)]


@pytest.mark.parametrize("body", [b"not json", b'{"event": "invitee.created", "payload": {}}', b"[]"],
                         ids=["not_json", "no_invitee", "not_an_object"])
async def test_a_delivery_that_cannot_be_read_is_set_aside_as_ignored(db: str, body: bytes) -> None:
    # given a kept delivery whose body Lockstep cannot read
    given = await given_calendly_staff()
    await given_mapped(given)
    now = datetime(2030, 1, 7, 6, tzinfo=UTC)
    kept = await keep_delivery(given.calendar.id, "the-key", body, now)
    assert kept is not None
    before = await stored()
    # when its job runs
    outcome = await apply_delivery(kept, now)
    # then it is marked applied, so it is not handed out again, and nothing else changed
    assert outcome == "ignored"
    after = await stored()
    assert after["deliveries"] == [(kept, "the-key", now)]
    assert apart_from(after, "deliveries") == apart_from(before, "deliveries")


# -- the backstop ---------------------------------------------------------------------------------------------------

async def test_the_backstop_applies_what_deliveries_missed_and_finishes_a_half_delivered_reschedule(
        account: Account) -> None:
    calendly = account.calendly
    # given a booked appointment whose delivery Lockstep applied
    ten, two = soon(2, 9), soon(2, 13)
    booked = calendly.book(account.mapped, ten, {"name": "Ann Lee", "email": "ann@example.org"})
    await calendly.deliveries_settled()
    assert await account.lockstep_receives(account.receiver.received[-1].body) == "create"
    (booking,) = await Booking.all()
    # and a reschedule of it whose new half was never delivered (only the old half was applied)
    calendly.webhooks.inject("lost", event="invitee.created")
    moved = calendly.reschedule(booked.invitee_uri, two)
    await calendly.deliveries_settled()
    assert await account.lockstep_receives(account.receiver.received[-1].body) == "await_successor"
    # and an appointment of the unmapped event type whose delivery was lost
    calendly.webhooks.inject("lost")
    calendly.book(account.unmapped, soon(3, 9))
    await calendly.deliveries_settled()
    # when the backstop runs
    assert await account.backstop() == "done"
    # then the same booking is at the new time, under the new event, and the lost appointment blocks its time
    moved_booking = await Booking.get(id=booking.id)
    assert (await Booking.all().count(), moved_booking.status, moved_booking.starts_at) == (
        1, BookingStatus.CONFIRMED, two)
    assert await EventMapping.filter(booking_id=booking.id).values_list("external_event_id", flat=True) == [
        moved.event_uri]
    assert await BusyBlock.all().values_list("starts_at", "ends_at") == [(soon(3, 9), soon(3, 9) + HOUR / 2)]
    # and the sync log says what the backstop did; the subscription was live, so it was left alone
    assert await SyncLogEntry.filter(action__in=["backstop", "resubscribe"]).values_list("action", "outcome",
                                                                                        "detail") == [
        ("backstop", "ok", "3 appointments listed: 1 create, 1 move")]
    # when it runs again, nothing more happens
    before = await stored()
    assert await account.backstop() == "done"
    assert apart_from(await stored(), "sync_log") == apart_from(before, "sync_log")
    assert await SyncLogEntry.filter(action__in=["backstop", "resubscribe"]).order_by("id").values_list(
        "detail", flat=True) == ["3 appointments listed: 1 create, 1 move", "3 appointments listed, none new"]


async def test_the_backstop_recreates_a_subscription_calendly_disabled_after_failed_deliveries(
        account: Account) -> None:
    calendly = account.calendly
    (subscription,) = calendly.store.subscriptions.values()
    # given every delivery to the subscription failing until Calendly gave up on it and disabled it
    account.receiver.answers = [500] * (len(calendly.webhooks.retry_delays) + 1)
    calendly.book(account.unmapped, soon(2, 9))
    await calendly.deliveries_settled()
    assert subscription.state == "disabled"
    # when the backstop runs
    assert await account.backstop() == "done"
    # then the disabled subscription is replaced by a live one to the same channel, signed with the same key
    (renewed,) = calendly.store.subscriptions.values()
    assert renewed.uuid != subscription.uuid
    assert (renewed.state, renewed.callback_url, renewed.signing_key, renewed.events) == (
        "active", channel_url(account.receiver.hook_url, account.channel.channel_id), OWN_KEY,
        ["invitee.created", "invitee.canceled"])
    # and the channel names the new subscription, the missed appointment is applied, and the log says both
    channel = await WatchChannel.get(id=account.channel.id)
    assert (channel.resource_id, channel.stopped_at) == (calendly.store.uri("webhook_subscriptions", renewed.uuid),
                                                         None)
    assert await BusyBlock.all().count() == 1
    assert await SyncLogEntry.filter(action__in=["backstop", "resubscribe"]).values_list("action", "detail") == [
        ("backstop", "1 appointment listed: 1 create"),
        ("resubscribe", "the webhook subscription was disabled by Calendly and has been created again")]
    # and what Calendly delivers next reaches the channel again
    account.receiver.answers = []
    calendly.book(account.unmapped, soon(3, 9))
    await calendly.deliveries_settled()
    assert account.receiver.received[-1].path == "/hook"
    assert calendly.webhooks.attempts[-1].status == 200


async def test_the_backstop_recreates_a_subscription_that_was_deleted(account: Account) -> None:
    # given the subscription deleted at Calendly (say by hand, in its integrations page)
    account.calendly.store.subscriptions.clear()
    # when the backstop runs
    assert await account.backstop() == "done"
    # then a live subscription to the channel stands again, and the log says it was gone
    (renewed,) = account.calendly.store.subscriptions.values()
    assert (renewed.state, renewed.callback_url) == (
        "active", channel_url(account.receiver.hook_url, account.channel.channel_id))
    assert await SyncLogEntry.filter(action="resubscribe").values_list("detail", flat=True) == [
        "the webhook subscription was gone and has been created again"]


@pytest.mark.parametrize(("retry_after", "reset", "wait"), [("120", 60, 120), (None, 90, 90)],
                         ids=["retry_after", "rate_limit_reset"])
async def test_a_429_makes_the_backstop_back_off_as_long_as_calendly_asks(
        account: Account, retry_after: str | None, reset: int, wait: int) -> None:
    # given an appointment the backstop would find, and Calendly answering the listing 429
    account.calendly.book(account.unmapped, soon(2, 9))
    await account.calendly.deliveries_settled()
    account.calendly.fail("GET", r"^/scheduled_events$", 429, retry_after=retry_after, reset=reset)
    before = await stored()
    now = datetime.now(UTC).replace(microsecond=0)
    # when the backstop runs
    outcome = await backstop_appointments(await account.calendar(), account.adapter, account.receiver.hook_url, now)
    # then it stops and comes back exactly when Calendly said, having applied nothing
    assert (outcome.status, outcome.retry_at) == ("retry", now + timedelta(seconds=wait))
    calendar = await ExternalCalendar.get(id=account.given.calendar.id)
    assert calendar.next_pull_at == now + timedelta(seconds=wait)
    after = await stored()
    assert apart_from(after, "sync_log") == apart_from(before, "sync_log")
    assert after["sync_log"][len(before["sync_log"]):] == [("pull", "failed")]
    assert (await calendar.connection).health == ConnectionHealth.DEGRADED


# -- a cancellation in Lockstep -------------------------------------------------------------------------------------

async def booked_through_the_backstop(account: Account, start: datetime) -> tuple[str, Booking, EventMapping]:
    """An appointment of the mapped type booked at Calendly (its delivery lost) and held as a booking: its event
    URI, the booking and its mapping in the account calendar."""
    account.calendly.webhooks.inject("lost")
    booked = account.calendly.book(account.mapped, start)
    await account.calendly.deliveries_settled()
    assert await account.backstop() == "done"
    booking = await Booking.get(source="calendly", starts_at=start)
    return booked.event_uri, booking, await EventMapping.get(booking_id=booking.id)


def calendly_event(account: Account, event_uri: str) -> tuple[str, dict[str, object] | None]:
    event = account.calendly.store.events[event_uri.rsplit("/", 1)[1]]
    return event.status, event.cancellation


async def test_a_booking_cancelled_in_lockstep_cancels_the_appointment_with_its_reason(account: Account) -> None:
    # given an appointment held as a booking
    event_uri, booking, mapping = await booked_through_the_backstop(account, soon(2, 9))
    # when the business cancels the booking in Lockstep, with a reason, and its push runs (twice)
    now = datetime.now(UTC)
    await cancel_booking(account.given.owner, booking.id, CANCEL_THIS, now, reason="Technician is ill")
    assert mapping.id in await dispatch_outbox(now)
    first = await push_mapping(mapping.id, account.adapter, now)
    posted = [entry.path for entry in account.calendly.log if entry.method == "POST"]
    second = await push_mapping(mapping.id, account.adapter, now)
    # then Calendly cancelled the event as its host, with the booking's reason, once
    assert (first.status, first.action, second.status, second.action) == ("done", "delete", "done", "nothing")
    status, cancellation = calendly_event(account, event_uri)
    assert cancellation is not None
    assert (status, cancellation["reason"], cancellation["canceler_type"]) == (
        "canceled", "Technician is ill", "host")
    assert [entry.path for entry in account.calendly.log if entry.method == "POST"] == posted
    assert posted[-1] == f"/scheduled_events/{event_uri.rsplit('/', 1)[1]}/cancellation"
    # and the mapping is settled at the cancelled version, with the cancellation logged
    settled = await EventMapping.get(id=mapping.id)
    assert (settled.state, settled.version_written, settled.attempts) == (EventMappingState.SYNCED, 2, 0)
    assert await SyncLogEntry.filter(action="cancel_appointment").values_list("outcome", "booking_id") == [
        ("ok", booking.id)]


async def test_an_appointment_already_canceled_at_calendly_counts_as_done(account: Account) -> None:
    # given an appointment held as a booking, which the invitee then cancels at Calendly (the delivery lost)
    event_uri, booking, mapping = await booked_through_the_backstop(account, soon(2, 9))
    account.calendly.webhooks.inject("lost")
    invitee = next(iter(account.calendly.store.events[event_uri.rsplit("/", 1)[1]].invitees))
    account.calendly.cancel_by_invitee(f"{event_uri}/invitees/{invitee}", "Fixed it myself")
    await account.calendly.deliveries_settled()
    # when the business cancels the booking in Lockstep before Lockstep heard, and the push runs
    now = datetime.now(UTC)
    await cancel_booking(account.given.owner, booking.id, CANCEL_THIS, now, reason="Technician is ill")
    await dispatch_outbox(now)
    outcome = await push_mapping(mapping.id, account.adapter, now)
    # then Calendly's "already canceled" is what was wanted: done, the invitee's cancellation left as it was
    assert (outcome.status, outcome.action) == ("done", "delete")
    status, cancellation = calendly_event(account, event_uri)
    assert cancellation is not None
    assert (status, cancellation["canceler_type"], cancellation["reason"]) == ("canceled", "invitee",
                                                                               "Fixed it myself")
    settled = await EventMapping.get(id=mapping.id)
    assert (settled.state, settled.attempts, settled.last_error) == (EventMappingState.SYNCED, 0, "")


async def test_a_confirmed_bookings_mapping_is_marked_synced_and_calendly_told_nothing(account: Account) -> None:
    # given an appointment held as a booking, whose own creation does not reopen its mapping (it holds the
    # booking's version already), and which a later change of the booking reopened
    event_uri, booking, mapping = await booked_through_the_backstop(account, soon(2, 9))
    assert mapping.id not in await dispatch_outbox(datetime.now(UTC))
    assert (await EventMapping.get(id=mapping.id)).state == EventMappingState.SYNCED
    await EventMapping.filter(id=mapping.id).update(state=EventMappingState.PENDING)
    requests = len(account.calendly.log)
    # when its push runs
    outcome = await push_mapping(mapping.id, account.adapter, datetime.now(UTC))
    # then nothing is sent to Calendly and the mapping is synced at the booking's version
    assert (outcome.status, outcome.action) == ("done", "nothing")
    assert len(account.calendly.log) == requests
    settled = await EventMapping.get(id=mapping.id)
    assert (settled.state, settled.version_written, settled.external_event_id) == (
        EventMappingState.SYNCED, booking.version, event_uri)
    assert calendly_event(account, event_uri)[0] == "active"
