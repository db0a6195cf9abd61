"""Webhook subscriptions of the fake Calendly over real HTTP, against a receiver on 127.0.0.1: creating (201, 409,
403 for a plan without webhooks, 400), listing by page and scope, deleting; deliveries signed over the exact bytes
with the subscription's key, retried on failure until the subscription is disabled, deleted at once on 410; both
halves of a reschedule in either order; and the delivery faults tests can ask for."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from domain.calendly import signature_valid
from tests.fakes.calendly import FakeCalendly
from tests.fakes.calendly_webhooks import SIGNATURE_HEADER
from tests.support.calendly import Receiver

START = datetime(2030, 1, 7, 9, tzinfo=UTC)


def subscription(calendly: FakeCalendly, url: str = "", **fields: Any) -> dict[str, Any]:
    """A creation's body; a field given as None is left out."""
    body = {"url": url, "events": ["invitee.created", "invitee.canceled"], "organization": calendly.organization_uri,
            "scope": "user", "user": calendly.user_uri, **fields}
    return {key: value for key, value in body.items() if value is not None}


async def subscribe(rest: httpx.AsyncClient, calendly: FakeCalendly, url: str, **fields: Any) -> dict[str, Any]:
    answer = await rest.post("/webhook_subscriptions", json=subscription(calendly, url, **fields))
    assert answer.status_code == 201, answer.text
    return dict(answer.json()["resource"])


def bodies(receiver: Receiver) -> list[dict[str, Any]]:
    return [json.loads(received.body) for received in receiver.received]


def book(calendly: FakeCalendly, hours: int = 0) -> str:
    kind = next(iter(calendly.store.event_types.values()), None) or calendly.add_event_type(calendly.user, "Service")
    return calendly.book(kind, START + timedelta(hours=hours)).invitee_uri


# -- subscriptions ------------------------------------------------------------------------------------------------

async def test_a_subscription_is_created_once_per_url_and_user(calendly: FakeCalendly, rest: httpx.AsyncClient,
                                                              receiver: Receiver) -> None:
    created = await subscribe(rest, calendly, receiver.hook_url)
    assert {key: created[key] for key in ("callback_url", "state", "scope", "user", "organization", "creator",
                                          "retry_started_at", "events")} == {
        "callback_url": receiver.hook_url, "state": "active", "scope": "user", "user": calendly.user_uri,
        "organization": calendly.organization_uri, "creator": calendly.user_uri, "retry_started_at": None,
        "events": ["invitee.created", "invitee.canceled"]}
    again = await rest.post("/webhook_subscriptions", json=subscription(calendly, receiver.hook_url))
    assert (again.status_code, again.json()) == (409, {"title": "Already Exists",
                                                       "message": "Hook with this url already exists"})
    assert [entry.uuid for entry in calendly.store.subscriptions.values()] == [created["uri"].rsplit("/", 1)[-1]]


async def test_a_plan_without_webhooks_is_403_and_creates_nothing(calendly: FakeCalendly, rest: httpx.AsyncClient,
                                                                 receiver: Receiver) -> None:
    calendly.webhooks_refused = True
    answer = await rest.post("/webhook_subscriptions", json=subscription(calendly, receiver.hook_url))
    assert (answer.status_code, answer.json()) == (403, {"title": "Permission Denied",
                                                         "message": "Please upgrade to a paid Calendly account."})
    assert calendly.store.subscriptions == {}


@pytest.mark.parametrize(("change", "parameter"), [
    ({"url": "not a url"}, "url"), ({"events": ["invitee.updated"]}, "events"), ({"events": []}, "events"),
    ({"scope": "group"}, "scope"), ({"user": None}, "user"), ({"organization": None}, "organization")])
async def test_a_bad_subscription_is_400_naming_the_parameter(calendly: FakeCalendly, rest: httpx.AsyncClient,
                                                             receiver: Receiver, change: dict[str, Any],
                                                             parameter: str) -> None:
    body = subscription(calendly, **{"url": receiver.hook_url, **change})
    with calendly.sending_bad_requests():
        answer = await rest.post("/webhook_subscriptions", json=body)
    assert (answer.status_code, [detail["parameter"] for detail in answer.json()["details"]]) == (400, [parameter])
    assert calendly.store.subscriptions == {}


async def test_subscriptions_are_listed_by_page_and_scope_and_deleted(calendly: FakeCalendly,
                                                                     rest: httpx.AsyncClient) -> None:
    users = [await subscribe(rest, calendly, f"https://hooks.example.com/{index}") for index in range(3)]
    whole = await subscribe(rest, calendly, "https://hooks.example.com/0", scope="organization", user=None)
    listing = {"organization": calendly.organization_uri, "scope": "user", "user": calendly.user_uri, "count": "2"}
    first = (await rest.get("/webhook_subscriptions", params=listing)).json()
    second = (await rest.get(first["pagination"]["next_page"])).json()
    assert [item["uri"] for item in first["collection"] + second["collection"]] == [item["uri"] for item in users]
    organization = await rest.get("/webhook_subscriptions", params={"organization": calendly.organization_uri,
                                                                   "scope": "organization"})
    assert [item["uri"] for item in organization.json()["collection"]] == [whole["uri"]]
    assert (await rest.get(whole["uri"])).json()["resource"] == whole
    assert (await rest.delete(whole["uri"])).status_code == 204
    assert [(await rest.get(whole["uri"])).status_code, (await rest.delete(whole["uri"])).status_code] == [404, 404]


