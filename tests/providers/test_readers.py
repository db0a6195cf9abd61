"""Each provider's reader says whether an imported event repeats, so that a repeating event is never taken over as a
booking's nor deleted as a duplicate."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from domain.busy import BusyPolicy
from domain.intervals import Span
from providers.base import RemoteEvent
from providers.readers import read_caldav, read_google, read_microsoft
from tests.support.sync import personal_event

START = datetime(2030, 3, 4, 9, tzinfo=UTC)
WINDOW = Span(START - timedelta(days=30), START + timedelta(days=365))
POLICY = BusyPolicy(zone="Europe/Berlin")


def test_a_caldav_object_repeats_when_it_has_a_rule_dates_or_overridden_occurrences() -> None:
    single = read_caldav(RemoteEvent("a.ics", '"1"', personal_event("a", START)), WINDOW, POLICY, True)
    weekly = read_caldav(RemoteEvent("b.ics", '"1"', personal_event("b", START, extra="RRULE:FREQ=WEEKLY;COUNT=3\r\n")),
                         WINDOW, POLICY, True)
    assert (single.recurring, len(single.spans)) == (False, 1)
    assert (weekly.recurring, len(weekly.spans)) == (True, 3)


def _google(**fields: object) -> RemoteEvent:
    resource = {"id": "e1", "status": "confirmed", "summary": "Dentist", "start": {"dateTime": START.isoformat()},
                "end": {"dateTime": (START + timedelta(hours=1)).isoformat()}, **fields}
    return RemoteEvent("e1", '"1"', json.dumps(resource))


def test_a_google_event_repeats_when_it_is_an_instance_of_a_series() -> None:
    assert read_google(_google(), WINDOW, POLICY, True).recurring is False
    instance = _google(recurringEventId="series1", originalStartTime={"dateTime": START.isoformat()})
    assert read_google(instance, WINDOW, POLICY, True).recurring is True


def _graph(**fields: object) -> RemoteEvent:
    resource = {"id": "e1", "subject": "Dentist", "showAs": "busy", "type": "singleInstance",
                "start": {"dateTime": START.replace(tzinfo=None).isoformat(), "timeZone": "UTC"},
                "end": {"dateTime": (START + timedelta(hours=1)).replace(tzinfo=None).isoformat(), "timeZone": "UTC"},
                **fields}
    return RemoteEvent("e1", '"1"', json.dumps(resource))


def test_a_graph_event_repeats_when_it_is_an_occurrence_or_exception_of_a_series() -> None:
    assert read_microsoft(_graph(), WINDOW, POLICY, True).recurring is False
    assert read_microsoft(_graph(type="occurrence", seriesMasterId="m1"), WINDOW, POLICY, True).recurring is True
    assert read_microsoft(_graph(type="exception", seriesMasterId="m1"), WINDOW, POLICY, True).recurring is True
