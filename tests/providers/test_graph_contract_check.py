"""The Graph contract checker (tests/support/graph_contract.py): real traffic of the fake conforms, and traffic
that breaks the OpenAPI subset (answers, requests, delta pages, token answers, the fake's POSTs and the
receiver's answers) is caught, each problem named."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.fakes.microsoft import FakeMicrosoft, LoggedRequest
from tests.fakes.microsoft_subscriptions import Delivery
from tests.support.graph_contract import check_graph_traffic, graph_client

WINDOW = {"startDateTime": "2026-03-01T00:00:00Z", "endDateTime": "2026-05-01T00:00:00Z"}
SERIES = {"subject": "Standup", "start": {"dateTime": "2026-03-23T09:00:00", "timeZone": "Europe/Berlin"},
          "end": {"dateTime": "2026-03-23T09:15:00", "timeZone": "Europe/Berlin"}, "recurrence": {
              "pattern": {"type": "daily", "interval": 1}, "range": {"type": "numbered", "startDate": "2026-03-23",
                                                                     "numberOfOccurrences": 2}}}


@pytest.fixture(scope="module")
async def traffic() -> AsyncIterator[dict[str, LoggedRequest]]:
    """One logged exchange of each kind the tests tamper with, by name."""
    async with FakeMicrosoft() as ms, graph_client(ms) as graph:
        series = ms.insert_by_hand(ms.default_calendar_id(), SERIES)
        await graph.get(f"/me/events/{series['id']}")
        await graph.get(f"/me/calendars/{ms.default_calendar_id()}/calendarView/delta()", params=WINDOW)
        await graph.delete(f"/me/events/{series['id']}")
        await graph.get("/me/events/unknown")
        await graph.post("/me/events", json={"subject": "Booking", "start": SERIES["start"], "end": SERIES["end"]})
        refresh = ms.oauth.issue_tokens()["refresh_token"]
        await graph.post(ms.token_url, data={"grant_type": "refresh_token", "refresh_token": refresh,
                                             "client_id": ms.client_id, "client_secret": ms.client_secret})
        yield dict(zip(("get", "delta", "delete", "missing", "create", "token"), ms.log, strict=True))


def tampered(entry: LoggedRequest, **changes: Any) -> LoggedRequest:
    return dataclasses.replace(entry, **copy.deepcopy(changes))


def test_the_fakes_own_traffic_conforms(traffic: dict[str, LoggedRequest]) -> None:
    assert check_graph_traffic(traffic.values()) == []


def test_an_answer_with_a_bad_or_undeclared_field_is_caught(traffic: dict[str, LoggedRequest]) -> None:
    event = traffic["get"].response
    entry = tampered(traffic["get"], response={**event, "showAs": "busyy", "colour": "red",
                                               "start": {"dateTime": "2026-03-23T08:00:00+00:00", "timeZone": "UTC"}})
    assert check_graph_traffic([entry]) == [
        "GET /me/events/{event-id} answer (200): Additional properties are not allowed ('colour' was unexpected)",
        "GET /me/events/{event-id} answer (200).showAs: 'busyy' is not valid under any of the given schemas",
        "GET /me/events/{event-id} answer (200).start.dateTime is not a wall-clock time without offset"]


def test_statuses_and_bodies_the_operation_does_not_have_are_caught(traffic: dict[str, LoggedRequest]) -> None:
    with_body = tampered(traffic["delete"], response={"deleted": True})
    not_odata = tampered(traffic["missing"], response={"error": "ErrorItemNotFound"})
    no_body = tampered(traffic["create"], response=None)
    assert check_graph_traffic([with_body, not_odata, no_body]) == [
        "DELETE /me/events/{event-id} answer (204): has a body the operation does not return",
        "GET /me/events/{event-id} answer (404).error: 'ErrorItemNotFound' is not of type 'object'",
        "POST /me/events answer (201): has no JSON body"]


def test_malformed_delta_pages_are_caught(traffic: dict[str, LoggedRequest]) -> None:
    page = traffic["delta"].response
    master, occurrence = page["value"][0], page["value"][1]
    fat = {**occurrence, "subject": "Standup"}
    bad_stub = {"id": "AAMkAD1", "@removed": {"reason": "gone"}}
    stub_with_extra = {"id": "AAMkAD2", "@removed": {"reason": "deleted"}, "subject": "x"}
    entry = tampered(traffic["delta"], response={**page, "value": [master, fat, bad_stub, stub_with_extra],
                                                 "@odata.nextLink": "x"})
    problems = check_graph_traffic([entry])
    where = "GET /me/calendars/{calendar-id}/calendarView/delta answer (200)"
    assert problems == [
        f"{where}.value[2]: {bad_stub} is not valid under any of the given schemas",
        f"{where}.value[3]: {stub_with_extra} is not valid under any of the given schemas",
        f"{where}: a delta page needs exactly one of @odata.nextLink and @odata.deltaLink",
        f"{where}.value[1]: a delta occurrence carries exactly "
        "['@odata.etag', '@odata.type', 'end', 'id', 'seriesMasterId', 'start', 'type']",
        f"{where}.value[2]: a removal is exactly {{@odata.type, id, @removed: {{reason}}}}",
        f"{where}.value[3]: a removal is exactly {{@odata.type, id, @removed: {{reason}}}}"]


def test_requests_outside_the_contract_are_caught(traffic: dict[str, LoggedRequest]) -> None:
    filtered = tampered(traffic["delta"], query=(*traffic["delta"].query, ("$filter", "x")))
    unknown = tampered(traffic["get"], path="/v1.0/me/events/x/attachments")
    bad_body = tampered(traffic["create"], body={"subject": 7, "isAllDay": "no"})
    assert check_graph_traffic([filtered, unknown, bad_body]) == [
        "GET /me/calendars/{calendar-id}/calendarView/delta: query parameter '$filter' is not declared",
        "GET /v1.0/me/events/x/attachments: no such operation in the contract",
        "POST /me/events request.isAllDay: 'no' is not of type 'boolean'",
        "POST /me/events request.subject: 7 is not of type 'string'"]


def test_token_answers_are_checked_against_the_identity_platforms_shapes(traffic: dict[str, LoggedRequest]) -> None:
    answer = {key: value for key, value in traffic["token"].response.items() if key != "token_type"}
    entry = tampered(traffic["token"], response=answer, body={"grant_type": "refresh_token"})
    assert check_graph_traffic([entry]) == [
        "token request: client_id missing", "token request: refresh_token missing",
        "token answer (200): 'token_type' is a required property"]


def test_the_fakes_posts_and_the_receivers_answers_are_checked() -> None:
    item = {"subscriptionId": "not-a-guid", "changeType": "moved", "resource": "Users/u/Events/e"}
    notification = Delivery("notification", "http://127.0.0.1/hook", "application/json", {"value": [item]}, None,
                            500, "", "", 0.1)
    lifecycle = Delivery("lifecycle", "http://127.0.0.1/life", "application/json",
                         {"value": [{"subscriptionId": "4e2a93fd-6f9a-4d5d-8d77-5e0b1c2f0a11"}]}, None, 202, "", "",
                         4.0)
    assert check_graph_traffic([notification, lifecycle]) == [
        "notification POST.value[0].changeType: 'moved' is not one of ['created', 'updated', 'deleted']",
        "notification POST.value[0].subscriptionId: 'not-a-guid' does not match "
        "'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'",
        "notification POST: the receiver did not answer 2xx within 3 s (answered 500)",
        "lifecycle POST.value[0]: lifecycleEvent missing",
        "lifecycle POST: the receiver did not answer 2xx within 3 s (answered 202)"]