# -- signing ------------------------------------------------------------------------------------------------------

async def test_a_delivery_is_signed_with_the_key_given_over_the_exact_bytes(calendly: FakeCalendly,
                                                                           rest: httpx.AsyncClient,
                                                                           receiver: Receiver) -> None:
    created = await subscribe(rest, calendly, receiver.hook_url, signing_key="our-own-key")
    invitee = book(calendly)
    await calendly.deliveries_settled()
    [received] = receiver.received
    assert calendly.signing_key(created["uri"]) == "our-own-key"
    assert signature_valid(received.headers[SIGNATURE_HEADER], received.body, ["our-own-key"], time.time())
    assert not signature_valid(received.headers[SIGNATURE_HEADER], received.body + b" ", ["our-own-key"],
                               time.time())
    assert (json.loads(received.body)["event"], json.loads(received.body)["payload"]["uri"]) == (
        "invitee.created", invitee)


async def test_without_a_key_one_is_generated_and_an_oauth_app_signs_with_its_own(
        calendly: FakeCalendly, rest: httpx.AsyncClient, receiver: Receiver) -> None:
    generated = await subscribe(rest, calendly, receiver.hook_url)
    token = calendly.oauth.issue_tokens(calendly.user.uuid)["access_token"]
    async with httpx.AsyncClient(base_url=calendly.api_url, headers={"Authorization": f"Bearer {token}"}) as app:
        first = await subscribe(app, calendly, "https://hooks.example.com/a", signing_key="ignored")
        second = await subscribe(app, calendly, "https://hooks.example.com/b")
    assert len(calendly.signing_key(generated["uri"])) >= 32
    assert calendly.signing_key(first["uri"]) == calendly.signing_key(second["uri"]) == calendly.oauth.app_signing_key
    book(calendly)
    await calendly.deliveries_settled()
    [received] = receiver.received
    assert signature_valid(received.headers[SIGNATURE_HEADER], received.body,
                           [calendly.signing_key(generated["uri"])], time.time())


# -- retries, disabling and 410 -----------------------------------------------------------------------------------

async def test_failures_are_retried_and_then_the_subscription_is_disabled(calendly: FakeCalendly,
                                                                         rest: httpx.AsyncClient,
                                                                         receiver: Receiver) -> None:
    created = await subscribe(rest, calendly, receiver.hook_url)
    receiver.answers = [500, 503, 400, 404]
    book(calendly)
    await calendly.deliveries_settled()
    assert [(attempt.number, attempt.status) for attempt in calendly.webhooks.attempts] == [
        (1, 500), (2, 503), (3, 400), (4, 404)]
    disabled = (await rest.get(created["uri"])).json()["resource"]
    assert (disabled["state"], disabled["retry_started_at"] is not None) == ("disabled", True)
    book(calendly, hours=2)
    await calendly.deliveries_settled()
    assert len(receiver.received) == 4  # a disabled subscription gets nothing more


async def test_a_redirect_is_a_failure_and_a_later_success_clears_the_retry(calendly: FakeCalendly,
                                                                           rest: httpx.AsyncClient,
                                                                           receiver: Receiver) -> None:
    created = await subscribe(rest, calendly, receiver.hook_url)
    receiver.answers = [302, 200]
    book(calendly)
    await calendly.deliveries_settled()
    assert [attempt.status for attempt in calendly.webhooks.attempts] == [302, 200]
    assert [received.path for received in receiver.received] == ["/hook", "/hook"]  # the redirect not followed
    recovered = (await rest.get(created["uri"])).json()["resource"]
    assert (recovered["state"], recovered["retry_started_at"]) == ("active", None)


async def test_a_410_deletes_the_subscription_at_once(calendly: FakeCalendly, rest: httpx.AsyncClient,
                                                     receiver: Receiver) -> None:
    created = await subscribe(rest, calendly, receiver.hook_url)
    receiver.answers = [410]
    book(calendly)
    await calendly.deliveries_settled()
    assert [attempt.status for attempt in calendly.webhooks.attempts] == [410]
    assert (await rest.get(created["uri"])).status_code == 404
    book(calendly, hours=2)
    await calendly.deliveries_settled()
    assert len(receiver.received) == 1


async def test_a_receiver_that_cannot_be_reached_is_retried(calendly: FakeCalendly, rest: httpx.AsyncClient) -> None:
    await subscribe(rest, calendly, "http://127.0.0.1:9/unreachable")
    book(calendly)
    await calendly.deliveries_settled()
    assert [attempt.status for attempt in calendly.webhooks.attempts] == [0, 0, 0, 0]


