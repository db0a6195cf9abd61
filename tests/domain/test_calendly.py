"""Reading Calendly's JSON: deliveries, scheduled events with invitees, event types, users (domain/calendly.py)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from domain.calendly import (
    ANSWERS_LENGTH,
    MAX_DELIVERY_BYTES,
    Appointment,
    CalendlyDelivery,
    CalendlyEventType,
    CalendlyUser,
    Host,
    UnreadableDelivery,
    appointment_of,
    event_type_of,
    read_delivery,
    user_of,
    uuid_of,
)

API = "https://api.calendly.com"
EVENT_URI = f"{API}/scheduled_events/EV1"
INVITEE_URI = f"{EVENT_URI}/invitees/INV1"
TESS = f"{API}/users/TESS"


def scheduled_event(**fields: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "uri": EVENT_URI, "name": "Boiler service", "status": "active",
        "start_time": "2030-01-08T14:00:00.000000Z", "end_time": "2030-01-08T15:00:00.000000Z",
        "event_type": f"{API}/event_types/ET1", "location": {"type": "physical", "location": "Side door"},
        "invitees_counter": {"total": 1, "active": 1, "limit": 1},
        "created_at": "2030-01-01T09:00:00.000000Z", "updated_at": "2030-01-01T09:00:00.000000Z",
        "event_memberships": [{"user": TESS, "user_email": "tess@example.com", "user_name": "Tess Tech"}],
        "event_guests": [], "calendar_event": None}
    resource.update(fields)
    return resource


def invitee(**fields: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "uri": INVITEE_URI, "email": "cleo@example.com", "first_name": None, "last_name": None,
        "name": "Cleo Customer", "status": "active", "timezone": "Europe/Berlin", "event": EVENT_URI,
        "created_at": "2030-01-01T09:00:00.000000Z", "updated_at": "2030-01-02T10:30:00.123456Z",
        "questions_and_answers": [{"question": "Which boiler?", "answer": "The old one", "position": 1},
                                  {"question": "Parking?", "answer": "Yes", "position": 0}],
        "tracking": {"utm_campaign": None, "utm_source": None, "utm_medium": None, "utm_content": None,
                     "utm_term": None, "salesforce_uuid": None},
        "text_reminder_number": None, "rescheduled": False, "old_invitee": None, "new_invitee": None,
        "cancel_url": "https://calendly.com/cancellations/INV1", "reschedule_url": "https://calendly.com/reschedulings/INV1",
        "routing_form_submission": None, "payment": None, "no_show": None, "reconfirmation": None}
    resource.update(fields)
    return resource


def delivery(kind: str = "invitee.created", scheduled: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    return {"event": kind, "created_at": "2030-01-02T10:30:01.000000Z", "created_by": TESS,
            "payload": {**invitee(**fields), "scheduled_event": scheduled or scheduled_event()}}


def body(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope).encode()


EXPECTED = Appointment(
    event_uri=EVENT_URI, invitee_uri=INVITEE_URI, event_type_uri=f"{API}/event_types/ET1",
    event_name="Boiler service", starts_at=datetime(2030, 1, 8, 14, tzinfo=UTC),
    ends_at=datetime(2030, 1, 8, 15, tzinfo=UTC), event_active=True, invitee_active=True, rescheduled=False,
    old_invitee="", new_invitee="", invitee_name="Cleo Customer", invitee_email="cleo@example.com",
    invitee_time_zone="Europe/Berlin", answers=(("Parking?", "Yes"), ("Which boiler?", "The old one")),
    hosts=(Host(TESS, "tess@example.com"),), cancel_url="https://calendly.com/cancellations/INV1",
    reschedule_url="https://calendly.com/reschedulings/INV1", cancel_reason="",
    updated_at=datetime(2030, 1, 2, 10, 30, 0, 123456, tzinfo=UTC))


# -- deliveries -----------------------------------------------------------------------------------------------------

def test_an_invitee_created_delivery_is_read_into_its_appointment() -> None:
    read = read_delivery(body(delivery()))
    assert read == CalendlyDelivery("invitee.created", datetime(2030, 1, 2, 10, 30, 1, tzinfo=UTC), EXPECTED)
    assert read.appointment.active


def test_a_cancellation_by_the_host_is_read_with_its_reason() -> None:
    canceled = delivery("invitee.canceled", scheduled_event(status="canceled"), status="canceled",
                        cancellation={"canceled_by": "Tess Tech", "reason": "Van broke down",
                                      "canceler_type": "host", "created_at": "2030-01-03T08:00:00.000000Z"})
    appointment = read_delivery(body(canceled)).appointment
    assert (appointment.event_active, appointment.invitee_active, appointment.active, appointment.cancel_reason,
            appointment.canceler_type) == (False, False, False, "Van broke down", "host")


def test_both_halves_of_a_reschedule_name_each_other() -> None:
    new_uri = f"{API}/scheduled_events/EV2/invitees/INV2"
    old = read_delivery(body(delivery("invitee.canceled", status="canceled", rescheduled=True,
                                      new_invitee=new_uri))).appointment
    new_event = scheduled_event(uri=f"{API}/scheduled_events/EV2", start_time="2030-01-09T14:00:00Z",
                                end_time="2030-01-09T15:00:00Z")
    new = read_delivery(body(delivery(scheduled=new_event, uri=new_uri, event=f"{API}/scheduled_events/EV2",
                                      old_invitee=INVITEE_URI))).appointment
    assert (old.rescheduled, old.new_invitee, old.old_invitee, old.invitee_active) == (True, new_uri, "", False)
    assert (new.rescheduled, new.old_invitee, new.new_invitee, new.starts_at) == (
        False, INVITEE_URI, "", datetime(2030, 1, 9, 14, tzinfo=UTC))


def test_times_with_any_offset_are_read_in_utc() -> None:
    event = scheduled_event(start_time="2030-01-08T15:00:00+01:00", end_time="2030-01-08T16:00:00.5+01:00")
    appointment = read_delivery(body(delivery(scheduled=event))).appointment
    assert (appointment.starts_at, appointment.ends_at) == (
        datetime(2030, 1, 8, 14, tzinfo=UTC), datetime(2030, 1, 8, 15, 0, 0, 500000, tzinfo=UTC))
    assert appointment.starts_at.tzinfo is UTC


def test_nullable_fields_read_as_empty_and_unknown_keys_are_ignored() -> None:
    event = scheduled_event(name=None, event_memberships=[{"user": TESS}], newer_field={"x": 1})
    appointment = read_delivery(body(delivery(scheduled=event, timezone=None, questions_and_answers=[],
                                              invitee_scheduled_by=None))).appointment
    assert (appointment.event_name, appointment.invitee_time_zone, appointment.answers, appointment.hosts) == (
        "", "", (), (Host(TESS, ""),))


def test_text_is_cut_to_what_a_booking_stores_and_control_characters_are_replaced() -> None:
    answers = [{"question": f"Q{index}", "answer": "a" * 1500, "position": index} for index in range(5)]
    appointment = read_delivery(body(delivery(name="N" * 500 + "\x00", email="e" * 300,
                                              questions_and_answers=answers,
                                              scheduled=scheduled_event(name="Boiler\x07service")))).appointment
    assert (len(appointment.invitee_name), len(appointment.invitee_email), appointment.event_name) == (
        200, 254, "Boiler\ufffdservice")
    assert [(question, len(answer)) for question, answer in appointment.answers] == [
        ("Q0", 1500), ("Q1", 1500), ("Q2", 994)]
    assert sum(len(question) + len(answer) for question, answer in appointment.answers) == ANSWERS_LENGTH


def _without(envelope: dict[str, Any], *path: str) -> dict[str, Any]:
    changed = copy.deepcopy(envelope)
    target = changed
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return changed


@pytest.mark.parametrize(("raw", "message"), [
    (b"not json", "the body is not JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "the body is not JSON"),
    (b"[1, 2]", "the body is not an object"),
    (body({**delivery(), "event": "invitee.updated"}), "not an invitee.created or invitee.canceled delivery"),
    (body({**delivery(), "event": "routing_form_submission.created"}),
     "not an invitee.created or invitee.canceled delivery"),
    (body(_without(delivery(), "payload", "scheduled_event")), "invitee.scheduled_event is missing"),
    (body(_without(delivery(), "payload", "email")), "invitee.email is missing"),
    (body(_without(delivery(), "created_at")), "delivery.created_at is missing"),
    (body(delivery(email=7)), "invitee.email is not a string"),
    (body(delivery(rescheduled="no")), "invitee.rescheduled is not a boolean"),
    (body(delivery(status="pending")), "invitee.status is neither active nor canceled"),
    (body(delivery(old_invitee="javascript:alert(1)")), "invitee.old_invitee is not an http(s) URI"),
    (body(delivery(event=f"{API}/scheduled_events/OTHER")), "the invitee belongs to another scheduled event"),
    (body(delivery(scheduled=scheduled_event(start_time="2030-01-08T14:00:00"))),
     "scheduled_event.start_time has no offset"),
    (body(delivery(scheduled=scheduled_event(start_time="tomorrow"))), "scheduled_event.start_time is not a time"),
    (body(delivery(scheduled=scheduled_event(end_time="2030-01-08T13:00:00Z"))),
     "scheduled_event ends before it starts"),
    (body(delivery(questions_and_answers=[{"question": "Q", "answer": "A"}])),
     "invitee.questions_and_answers[0].position is missing"),
    (body(delivery(scheduled=scheduled_event(event_memberships=[{"user_email": "x@example.com"}]))),
     "scheduled_event.event_memberships[0].user is missing"),
])
def test_what_cannot_be_read_is_refused_with_a_short_safe_message(raw: bytes, message: str) -> None:
    with pytest.raises(UnreadableDelivery) as raised:
        read_delivery(raw)
    assert str(raised.value) == message


def test_a_body_over_the_bound_is_refused_before_it_is_parsed() -> None:
    padded = b" " * (MAX_DELIVERY_BYTES - len(body(delivery()))) + body(delivery())
    assert read_delivery(padded).appointment == EXPECTED
    with pytest.raises(UnreadableDelivery) as raised:
        read_delivery(b" " + padded)
    assert str(raised.value) == "the body is larger than 256 KiB"


# -- resources the API lists ----------------------------------------------------------------------------------------

def test_a_listed_event_and_invitee_are_the_same_appointment_as_their_delivery() -> None:
    assert appointment_of(scheduled_event(), invitee()) == EXPECTED


def test_an_invitee_of_another_event_is_refused() -> None:
    with pytest.raises(UnreadableDelivery):
        appointment_of(scheduled_event(uri=f"{API}/scheduled_events/EV9"), invitee())


def test_an_event_type_is_read_with_its_duration_and_colour() -> None:
    resource = {"uri": f"{API}/event_types/ET1", "name": "Boiler service", "active": True, "duration": 45,
                "scheduling_url": "https://calendly.com/tess/boiler", "color": "#8247F5", "kind": "solo"}
    assert event_type_of(resource) == CalendlyEventType(f"{API}/event_types/ET1", "Boiler service", 45, True,
                                                        "https://calendly.com/tess/boiler", "#8247f5")
    assert event_type_of({**resource, "name": None, "color": "purple"}).name == ""
    assert event_type_of({**resource, "color": "purple"}).colour == ""
    with pytest.raises(UnreadableDelivery) as raised:
        event_type_of({**resource, "duration": "45"})
    assert str(raised.value) == "event_type.duration is not a number of minutes"


def test_a_user_is_read_with_their_organization() -> None:
    resource = {"uri": TESS, "name": "Tess Tech", "slug": "tess", "email": "tess@example.com",
                "scheduling_url": "https://calendly.com/tess", "timezone": "Europe/Berlin", "avatar_url": None,
                "created_at": "2029-01-01T00:00:00Z", "updated_at": "2029-01-01T00:00:00Z",
                "current_organization": f"{API}/organizations/ORG"}
    assert user_of(resource) == CalendlyUser(TESS, "Tess Tech", "tess@example.com", "Europe/Berlin",
                                             f"{API}/organizations/ORG", "https://calendly.com/tess")
    with pytest.raises(UnreadableDelivery) as raised:
        user_of({key: value for key, value in resource.items() if key != "current_organization"})
    assert str(raised.value) == "user.current_organization is missing"


@pytest.mark.parametrize(("uri", "expected"), [
    (EVENT_URI, "EV1"), (INVITEE_URI, "INV1"), ("http://127.0.0.1:8080/users/a-b_C9", "a-b_C9"),
    (f"{API}/scheduled_events/6b1d7d40-3c7e-4c8e-9a83-2f0c3b7c1e11", "6b1d7d40-3c7e-4c8e-9a83-2f0c3b7c1e11")])
def test_the_uuid_is_the_last_segment(uri: str, expected: str) -> None:
    assert uuid_of(uri) == expected


@pytest.mark.parametrize("uri", ["", "EV1", "/scheduled_events/EV1", f"{API}/scheduled_events/", "ftp://x/y/EV1",
                                 f"{API}/scheduled_events/..", f"{API}/x/%2F..", "https:///EV1"])
def test_a_uri_without_a_plain_last_segment_is_refused(uri: str) -> None:
    with pytest.raises(ValueError):
        uuid_of(uri)
