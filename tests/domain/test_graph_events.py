"""Busy semantics of Graph events and reading Lockstep's own events from Graph JSON (domain/graph_events.py)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.busy import BusyPolicy, BusySpan, UnreadableCalendarData
from domain.graph_events import (
    MARKER_PROPERTY_ID,
    PLANNED_PROPERTY_ID,
    UnreadableGraphEvent,
    event_zone,
    graph_busy_spans,
    graph_instant,
    is_private,
    marker_of,
    marker_value,
    parse_event,
    planned_start_of,
    read_own_graph_event,
)
from domain.intervals import Span
from domain.own_events import OwnEvent

WINDOW = Span(datetime(2030, 1, 1, tzinfo=UTC), datetime(2031, 1, 1, tzinfo=UTC))
POLICY = BusyPolicy(zone="Europe/Berlin", own_addresses=frozenset({"tech@example.com"}))
DENTIST_START, DENTIST_END = datetime(2030, 1, 8, 14, tzinfo=UTC), datetime(2030, 1, 8, 15, tzinfo=UTC)
DENTIST = BusySpan(Span(DENTIST_START, DENTIST_END), "2030-01-08T14:00:00+00:00", "Dentist", False)


def event(**fields: Any) -> str:
    resource: dict[str, Any] = {
        "@odata.etag": 'W/"EZ9r3czxY0m2jz8c45czkwAAFXcvIQ=="', "id": "AAMkADentist=", "type": "singleInstance",
        "subject": "Dentist", "showAs": "busy", "isAllDay": False, "isCancelled": False,
        "start": {"dateTime": "2030-01-08T14:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2030-01-08T15:00:00.0000000", "timeZone": "UTC"},
        "originalStartTimeZone": "W. Europe Standard Time", "originalEndTimeZone": "W. Europe Standard Time"}
    resource.update(fields)
    return json.dumps({key: value for key, value in resource.items() if value is not None})


def marked(value: str, property_id: str = MARKER_PROPERTY_ID) -> list[dict[str, str]]:
    return [{"id": "String {00020329-0000-0000-c000-000000000046} Name Other", "value": "x"},
            {"id": property_id, "value": value}]


def attendee(address: str, response: str) -> dict[str, Any]:
    return {"type": "required", "status": {"response": response, "time": "2029-12-01T10:00:00Z"},
            "emailAddress": {"name": "Someone", "address": address}}


# -- times and zones ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ({"dateTime": "2030-01-08T14:00:00.0000000", "timeZone": "UTC"}, datetime(2030, 1, 8, 14, tzinfo=UTC)),
    ({"dateTime": "2030-07-01T09:00:00.0000000", "timeZone": "America/New_York"},
     datetime(2030, 7, 1, 13, tzinfo=UTC)),
    ({"dateTime": "2030-07-01T09:00:00", "timeZone": "Pacific Standard Time"}, datetime(2030, 7, 1, 16, tzinfo=UTC)),
    ({"dateTime": "2030-01-08T09:00:00.5000000", "timeZone": "Tokyo Standard Time"},
     datetime(2030, 1, 8, 0, 0, 0, 500000, tzinfo=UTC)),
    ({"dateTime": "2030-01-08T15:00:00.0000000", "timeZone": "tzone://Microsoft/Custom"},
     datetime(2030, 1, 8, 14, tzinfo=UTC)),
    ({"dateTime": "2030-01-08T15:00:00.0000000", "timeZone": "Mars/Olympus"}, datetime(2030, 1, 8, 14, tzinfo=UTC)),
    ({"dateTime": "2030-01-08T15:00:00.1234567", "timeZone": "Europe/Berlin"},
     datetime(2030, 1, 8, 14, 0, 0, 123456, tzinfo=UTC)),
], ids=["utc", "iana", "windows", "fraction", "custom-zone", "unknown-zone", "seven-digits"])
def test_a_date_time_time_zone_is_read_in_its_zone_or_the_fallback(value: dict[str, str],
                                                                    expected: datetime) -> None:
    assert graph_instant(value, "Europe/Berlin") == expected


@pytest.mark.parametrize(("fields", "expected"), [
    ({"originalStartTimeZone": "Tokyo Standard Time"}, "Asia/Tokyo"),
    ({"originalStartTimeZone": "America/Los_Angeles"}, "America/Los_Angeles"),
    ({"originalStartTimeZone": "UTC"}, "UTC"),
    ({"originalStartTimeZone": "tzone://Microsoft/Custom",
      "start": {"dateTime": "2030-01-08T09:00:00.0000000", "timeZone": "Eastern Standard Time"}},
     "America/New_York"),
    ({"originalStartTimeZone": None}, "Europe/Paris"),
    ({"originalStartTimeZone": "tzone://Microsoft/Custom"}, "Europe/Paris"),
], ids=["windows-original", "iana-original", "utc-original", "start-zone", "start-in-utc", "custom"])
def test_the_event_zone_is_its_original_zone_else_its_start_zone_else_the_fallback(fields: dict[str, Any],
                                                                                   expected: str) -> None:
    assert event_zone(parse_event(event(**fields)), "Europe/Paris") == expected


# -- busy or free -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fields", [
    {}, {"showAs": "oof"}, {"showAs": "unknown"}, {"showAs": None}, {"type": "exception"},
    {"responseStatus": {"response": "accepted", "time": "2029-12-01T10:00:00Z"}},
    {"attendees": [attendee("tech@example.com", "accepted"), attendee("boss@example.com", "declined")]},
    {"sensitivity": "private"},
], ids=["busy", "out-of-office", "unknown", "no-show-as", "exception", "accepted", "someone-else-declined",
        "private-keeps-its-title"])
def test_a_busy_event_blocks_its_time(fields: dict[str, Any]) -> None:
    assert graph_busy_spans(event(**fields), WINDOW, POLICY) == [DENTIST]


@pytest.mark.parametrize("fields", [
    {"showAs": "free"}, {"showAs": "workingElsewhere"}, {"isCancelled": True},
    {"responseStatus": {"response": "declined", "time": "2029-12-01T10:00:00Z"}},
    {"attendees": [attendee("Tech@Example.COM", "declined")]},
    {"singleValueExtendedProperties": marked("booking-7@lockstep")},
    {"singleValueExtendedProperties": marked(
        "series-7@lockstep", "String {7B2F3C1E-5A4D-4E8B-9C61-0D2E3F4A5B6C} Name lockstepMarker")},
    {"type": "seriesMaster", "recurrence": {"pattern": {"type": "daily", "interval": 1}}},
], ids=["free", "working-elsewhere", "cancelled", "declined", "own-address-declined", "lockstep-own",
        "lockstep-own-upper-case-guid", "series-master"])
def test_free_events_block_nothing(fields: dict[str, Any]) -> None:
    assert graph_busy_spans(event(**fields), WINDOW, POLICY) == []


@pytest.mark.parametrize("fields", [
    {"showAs": "tentative"}, {"responseStatus": {"response": "tentativelyAccepted"}},
    {"attendees": [attendee("tech@example.com", "tentativelyAccepted")]},
], ids=["show-as-tentative", "tentatively-accepted", "own-attendee-tentative"])
def test_tentative_blocks_only_when_the_policy_says_so(fields: dict[str, Any]) -> None:
    assert graph_busy_spans(event(**fields), WINDOW, POLICY) == []
    blocking = BusyPolicy(zone="Europe/Berlin", own_addresses=POLICY.own_addresses, tentative_blocks=True)
    assert graph_busy_spans(event(**fields), WINDOW, blocking) == [replace(DENTIST, tentative=True)]


@pytest.mark.parametrize("property_id", [
    "String {7b2f3c1e-5a4d-4e8b-9c61-0d2e3f4a5b6c} Name LockstepMarker",
    "String {7b2f3c1e-5a4d-4e8b-9c61-0d2e3f4a5b6d} Name lockstepMarker",
    "Integer {7b2f3c1e-5a4d-4e8b-9c61-0d2e3f4a5b6c} Name lockstepMarker",
], ids=["name-case", "other-guid", "other-type"])
def test_a_near_miss_property_is_someone_elses(property_id: str) -> None:
    payload = event(singleValueExtendedProperties=marked("booking-7@lockstep", property_id))
    assert marker_of(parse_event(payload)) is None
    assert graph_busy_spans(payload, WINDOW, POLICY) == [DENTIST]


def test_a_near_miss_marker_value_is_someone_elses_event() -> None:
    payload = event(singleValueExtendedProperties=marked("booking-7@lockstep.example"))
    assert graph_busy_spans(payload, WINDOW, POLICY) == [DENTIST]


def test_an_all_day_event_blocks_its_dates_in_its_own_zone_not_utc_midnights() -> None:
    # given an all-day event written in Tokyo, as Graph answers in UTC: midnight-to-midnight dates all the same
    payload = event(isAllDay=True, subject="Holiday", originalStartTimeZone="Tokyo Standard Time",
                    start={"dateTime": "2030-01-08T00:00:00.0000000", "timeZone": "UTC"},
                    end={"dateTime": "2030-01-10T00:00:00.0000000", "timeZone": "UTC"})
    # then it blocks Tokyo's two days, keyed by its first date, whatever the calendar's zone
    assert graph_busy_spans(payload, WINDOW, POLICY) == [BusySpan(
        Span(datetime(2030, 1, 7, 15, tzinfo=UTC), datetime(2030, 1, 9, 15, tzinfo=UTC)), "2030-01-08", "Holiday",
        True)]
    assert graph_busy_spans(payload, WINDOW, BusyPolicy(zone="Europe/Berlin", all_day_blocks=False)) == []


def test_an_all_day_event_on_a_dst_day_is_a_short_local_day() -> None:
    # given an all-day event on the day Berlin springs forward, with no zone of its own but the calendar's
    payload = event(isAllDay=True, originalStartTimeZone="tzone://Microsoft/Custom",
                    start={"dateTime": "2030-03-31T00:00:00.0000000", "timeZone": "UTC"},
                    end={"dateTime": "2030-03-31T00:00:00.0000000", "timeZone": "UTC"})
    # then it blocks from Berlin midnight to Berlin midnight, 23 hours (an end not after the start is one day)
    [busy] = graph_busy_spans(payload, WINDOW, POLICY)
    assert busy.span == Span(datetime(2030, 3, 30, 23, tzinfo=UTC), datetime(2030, 3, 31, 22, tzinfo=UTC))


def test_an_all_day_occurrence_is_keyed_by_its_original_date() -> None:
    # given an all-day occurrence in Los Angeles moved a day later
    payload = event(isAllDay=True, type="exception", seriesMasterId="AAMkSeries=",
                    originalStart="2030-01-08T08:00:00Z", originalStartTimeZone="Pacific Standard Time",
                    start={"dateTime": "2030-01-09T00:00:00.0000000", "timeZone": "UTC"},
                    end={"dateTime": "2030-01-10T00:00:00.0000000", "timeZone": "UTC"})
    [busy] = graph_busy_spans(payload, WINDOW, POLICY)
    assert (busy.occurrence_key, busy.span) == (
        "2030-01-08", Span(datetime(2030, 1, 9, 8, tzinfo=UTC), datetime(2030, 1, 10, 8, tzinfo=UTC)))


def test_a_moved_occurrence_is_keyed_by_its_original_start() -> None:
    payload = event(type="exception", seriesMasterId="AAMkSeries=", originalStart="2030-01-08T14:00:00Z",
                    start={"dateTime": "2030-01-09T09:00:00.0000000", "timeZone": "W. Europe Standard Time"},
                    end={"dateTime": "2030-01-09T10:00:00.0000000", "timeZone": "W. Europe Standard Time"})
    assert graph_busy_spans(payload, WINDOW, POLICY) == [BusySpan(
        Span(datetime(2030, 1, 9, 8, tzinfo=UTC), datetime(2030, 1, 9, 9, tzinfo=UTC)),
        "2030-01-08T14:00:00+00:00", "Dentist", False)]


def test_a_hydrated_occurrence_without_original_start_is_keyed_by_its_start() -> None:
    payload = event(type="occurrence", seriesMasterId="AAMkSeries=", id="AAMkOccurrence=")
    assert graph_busy_spans(payload, WINDOW, POLICY) == [DENTIST]


def test_an_event_outside_the_window_or_taking_no_time_blocks_nothing() -> None:
    assert graph_busy_spans(event(), Span(DENTIST_END, DENTIST_END + timedelta(days=1)), POLICY) == []
    assert graph_busy_spans(event(end={"dateTime": "2030-01-08T14:00:00.0000000", "timeZone": "UTC"}), WINDOW,
                            POLICY) == []


def test_a_removed_item_blocks_nothing() -> None:
    payload = json.dumps({"@odata.type": "#microsoft.graph.event", "id": "AAMkADentist=",
                          "@removed": {"reason": "deleted"}})
    assert graph_busy_spans(payload, WINDOW, POLICY) == []


@pytest.mark.parametrize("payload", ["not json", "[]", json.dumps({"subject": "no id"}),
                                     event(start={"dateTime": "tomorrow", "timeZone": "UTC"}),
                                     event(start="2030-01-08T14:00:00")])
def test_an_unreadable_payload_says_so(payload: str) -> None:
    with pytest.raises(UnreadableCalendarData):
        graph_busy_spans(payload, WINDOW, POLICY)


def test_a_parsed_resource_is_read_as_its_json_text_is() -> None:
    text = event()
    resource = parse_event(text)
    assert parse_event(resource) is resource
    assert graph_busy_spans(resource, WINDOW, POLICY) == graph_busy_spans(text, WINDOW, POLICY) == [DENTIST]


def test_control_characters_in_a_graph_subject_become_replacement_characters() -> None:
    (block,) = graph_busy_spans(event(subject="Den\x00tist\x7f"), WINDOW, POLICY)
    assert block.title == "Den\ufffdtist\ufffd"


@pytest.mark.parametrize(("sensitivity", "expected"), [
    ("normal", False), ("personal", False), ("private", True), ("confidential", True), (None, False)])
def test_private_and_confidential_events_are_private(sensitivity: str | None, expected: bool) -> None:
    assert is_private(parse_event(event(sensitivity=sensitivity))) is expected


# -- Lockstep's own events ----------------------------------------------------------------------------------------

def own(marker: str, **fields: Any) -> str:
    return event(singleValueExtendedProperties=marked(marker), **fields)


def test_a_single_booking_event_is_read_with_its_one_occurrence_whatever_the_window() -> None:
    far = Span(datetime(2035, 1, 1, tzinfo=UTC), datetime(2035, 2, 1, tzinfo=UTC))
    assert read_own_graph_event(own("booking-5@lockstep"), far, "Europe/Berlin") == OwnEvent(
        "booking", 5, {DENTIST_START: Span(DENTIST_START, DENTIST_END)})


def test_a_moved_occurrence_of_a_series_is_keyed_by_its_planned_start() -> None:
    payload = own("series-9@lockstep", type="exception", seriesMasterId="AAMkSeries=",
                  originalStart="2030-01-08T14:00:00.0000000Z",
                  start={"dateTime": "2030-01-08T17:00:00.0000000", "timeZone": "Europe/Berlin"},
                  end={"dateTime": "2030-01-08T18:00:00.0000000", "timeZone": "Europe/Berlin"})
    assert read_own_graph_event(payload, WINDOW, "Europe/Berlin") == OwnEvent("series", 9, {
        DENTIST_START: Span(datetime(2030, 1, 8, 16, tzinfo=UTC), datetime(2030, 1, 8, 17, tzinfo=UTC))})
    # an occurrence planned outside the window is not reported, wherever it is now
    before = Span(datetime(2029, 1, 1, tzinfo=UTC), DENTIST_START)
    assert read_own_graph_event(payload, before, "Europe/Berlin") == OwnEvent("series", 9, {})


def test_an_unmoved_occurrence_is_keyed_by_its_start_and_kept_to_the_window() -> None:
    payload = own("series-9@lockstep", type="occurrence", seriesMasterId="AAMkSeries=")
    assert read_own_graph_event(payload, WINDOW, "UTC") == OwnEvent("series", 9, {
        DENTIST_START: Span(DENTIST_START, DENTIST_END)})
    later = Span(DENTIST_END, DENTIST_END + timedelta(days=30))
    assert read_own_graph_event(payload, later, "UTC") == OwnEvent("series", 9, {})


def single_of_a_group(planned: str, **fields: Any) -> str:
    """One of the single events standing for the occurrences of series 9, planned at `planned`, now at 14:00."""
    return event(singleValueExtendedProperties=[{"id": MARKER_PROPERTY_ID, "value": "series-9@lockstep"},
                                                {"id": PLANNED_PROPERTY_ID, "value": planned}], **fields)


def test_a_single_standing_for_an_occurrence_is_keyed_by_its_planned_start() -> None:
    # given the single of an occurrence planned at 9:00 that was moved to 14:00
    payload = single_of_a_group("2030-01-08T09:00:00Z")
    planned = datetime(2030, 1, 8, 9, tzinfo=UTC)
    # then it is that occurrence of the series, where it takes place now
    assert read_own_graph_event(payload, WINDOW, "Europe/Berlin") == OwnEvent("series", 9, {
        planned: Span(DENTIST_START, DENTIST_END)})
    # and, like an occurrence, it is reported only when its planned start lies in the window
    assert read_own_graph_event(payload, Span(DENTIST_START, DENTIST_END), "UTC") == OwnEvent("series", 9, {})
    assert read_own_graph_event(payload, Span(planned, DENTIST_START), "UTC") == OwnEvent("series", 9, {
        planned: Span(DENTIST_START, DENTIST_END)})


@pytest.mark.parametrize(("value", "expected"), [
    ("2030-01-08T09:00:00Z", datetime(2030, 1, 8, 9, tzinfo=UTC)),
    ("2030-01-08T10:00:00+01:00", datetime(2030, 1, 8, 9, tzinfo=UTC)),
    ("2030-01-08T09:00:00", datetime(2030, 1, 8, 9, tzinfo=UTC)),
])
def test_the_planned_start_is_read_as_a_utc_instant(value: str, expected: datetime) -> None:
    assert planned_start_of(parse_event(single_of_a_group(value))) == expected


def test_the_planned_start_property_is_known_by_its_guid_in_any_case() -> None:
    guid = "7b2f3c1e-5a4d-4e8b-9c61-0d2e3f4a5b6c"
    shouted = PLANNED_PROPERTY_ID.replace(guid, guid.upper())
    payload = event(singleValueExtendedProperties=[{"id": shouted, "value": "2030-01-08T09:00:00Z"}])
    assert planned_start_of(parse_event(payload)) == datetime(2030, 1, 8, 9, tzinfo=UTC)
    assert planned_start_of(parse_event(own("series-9@lockstep"))) is None


def test_an_unreadable_planned_start_is_an_unreadable_event() -> None:
    with pytest.raises(UnreadableGraphEvent):
        read_own_graph_event(single_of_a_group("next Tuesday"), WINDOW, "UTC")


def test_the_marker_text_is_given_only_when_it_is_a_marker() -> None:
    assert marker_value(parse_event(single_of_a_group("2030-01-08T09:00:00Z"))) == "series-9@lockstep"
    assert marker_value(parse_event(own("booking-05@lockstep"))) is None
    assert marker_value(parse_event(event())) is None


@pytest.mark.parametrize("fields", [
    {"isCancelled": True}, {"type": "seriesMaster"}, {"start": None},
    {"end": {"dateTime": "2030-01-08T14:00:00.0000000", "timeZone": "UTC"}},
], ids=["cancelled", "series-master", "no-start", "no-time"])
def test_an_own_event_that_takes_no_time_has_no_occurrence(fields: dict[str, Any]) -> None:
    assert read_own_graph_event(own("series-5@lockstep", **fields), WINDOW, "UTC") == OwnEvent("series", 5, {})


@pytest.mark.parametrize("payload", [
    event(), own("booking-05@lockstep"), own("booking-5@lockstep.example"),
    event(singleValueExtendedProperties=marked("booking-5@lockstep",
                                               "String {7b2f3c1e-5a4d-4e8b-9c61-0d2e3f4a5b6c} Name other")),
    json.dumps({"id": "AAMk=", "@removed": {"reason": "deleted"}}),
], ids=["no-marker", "non-canonical", "near-miss", "other-property", "removed"])
def test_events_without_our_marker_are_not_ours(payload: str) -> None:
    assert read_own_graph_event(payload, WINDOW, "Europe/Berlin") is None
