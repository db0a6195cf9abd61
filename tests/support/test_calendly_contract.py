"""The Calendly contract checker (tests/support/calendly_contract.py): the fake's real traffic conforms, and traffic
that breaks Calendly's description is caught, each problem named: a wrong or missing field, a wrong type, a count
out of range, undeclared or missing parameters, statuses and bodies an operation does not have, links without their
tokens, missing rate-limit headers, webhook bodies and signatures, and the token endpoint's answers."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.fakes.calendly import FakeCalendly, LoggedRequest
from tests.fakes.calendly_webhooks import SIGNATURE_HEADER
from tests.support.calendly import Receiver
from tests.support.calendly_contract import PLAN_REFUSAL, exchange_problems, webhook_problems

START = datetime(2030, 1, 7, 9, tzinfo=UTC)


@dataclasses.dataclass(frozen=True)
class Traffic:
    log: dict[str, LoggedRequest]
    delivery: tuple[bytes, dict[str, str]]


@pytest.fixture(scope="module")
async def traffic() -> AsyncIterator[Traffic]:
    """One logged exchange of each kind the tests tamper with, by name, and one webhook delivery as received."""
    async with FakeCalendly() as calendly, Receiver() as receiver:
        token = calendly.personal_token()
        refresh = str(calendly.oauth.issue_tokens(calendly.user.uuid)["refresh_token"])
        kind = calendly.add_event_type(calendly.user, "Boiler service", 45)
        async with httpx.AsyncClient(base_url=calendly.api_url, headers={"Authorization": f"Bearer {token}"}) as api:
            await api.get("/users/me")
            await api.post("/webhook_subscriptions", json={
                "url": receiver.hook_url, "events": ["invitee.created"], "organization": calendly.organization_uri,
                "scope": "user", "user": calendly.user_uri})
            booked = [calendly.book(kind, START), calendly.book(kind, START.replace(hour=11))]
            await api.get("/event_types", params={"user": calendly.user_uri})
            await api.get("/scheduled_events", params={"user": calendly.user_uri, "count": "1",
                                                       "min_start_time": "2030-01-01T00:00:00.000000Z"})
            await api.post(f"{booked[0].event_uri}/cancellation", json={"reason": "Van broke down"})
            await api.delete("/webhook_subscriptions/unknown")
        async with httpx.AsyncClient() as client:
            await client.post(calendly.token_url, data={"grant_type": "refresh_token", "refresh_token": refresh},
                              auth=httpx.BasicAuth(calendly.client_id, calendly.client_secret))
        await calendly.deliveries_settled()
        names = ("me", "subscribe", "event_types", "events", "cancel", "delete", "token")
        yield Traffic(dict(zip(names, calendly.log, strict=True)),
                      (receiver.received[0].body, receiver.received[0].headers))


def tampered(entry: LoggedRequest, **changes: Any) -> LoggedRequest:
    return dataclasses.replace(entry, **copy.deepcopy(changes))


def test_the_fakes_own_traffic_conforms(traffic: Traffic) -> None:
    assert [problem for entry in traffic.log.values() for problem in exchange_problems(entry)] == []
    assert webhook_problems(*traffic.delivery) == []


def test_an_answer_with_a_wrong_field_or_type_is_caught(traffic: Traffic) -> None:
    user = traffic.log["me"].response["resource"]
    renamed = {key: value for key, value in user.items() if key != "timezone"} | {"time_zone": "Europe/Berlin"}
    me = tampered(traffic.log["me"], response={"resource": {**renamed, "uri": "users/me"}})
    kinds = traffic.log["event_types"].response
    typed = tampered(traffic.log["event_types"], response={**kinds, "collection": [
        {**kinds["collection"][0], "duration": "45", "color": "purple"}]})
    assert exchange_problems(me) + exchange_problems(typed) == [
        "GET /users/me answer (200).resource: 'timezone' is a required property",
        "GET /users/me answer (200).resource.uri: 'users/me' is not a 'uri'",
        "GET /event_types answer (200).collection[0].color: 'purple' does not match '^#[a-f\\\\d]{6}$'",
        "GET /event_types answer (200).collection[0].duration: '45' is not of type 'number'"]


def test_a_count_out_of_range_and_other_bad_queries_are_caught(traffic: Traffic) -> None:
    events = traffic.log["events"]
    queries = [(("user", events.query[0][1]), ("count", "0")),
               (("user", events.query[0][1]), ("count", "101"), ("status", "done"), ("colour", "red")),
               (("count", "10"), ("min_start_time", "2030-01-01T01:00:00+01:00"))]
    found = [exchange_problems(tampered(events, query=query)) for query in queries]
    assert found == [
        ["GET /scheduled_events query count: 0 is less than the minimum of 1"],
        ["GET /scheduled_events query count: 101 is greater than the maximum of 100",
         "GET /scheduled_events query status: 'done' is not one of ['active', 'canceled']",
         "GET /scheduled_events: query parameter 'colour' is not declared"],
        ["GET /scheduled_events: names neither a user nor an organization",
         "GET /scheduled_events query min_start_time: '2030-01-01T01:00:00+01:00' is not a UTC instant like "
         "2020-01-02T03:04:05.678123Z"]]


def test_requests_outside_the_contract_are_caught(traffic: Traffic) -> None:
    subscribe = traffic.log["subscribe"]
    unsigned = tampered(traffic.log["me"], headers={})
    unknown = tampered(traffic.log["me"], path="/users/me/avatar")
    bad_body = tampered(subscribe, body={**subscribe.body, "events": ["invitee.updated"], "user": None})
    assert exchange_problems(unsigned) + exchange_problems(unknown) + exchange_problems(bad_body) == [
        "GET /users/me: no bearer token",
        "GET /users/me/avatar: no such operation in the contract",
        "POST /webhook_subscriptions request.events[0]: 'invitee.updated' is not one of ['invitee.canceled', "
        "'invitee.created', 'routing_form_submission.created']",
        "POST /webhook_subscriptions request.user: None for not nullable",
        "POST /webhook_subscriptions request.user: None is not of type 'string'"]


def test_statuses_and_bodies_an_operation_does_not_have_are_caught(traffic: Traffic) -> None:
    conflict = tampered(traffic.log["me"], status=409)
    deleted_with_body = tampered(traffic.log["delete"], status=204, response={"deleted": True})
    created_without = tampered(traffic.log["subscribe"], response=None)
    assert exchange_problems(conflict) + exchange_problems(deleted_with_body) + exchange_problems(
        created_without) == [
        "GET /users/me answer (409): a status the operation does not list",
        "DELETE /webhook_subscriptions/{webhook_uuid} answer (204): has a body the operation does not return",
        "POST /webhook_subscriptions answer (201): has no JSON body"]


def test_the_plan_refusal_of_today_is_allowed_and_other_texts_are_not(traffic: Traffic) -> None:
    refused = tampered(traffic.log["subscribe"], status=403,
                       response={"title": "Permission Denied", "message": PLAN_REFUSAL})
    invented = tampered(refused, response={"title": "Permission Denied", "message": "Webhooks are off"})
    assert exchange_problems(refused) == []
    assert exchange_problems(invented) == [
        "POST /webhook_subscriptions answer (403).message: 'Webhooks are off' is not one of ['Please upgrade your "
        "Calendly account to Professional', 'You do not have permission to access this resource.', 'You do not have "
        "permission', 'Please upgrade to a paid Calendly account.']"]


def test_links_without_their_tokens_and_missing_rate_limit_headers_are_caught(traffic: Traffic) -> None:
    events = traffic.log["events"]
    pagination = {**events.response["pagination"], "next_page_token": "another"}
    unlinked = tampered(events, response={**events.response, "pagination": pagination})
    headers = {key: value for key, value in events.response_headers.items() if key != "X-RateLimit-Reset"}
    unlimited = tampered(events, response_headers=headers)
    assert exchange_problems(unlinked) + exchange_problems(unlimited) == [
        "GET /scheduled_events answer (200).pagination: next_page does not embed next_page_token",
        "GET /scheduled_events answer (200): lacks X-RateLimit-Reset"]


def test_webhook_bodies_and_signatures_are_checked(traffic: Traffic) -> None:
    body, headers = traffic.delivery
    envelope = json.loads(body)
    flat = {**envelope, "payload": {key: value for key, value in envelope["payload"].items()
                                    if key != "scheduled_event"} | {"rescheduled": "no"}}
    unsigned = {key: value for key, value in headers.items() if key != SIGNATURE_HEADER} | {
        SIGNATURE_HEADER: "v1=abc", "Content-Type": "text/plain"}
    assert webhook_problems(json.dumps(flat).encode(), unsigned) == [
        "webhook POST: Content-Type is not application/json",
        f"webhook POST: no {SIGNATURE_HEADER} of the form t=<seconds>,v1=<hex>",
        "webhook POST.payload.rescheduled: 'no' is not of type 'boolean'",
        "webhook POST.payload: scheduled_event missing"]
    moved = {**envelope, "payload": {**envelope["payload"], "scheduled_event": {
        **envelope["payload"]["scheduled_event"], "start_time": "tomorrow"}}}
    assert webhook_problems(json.dumps(moved).encode(), headers) == [
        "webhook POST.payload.scheduled_event.start_time: 'tomorrow' is not a 'date-time'"]
    assert webhook_problems(b"{not json", headers) == ["webhook POST: the body is not JSON"]


def test_token_requests_and_answers_are_checked(traffic: Traffic) -> None:
    answer = {key: value for key, value in traffic.log["token"].response.items() if key != "owner"}
    entry = tampered(traffic.log["token"], response=answer, body={"grant_type": "password"}, headers={})
    assert exchange_problems(entry) == [
        "token request: the client is not named", "token request: unknown grant_type 'password'",
        "token answer (200): 'owner' is a required property"]