# -- what is delivered ----------------------------------------------------------------------------------------------

async def test_a_user_scoped_subscription_hears_only_of_events_its_user_hosts(calendly: FakeCalendly,
                                                                             rest: httpx.AsyncClient,
                                                                             receiver: Receiver) -> None:
    await subscribe(rest, calendly, receiver.hook_url)
    colleague = calendly.add_user("Ravi Repair", "ravi@example.com")
    calendly.book(calendly.add_event_type(colleague, "Gas check"), START)
    together = calendly.book(calendly.add_event_type(colleague, "Big job"), START, hosts=[calendly.user])
    await calendly.deliveries_settled()
    assert [body["payload"]["uri"] for body in bodies(receiver)] == [together.invitee_uri]
    hosts = bodies(receiver)[0]["payload"]["scheduled_event"]["event_memberships"]
    assert [(host["user"], host["user_email"]) for host in hosts] == [
        (calendly.store.user_uri(colleague), "ravi@example.com"), (calendly.user_uri, "tess@example.com")]


@pytest.mark.parametrize("order", ["canceled_first", "created_first"])
async def test_a_reschedule_delivers_both_halves_linked_in_the_order_asked(calendly: FakeCalendly,
                                                                          rest: httpx.AsyncClient,
                                                                          receiver: Receiver, order: str) -> None:
    await subscribe(rest, calendly, receiver.hook_url)
    old = book(calendly)
    await calendly.deliveries_settled()
    receiver.received.clear()
    calendly.reschedule_order = order
    new = calendly.reschedule(old, START + timedelta(days=1))
    await calendly.deliveries_settled()
    halves = {body["event"]: body["payload"] for body in bodies(receiver)}
    expected = ["invitee.canceled", "invitee.created"]
    assert [body["event"] for body in bodies(receiver)] == (expected if order == "canceled_first" else expected[::-1])
    canceled, created = halves["invitee.canceled"], halves["invitee.created"]
    assert (canceled["uri"], canceled["status"], canceled["rescheduled"], canceled["new_invitee"]) == (
        old, "canceled", True, new.invitee_uri)
    assert (created["uri"], created["old_invitee"], created["scheduled_event"]["uri"],
            created["scheduled_event"]["start_time"]) == (new.invitee_uri, old, new.event_uri,
                                                          "2030-01-08T09:00:00.000000Z")
    assert canceled["scheduled_event"]["status"] == "canceled"


async def test_an_invitees_cancellation_is_delivered_with_their_reason(calendly: FakeCalendly,
                                                                      rest: httpx.AsyncClient,
                                                                      receiver: Receiver) -> None:
    await subscribe(rest, calendly, receiver.hook_url)
    invitee = book(calendly)
    calendly.cancel_by_invitee(invitee, "Found another plumber")
    await calendly.deliveries_settled()
    canceled = bodies(receiver)[1]["payload"]
    assert (canceled["status"], canceled["cancellation"]["canceler_type"], canceled["cancellation"]["reason"],
            canceled["cancellation"]["canceled_by"]) == ("canceled", "invitee", "Found another plumber",
                                                         "Cleo Customer")


# -- faults on demand -----------------------------------------------------------------------------------------------

async def test_signature_faults_spoil_the_first_attempt_only(calendly: FakeCalendly, rest: httpx.AsyncClient,
                                                            receiver: Receiver) -> None:
    await subscribe(rest, calendly, receiver.hook_url, signing_key="key")
    calendly.webhooks.inject("bad_signature")
    calendly.webhooks.inject("stale_timestamp")
    for hours in range(3):
        book(calendly, hours)
    await calendly.deliveries_settled()
    signatures = [(received.headers[SIGNATURE_HEADER], received.body) for received in receiver.received]
    assert [signature_valid(header, body, ["key"], time.time()) for header, body in signatures] == [
        False, False, True]
    stale_at = int(signatures[1][0].split(",")[0].removeprefix("t="))
    assert signature_valid(signatures[1][0], signatures[1][1], ["key"], stale_at)  # right key, old time


async def test_duplicate_lost_and_delayed_deliveries(calendly: FakeCalendly, rest: httpx.AsyncClient,
                                                    receiver: Receiver) -> None:
    created = await subscribe(rest, calendly, receiver.hook_url)
    calendly.webhooks.inject("duplicate")
    first = book(calendly)
    calendly.webhooks.inject("lost")
    lost = book(calendly, 1)
    calendly.webhooks.inject("delay", seconds=0.3)
    late = book(calendly, 2)
    overtaking = book(calendly, 3)
    await calendly.deliveries_settled()
    assert [body["payload"]["uri"] for body in bodies(receiver)] == [first, first, overtaking, late]
    assert receiver.received[0].body == receiver.received[1].body
    assert calendly.webhooks.lost == [(created["uri"].rsplit("/", 1)[-1], "invitee.created", lost)]
