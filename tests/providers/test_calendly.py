"""The Calendly client (providers/calendly.py) against the fake Calendly over real HTTP: the user, event types and
scheduled events across pages, invitees read as appointments, a host's cancellation (also of an event canceled
already), and webhook subscriptions (201, 409, 403, listing, deleting); its failures are in test_calendly_errors.py.
Every exchange is checked against Calendly's description when the fake closes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.calendly import Appointment, CalendlyEventType, CalendlyUser, Host
from providers.base import NotFound, ProviderError
from providers.calendly import (
    AlreadyCancelled,
    AlreadyExists,
    CalendlyClient,
    PersonalAccessToken,
    WebhooksRefused,
    WebhookSubscription,
)
from tests.fakes.calendly import FakeCalendly
from tests.fakes.calendly_store import Subscription, new_uuid
from tests.support.calendly import calendly_client
from tests.support.calendly_contract import PLAN_REFUSAL

START = datetime(2030, 1, 7, 9, tzinfo=UTC)
HOOK = "https://lockstep.example.com/webhooks/calendly/conn-7"


# -- reading ------------------------------------------------------------------------------------------------------

async def test_me_is_the_connected_user(calendly: FakeCalendly, client: CalendlyClient) -> None:
    assert await client.me() == CalendlyUser(calendly.user_uri, "Tess Tech", "tess@example.com", "Europe/Berlin",
                                             calendly.organization_uri, "https://calendly.com/tess-tech")


async def test_event_types_are_read_from_every_page(calendly: FakeCalendly, client: CalendlyClient) -> None:
    for number in range(130):
        calendly.add_event_type(calendly.user, f"Service {number:03d}", 15 + number % 4 * 15)
    second = next(kind for kind in calendly.store.event_types.values() if kind.name == "Service 001")
    kinds = await client.event_types(calendly.user_uri)
    assert kinds[1] == CalendlyEventType(calendly.store.uri("event_types", second.uuid), "Service 001", 30, True,
                                         "https://calendly.com/tess-tech/service-001", "#8247f5")
    assert [kind.name for kind in kinds] == [f"Service {number:03d}" for number in range(130)]
    assert [(entry.path, dict(entry.query)["count"], "page_token" in dict(entry.query))
            for entry in calendly.log] == [("/event_types", "100", False), ("/event_types", "100", True)]


async def test_scheduled_events_of_the_window_are_read_from_every_page(calendly: FakeCalendly,
                                                                      client: CalendlyClient) -> None:
    kind = calendly.add_event_type(calendly.user, "Boiler service", 30)
    booked = [calendly.book(kind, START + timedelta(hours=hour)) for hour in range(-2, 130)]
    calendly.cancel_by_invitee(booked[10].invitee_uri)
    end = START + timedelta(hours=125)
    every = await client.scheduled_events(user=calendly.user_uri, status=None, min_start=START, max_start=end)
    active = await client.scheduled_events(user=calendly.user_uri, status="active", min_start=START, max_start=end)
    assert [event["uri"] for event in every] == [made.event_uri for made in booked[2:127]]
    assert [event["uri"] for event in active] == [made.event_uri for made in booked[2:127] if made != booked[10]]
    assert dict(calendly.log[0].query)["min_start_time"] == "2030-01-07T09:00:00.000000Z"


async def test_appointments_read_each_events_invitees_active_canceled_and_rescheduled(
        calendly: FakeCalendly, client: CalendlyClient) -> None:
    kind = calendly.add_event_type(calendly.user, "Boiler service", 60)
    kept = calendly.book(kind, START, {"name": "Ann", "email": "ann@example.com",
                                       "answers": [("Which boiler?", "The old one")]})
    dropped = calendly.book(kind, START + timedelta(days=1), {"name": "Bob", "email": "bob@example.com"})
    calendly.cancel_by_invitee(dropped.invitee_uri, "Fixed it myself")
    moved = calendly.book(kind, START + timedelta(days=2), {"name": "Cid", "email": "cid@example.com"})
    moved_to = calendly.reschedule(moved.invitee_uri, START + timedelta(days=3))
    found = await client.appointments(user=calendly.user_uri, min_start=START, max_start=START + timedelta(days=7))
    assert found.unreadable == ()
    assert [(item.invitee_name, item.event_active, item.invitee_active, item.rescheduled, item.old_invitee,
             item.new_invitee, item.cancel_reason) for item in found] == [
        ("Ann", True, True, False, "", "", ""),
        ("Bob", False, False, False, "", "", "Fixed it myself"),
        ("Cid", False, False, True, "", moved_to.invitee_uri, ""),
        ("Cid", True, True, False, moved.invitee_uri, "", "")]
    first = found.appointments[0]
    invitee = calendly.store.invitee_by_uri(kept.invitee_uri)
    assert first == Appointment(
        event_uri=kept.event_uri, invitee_uri=kept.invitee_uri, event_type_uri=calendly.store.uri("event_types",
                                                                                                 kind.uuid),
        event_name="Boiler service", starts_at=START, ends_at=START + timedelta(hours=1), event_active=True,
        invitee_active=True, rescheduled=False, old_invitee="", new_invitee="", invitee_name="Ann",
        invitee_email="ann@example.com", invitee_time_zone="Europe/Berlin",
        answers=(("Which boiler?", "The old one"),), hosts=(Host(calendly.user_uri, "tess@example.com"),),
        cancel_url=f"https://calendly.com/cancellations/{invitee.uuid}",
        reschedule_url=f"https://calendly.com/reschedulings/{invitee.uuid}", cancel_reason="",
        updated_at=invitee.updated_at)


async def test_an_invitee_that_cannot_be_read_is_named_and_the_others_are_kept() -> None:
    async with FakeCalendly(check_contract=False) as calendly, \
            calendly_client(calendly, PersonalAccessToken(calendly.personal_token())) as client:
        kind = calendly.add_event_type(calendly.user, "Boiler service", 60)
        fine = calendly.book(kind, START)
        broken = calendly.book(kind, START + timedelta(hours=2))
        calendly.store.invitee_by_uri(broken.invitee_uri).email = 7  # type: ignore[assignment]
        found = await client.appointments(organization=calendly.organization_uri, min_start=START,
                                          max_start=START + timedelta(days=1))
    assert ([item.invitee_uri for item in found], found.unreadable) == ([fine.invitee_uri], (broken.invitee_uri,))


# -- cancelling -----------------------------------------------------------------------------------------------------

async def test_cancel_cancels_the_event_as_its_host(calendly: FakeCalendly, client: CalendlyClient) -> None:
    booked = calendly.book(calendly.add_event_type(calendly.user, "Boiler service"), START)
    await client.cancel(booked.event_uri, "Van broke down")
    event = calendly.store.events[booked.event_uri.rsplit("/", 1)[-1]]
    invitee = calendly.store.invitee_by_uri(booked.invitee_uri)
    assert (event.status, invitee.status, invitee.cancellation and invitee.cancellation["reason"],
            invitee.cancellation and invitee.cancellation["canceler_type"]) == (
        "canceled", "canceled", "Van broke down", "host")
    assert calendly.log[-1].body == {"reason": "Van broke down"}


async def test_an_event_canceled_already_is_already_cancelled_a_not_found(calendly: FakeCalendly,
                                                                          client: CalendlyClient) -> None:
    booked = calendly.book(calendly.add_event_type(calendly.user, "Boiler service"), START)
    calendly.cancel_by_invitee(booked.invitee_uri, "Fixed it myself")
    with pytest.raises(AlreadyCancelled) as raised:
        await client.cancel(booked.event_uri, "Van broke down")
    assert isinstance(raised.value, NotFound)
    assert str(raised.value) == ("scheduled_event.cancel: Calendly answered 403 Permission Denied (Event is already "
                                 "canceled)")
    invitee = calendly.store.invitee_by_uri(booked.invitee_uri)
    assert invitee.cancellation is not None and invitee.cancellation["reason"] == "Fixed it myself"


async def test_an_unknown_event_is_not_found_and_a_past_one_refused(calendly: FakeCalendly,
                                                                    client: CalendlyClient) -> None:
    kind = calendly.add_event_type(calendly.user, "Boiler service")
    past = calendly.book(kind, datetime(2020, 1, 1, tzinfo=UTC))
    with pytest.raises(NotFound) as missing:
        await client.cancel(calendly.store.uri("scheduled_events", new_uuid()), "")
    assert type(missing.value) is NotFound
    with pytest.raises(ProviderError) as refused:
        await client.cancel(past.event_uri, "")
    assert (type(refused.value), str(refused.value)) == (
        ProviderError, "scheduled_event.cancel: Calendly answered 403 Permission Denied (Event in the past)")
    assert calendly.store.events[past.event_uri.rsplit("/", 1)[-1]].status == "active"
    sent = len(calendly.log)
    with pytest.raises(ProviderError) as forged:
        await client.cancel("https://api.calendly.com/scheduled_events/x%2F..%2Fwebhook_subscriptions", "")
    assert (str(forged.value), len(calendly.log)) == ("scheduled_event.cancel: not a Calendly resource URI", sent)


# -- webhook subscriptions ----------------------------------------------------------------------------------------

async def test_create_webhook_answers_the_subscription(calendly: FakeCalendly, client: CalendlyClient) -> None:
    made = await client.create_webhook(url=HOOK, organization=calendly.organization_uri, user=calendly.user_uri,
                                       scope="user", signing_key="our-key")
    [stored] = calendly.store.subscriptions.values()
    assert made == WebhookSubscription(uri=calendly.store.uri("webhook_subscriptions", stored.uuid),
                                       callback_url=HOOK, state="active", scope="user", user=calendly.user_uri,
                                       organization=calendly.organization_uri, retry_started_at=None,
                                       events=("invitee.created", "invitee.canceled"))
    assert calendly.signing_key(made.uri) == "our-key"
    whole = await client.create_webhook(url=HOOK, organization=calendly.organization_uri, user=None,
                                        scope="organization", signing_key=None)
    assert (whole.scope, whole.user) == ("organization", "")


async def test_a_second_subscription_of_the_url_is_already_exists(calendly: FakeCalendly,
                                                                  client: CalendlyClient) -> None:
    await client.create_webhook(url=HOOK, organization=calendly.organization_uri, user=calendly.user_uri,
                                scope="user", signing_key=None)
    with pytest.raises(AlreadyExists) as raised:
        await client.create_webhook(url=HOOK, organization=calendly.organization_uri, user=calendly.user_uri,
                                    scope="user", signing_key=None)
    assert str(raised.value) == ("webhook.create: Calendly answered 409 Already Exists (Hook with this url already "
                                 "exists)")
    assert len(calendly.store.subscriptions) == 1


async def test_a_plan_without_webhooks_is_webhooks_refused_in_calendlys_words(calendly: FakeCalendly,
                                                                             client: CalendlyClient) -> None:
    calendly.webhooks_refused = True
    with pytest.raises(WebhooksRefused) as raised:
        await client.create_webhook(url=HOOK, organization=calendly.organization_uri, user=calendly.user_uri,
                                    scope="user", signing_key=None)
    assert (raised.value.calendly_message, str(raised.value)) == (
        PLAN_REFUSAL, f"webhook.create: Calendly answered 403 Permission Denied ({PLAN_REFUSAL})")
    assert calendly.store.subscriptions == {}


async def test_a_token_without_webhooks_write_is_webhooks_refused(calendly: FakeCalendly) -> None:
    token = PersonalAccessToken(calendly.personal_token(scopes=("users:read", "webhooks:read")))
    async with calendly_client(calendly, token) as client:
        with pytest.raises(WebhooksRefused) as raised:
            await client.create_webhook(url=HOOK, organization=calendly.organization_uri, user=calendly.user_uri,
                                        scope="user", signing_key=None)
    assert raised.value.calendly_message == "You do not have permission to access this resource."


async def test_webhooks_are_listed_from_every_page_and_deleted(calendly: FakeCalendly,
                                                               client: CalendlyClient) -> None:
    for number in range(104):
        calendly.store.subscriptions[f"sub-{number:03d}"] = Subscription(
            f"sub-{number:03d}", f"https://hooks.example.com/{number}", ["invitee.created"], "user",
            calendly.user.organization, calendly.user.uuid, calendly.user.uuid, "key",
            created_at=START + timedelta(minutes=number))
    calendly.store.subscriptions["sub-000"].state = "disabled"
    calendly.store.subscriptions["sub-000"].retry_started_at = START
    listed = await client.webhooks(organization=calendly.organization_uri, scope="user", user=calendly.user_uri)
    assert [subscription.uri.rsplit("/", 1)[-1] for subscription in listed] == [
        f"sub-{number:03d}" for number in range(104)]
    assert (listed[0].state, listed[0].retry_started_at, listed[1].state) == ("disabled", START, "active")
    await client.delete_webhook(listed[0].uri)
    assert "sub-000" not in calendly.store.subscriptions
    with pytest.raises(NotFound):
        await client.delete_webhook(listed[0].uri)
    assert len(calendly.store.subscriptions) == 103


async def test_a_user_scope_without_its_user_is_refused_before_sending(calendly: FakeCalendly,
                                                                       client: CalendlyClient) -> None:
    with pytest.raises(ValueError):
        await client.create_webhook(url=HOOK, organization=calendly.organization_uri, user=None, scope="user",
                                    signing_key=None)
    assert calendly.log == []
