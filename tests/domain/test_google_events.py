"""Busy semantics of Google events and reading Lockstep's own events from Google JSON (domain/google_events.py)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from domain.busy import BusyPolicy, BusySpan, UnreadableCalendarData, caldav_busy_spans
from domain.google_events import google_busy_spans, parse_event, read_own_google_event
from domain.intervals import Span
from domain.own_events import OwnEvent

WINDOW = Span(datetime(2030, 1, 1, tzinfo=UTC), datetime(2031, 1, 1, tzinfo=UTC))
POLICY = BusyPolicy(zone="Europe/Berlin", own_addresses=frozenset({"tech@example.com"}))
DENTIST_START, DENTIST_END = datetime(2030, 1, 8, 14, tzinfo=UTC), datetime(2030, 1, 8, 15, tzinfo=UTC)


def event(**fields: Any) -> str:
    resource = {"kind": "calendar#event", "id": "dentist0001", "etag": '"1"', "status": "confirmed",
                "summary": "Dentist", "start": {"dateTime": "2030-01-08T15:00:00+01:00"},
                "end": {"dateTime": "2030-01-08T16:00:00+01:00"}}
    resource.update(fields)
    return json.dumps({key: value for key, value in resource.items() if value is not None})


def me(response: str, **extra: Any) -> list[dict[str, Any]]:
    return [{"email": "boss@example.com", "organizer": True, "responseStatus": "accepted"},
            {"email": "tech@example.com", "self": True, "responseStatus": response, **extra}]


DENTIST = BusySpan(Span(DENTIST_START, DENTIST_END), "2030-01-08T14:00:00+00:00", "Dentist", False)


@pytest.mark.parametrize("fields", [
    {}, {"transparency": "opaque"}, {"eventType": "default"}, {"eventType": "outOfOffice"},
    {"eventType": "focusTime"}, {"attendees": me("accepted")},
], ids=["plain", "opaque", "default", "out-of-office", "focus-time", "self-accepted"])
def test_an_opaque_confirmed_event_is_busy(fields: dict[str, Any]) -> None:
    assert google_busy_spans(event(**fields), WINDOW, POLICY) == [DENTIST]


@pytest.mark.parametrize("fields", [
    {"transparency": "transparent"}, {"status": "cancelled"}, {"attendees": me("declined")},
    {"attendees": [{"email": "Tech@Example.com", "responseStatus": "declined"}]},
    {"eventType": "workingLocation"}, {"eventType": "birthday"},
    {"extendedProperties": {"private": {"lockstepMarker": "booking-7@lockstep"}}},
], ids=["transparent", "cancelled", "self-declined", "own-address-declined", "working-location", "birthday",
        "lockstep-own"])
def test_free_events_block_nothing(fields: dict[str, Any]) -> None:
    assert google_busy_spans(event(**fields), WINDOW, POLICY) == []


@pytest.mark.parametrize("fields", [
    {"status": "tentative"}, {"attendees": me("tentative")}, {"attendees": me("needsAction")},
], ids=["status-tentative", "self-tentative", "self-needs-action"])
def test_tentative_blocks_only_when_the_policy_says_so(fields: dict[str, Any]) -> None:
    assert google_busy_spans(event(**fields), WINDOW, POLICY) == []
    blocking = BusyPolicy(zone="Europe/Berlin", tentative_blocks=True)
    assert google_busy_spans(event(**fields), WINDOW, blocking) == [replace(DENTIST, tentative=True)]


def test_a_near_miss_marker_is_someone_elses_event() -> None:
    payload = event(extendedProperties={"private": {"lockstepMarker": "booking-7@lockstep.example"}})
    assert google_busy_spans(payload, WINDOW, POLICY) == [DENTIST]


def test_an_all_day_event_blocks_local_midnight_to_midnight_on_a_dst_day() -> None:
    # given an all-day event on the day Berlin springs forward (a 23-hour day)
    payload = event(start={"date": "2030-03-31"}, end={"date": "2030-04-01"}, summary="Holiday")
    # then it blocks from Berlin midnight to Berlin midnight, keyed by its date
    assert google_busy_spans(payload, WINDOW, POLICY) == [BusySpan(
        Span(datetime(2030, 3, 30, 23, tzinfo=UTC), datetime(2030, 3, 31, 22, tzinfo=UTC)), "2030-03-31", "Holiday",
        True)]
    assert google_busy_spans(payload, WINDOW, BusyPolicy(zone="Europe/Berlin", all_day_blocks=False)) == []


def test_a_moved_instance_is_keyed_by_its_original_start() -> None:
    payload = event(id="series01_20300108T140000Z", recurringEventId="series01",
                    originalStartTime={"dateTime": "2030-01-08T15:00:00+01:00", "timeZone": "Europe/Berlin"},
                    start={"dateTime": "2030-01-09T09:00:00+01:00", "timeZone": "Europe/Berlin"},
                    end={"dateTime": "2030-01-09T10:00:00+01:00", "timeZone": "Europe/Berlin"})
    assert google_busy_spans(payload, WINDOW, POLICY) == [BusySpan(
        Span(datetime(2030, 1, 9, 8, tzinfo=UTC), datetime(2030, 1, 9, 9, tzinfo=UTC)),
        "2030-01-08T14:00:00+00:00", "Dentist", False)]


def test_a_date_time_without_offset_is_read_in_its_own_zone() -> None:
    payload = event(start={"dateTime": "2030-07-01T09:00:00", "timeZone": "America/New_York"},
                    end={"dateTime": "2030-07-01T10:00:00", "timeZone": "America/New_York"})
    [busy] = google_busy_spans(payload, WINDOW, POLICY)
    assert busy.span == Span(datetime(2030, 7, 1, 13, tzinfo=UTC), datetime(2030, 7, 1, 14, tzinfo=UTC))


def test_an_event_outside_the_window_or_taking_no_time_blocks_nothing() -> None:
    assert google_busy_spans(event(), Span(DENTIST_END, DENTIST_END + timedelta(days=1)), POLICY) == []
    assert google_busy_spans(event(end={"dateTime": "2030-01-08T15:00:00+01:00"}), WINDOW, POLICY) == []


def test_a_minimal_cancelled_item_blocks_nothing() -> None:
    payload = json.dumps({"kind": "calendar#event", "etag": '"2"', "id": "dentist0001", "status": "cancelled"})
    assert google_busy_spans(payload, WINDOW, POLICY) == []


@pytest.mark.parametrize("payload", ["not json", "[]", json.dumps({"summary": "no id"}),
                                     event(start={"dateTime": "tomorrow"})])
def test_an_unreadable_payload_says_so(payload: str) -> None:
    with pytest.raises(UnreadableCalendarData):
        google_busy_spans(payload, WINDOW, POLICY)


# -- the same event means the same busy time on Google as on CalDAV ---------------------------------------------

_PARTSTAT = {"accepted": "ACCEPTED", "declined": "DECLINED", "tentative": "TENTATIVE", "needsAction": "NEEDS-ACTION"}


def as_ical(start: datetime | date, end: datetime | date, status: str, transparency: str,
            response: str | None) -> str:
    def value(name: str, moment: datetime | date) -> str:
        if isinstance(moment, datetime):
            return f"{name}:{moment:%Y%m%dT%H%M%SZ}"
        return f"{name};VALUE=DATE:{moment:%Y%m%d}"

    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", "BEGIN:VEVENT", "UID:dentist@phone",
             "DTSTAMP:20291201T120000Z", value("DTSTART", start), value("DTEND", end), "SUMMARY:Dentist",
             f"STATUS:{status.upper()}", f"TRANSP:{transparency.upper()}"]
    if response is not None:
        lines.append(f"ATTENDEE;PARTSTAT={_PARTSTAT[response]}:mailto:tech@example.com")
    return "\r\n".join([*lines, "END:VEVENT", "END:VCALENDAR", ""])


@settings(max_examples=300, deadline=None)
@given(first=st.datetimes(datetime(2030, 1, 1), datetime(2030, 12, 30)), hours=st.integers(1, 72),
       all_day=st.booleans(), status=st.sampled_from(["confirmed", "tentative", "cancelled"]),
       transparency=st.sampled_from(["opaque", "transparent"]),
       response=st.sampled_from([None, "accepted", "declined", "tentative", "needsAction"]),
       tentative_blocks=st.booleans(), all_day_blocks=st.booleans(),
       zone=st.sampled_from(["Europe/Berlin", "America/New_York", "Pacific/Auckland", "UTC"]))
def test_google_and_caldav_agree_on_the_same_event(first: datetime, hours: int, all_day: bool, status: str,
                                                   transparency: str, response: str | None, tentative_blocks: bool,
                                                   all_day_blocks: bool, zone: str) -> None:
    # given one event described both ways, and one policy
    policy = BusyPolicy(zone, frozenset({"tech@example.com"}), tentative_blocks, all_day_blocks)
    start: datetime | date = first.replace(second=0, microsecond=0, tzinfo=UTC)
    end: datetime | date = start + timedelta(hours=hours)
    if all_day:
        start, end = first.date(), first.date() + timedelta(days=1 + hours // 24)
    google_time = ({"date": start.isoformat()}, {"date": end.isoformat()}) if all_day else (
        {"dateTime": start.isoformat()}, {"dateTime": end.isoformat()})
    attendees = None if response is None else [{"email": "tech@example.com", "self": True,
                                                "responseStatus": response}]
    payload = event(start=google_time[0], end=google_time[1], status=status, transparency=transparency,
                    attendees=attendees)
    # then both readers find the same busy time, with the same keys
    assert google_busy_spans(payload, WINDOW, policy) == caldav_busy_spans(
        as_ical(start, end, status, transparency, response), WINDOW, policy)


# -- Lockstep's own events ----------------------------------------------------------------------------------------

def own(marker: str, **fields: Any) -> str:
    return event(extendedProperties={"private": {"lockstepMarker": marker}}, **fields)


def test_a_single_booking_event_is_read_with_its_one_occurrence_whatever_the_window() -> None:
    far = Span(datetime(2035, 1, 1, tzinfo=UTC), datetime(2035, 2, 1, tzinfo=UTC))
    assert read_own_google_event(own("booking-5@lockstep"), far, "Europe/Berlin") == OwnEvent(
        "booking", 5, {DENTIST_START: Span(DENTIST_START, DENTIST_END)})


def test_a_moved_instance_of_a_series_is_keyed_by_its_planned_start() -> None:
    payload = own("series-9@lockstep", id="series01_20300108T140000Z", recurringEventId="series01",
                  originalStartTime={"dateTime": "2030-01-08T15:00:00+01:00", "timeZone": "Europe/Berlin"},
                  start={"dateTime": "2030-01-08T17:00:00+01:00", "timeZone": "Europe/Berlin"},
                  end={"dateTime": "2030-01-08T18:00:00+01:00", "timeZone": "Europe/Berlin"})
    assert read_own_google_event(payload, WINDOW, "Europe/Berlin") == OwnEvent("series", 9, {
        DENTIST_START: Span(datetime(2030, 1, 8, 16, tzinfo=UTC), datetime(2030, 1, 8, 17, tzinfo=UTC))})
    # an instance planned outside the window is not reported, wherever it is now
    before = Span(datetime(2029, 1, 1, tzinfo=UTC), DENTIST_START)
    assert read_own_google_event(payload, before, "Europe/Berlin") == OwnEvent("series", 9, {})


def test_a_cancelled_own_event_has_no_occurrence() -> None:
    assert read_own_google_event(own("booking-5@lockstep", status="cancelled"), WINDOW, "UTC") == OwnEvent(
        "booking", 5, {})


@pytest.mark.parametrize("payload", [
    event(), own("booking-05@lockstep"), own("booking-5@lockstep.example"),
    event(extendedProperties={"shared": {"lockstepMarker": "booking-5@lockstep"}}),
    json.dumps({"kind": "calendar#event", "id": "x0001", "status": "cancelled"}),
], ids=["no-marker", "non-canonical", "near-miss", "shared-not-private", "minimal-cancelled"])
def test_events_without_our_marker_are_not_ours(payload: str) -> None:
    assert read_own_google_event(payload, WINDOW, "Europe/Berlin") is None


def test_a_parsed_resource_is_read_as_its_json_text_is() -> None:
    # given one event, as JSON text and as the resource it parses to
    text = json.dumps({"id": "e1", "summary": "Dentist", "start": {"dateTime": "2030-01-08T09:00:00+01:00"},
                       "end": {"dateTime": "2030-01-08T10:00:00+01:00"}})
    resource = parse_event(text)
    window = Span(datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 2, 1, tzinfo=UTC))
    policy = BusyPolicy(zone="Europe/Berlin")
    # then both read alike, and the resource is not parsed again
    assert parse_event(resource) is resource
    assert google_busy_spans(resource, window, policy) == google_busy_spans(text, window, policy) == [
        BusySpan(Span(datetime(2030, 1, 8, 8, tzinfo=UTC), datetime(2030, 1, 8, 9, tzinfo=UTC)),
                 "2030-01-08T08:00:00+00:00", "Dentist", False)]


def test_control_characters_in_a_google_title_become_replacement_characters() -> None:
    (block,) = google_busy_spans(event(summary="Den\x00tist\x7f"), WINDOW, POLICY)
    assert block.title == "Den\ufffdtist\ufffd"
