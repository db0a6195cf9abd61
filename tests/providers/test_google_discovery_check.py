"""The discovery-document check itself: it passes what Google documents and names what it does not."""

from __future__ import annotations

from typing import Any

from tests.fakes.google import LoggedRequest
from tests.support.google_discovery import request_problems

EVENTS = "/calendar/v3/calendars/tech%40example.com/events"


def exchange(method: str = "GET", path: str = EVENTS, query: tuple[tuple[str, str], ...] = (), body: Any = None,
             status: int = 200, response: Any = None) -> LoggedRequest:
    return LoggedRequest(method, path, query, {}, body, status, response)


def test_a_documented_exchange_passes() -> None:
    assert request_problems(exchange(
        query=(("singleEvents", "true"), ("maxResults", "250"), ("timeMin", "2030-01-01T00:00:00Z"),
               ("eventTypes", "default"), ("eventTypes", "focusTime")),
        response={"kind": "calendar#events", "items": [{"id": "abcde", "start": {"dateTime": "2030-01-01T10:00:00Z"},
                                                        "extendedProperties": {"private": {"k": "v"}}}],
                  "nextSyncToken": "CP1"})) == []


def test_undeclared_or_mistyped_query_parameters_are_named() -> None:
    assert request_problems(exchange(query=(("singleEvents", "yes"), ("maxResults", "0"), ("pageSize", "10"),
                                            ("timeMin", "2030-01-01T00:00:00"), ("syncToken", "a"),
                                            ("syncToken", "b")))) == [
        "calendar.events.list: query parameter singleEvents='yes' is not a boolean",
        "calendar.events.list: query parameter maxResults='0' is below the minimum 1",
        "calendar.events.list: query parameter 'pageSize' is not declared",
        "calendar.events.list: query parameter timeMin='2030-01-01T00:00:00' is not an RFC3339 date-time",
        "calendar.events.list: query parameter 'syncToken' repeated",
    ]


def test_body_fields_are_checked_recursively_with_their_types() -> None:
    body = {"summary": 5, "start": {"dateTime": "2030-01-01T10:00:00+01:00", "zone": "Europe/Berlin"},
            "attendees": [{"email": "a@example.com", "self": "true"}], "colour": "11", "sequence": 1,
            "extendedProperties": {"private": {"lockstepMarker": 7}}}
    assert request_problems(exchange("POST", body=body, response={"id": "abcde", "sequence": "1"})) == [
        "calendar.events.insert request.summary should be a string",
        "calendar.events.insert request.start.zone is not a field of EventDateTime",
        "calendar.events.insert request.attendees[0].self should be a boolean",
        "calendar.events.insert request.colour is not a field of Event",
        "calendar.events.insert request.extendedProperties.private.lockstepMarker should be a string",
        "calendar.events.insert response (200).sequence should be an integer",
    ]


def test_int64_fields_are_strings_of_digits_and_errors_have_google_shape() -> None:
    watch = exchange("POST", EVENTS + "/watch", body={"id": "c1", "type": "web_hook", "address": "https://x",
                                                       "expiration": 1426325213000},
                     status=400, response={"error": {"code": 400, "message": "Bad", "errors": [], "hint": "x"}})
    assert request_problems(watch) == [
        "calendar.events.watch request.expiration should be a string",
        "calendar.events.watch response (400).error.hint is not part of Google's error shape",
    ]


def test_an_undocumented_path_or_method_is_named() -> None:
    assert request_problems(exchange("PUT", "/calendar/v3/calendars/x/events")) == [
        "PUT /calendar/v3/calendars/x/events: no such method in the discovery document"]
    assert request_problems(exchange("DELETE", "/calendar/v3/channels/stop")) == [
        "DELETE /calendar/v3/channels/stop: no such method in the discovery document"]
    assert request_problems(exchange("POST", "/token")) == []  # OAuth endpoints are not part of the Calendar API
