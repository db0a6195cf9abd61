"""Calendly as Lockstep reads it: users, event types and appointments out of Calendly's JSON, and the signature of
its webhook deliveries (docs/calendly.md).

Terms:
- *scheduled event*: one meeting on Calendly (a time, an event type, its hosts); it is active or canceled.
- *invitee*: one person booked into a scheduled event, with their answers; active or canceled on their own. A
  reschedule is never an update: the old invitee is canceled (`rescheduled`, `new_invitee` its successor) and a new
  invitee of a new scheduled event is created (`old_invitee` its predecessor).
- *appointment*: one invitee of one scheduled event, the unit Lockstep books or blocks.
- *delivery*: one webhook POST body, an `invitee.created` or `invitee.canceled` envelope whose payload is the invitee
  with its scheduled event embedded.
- *signature*: the `Calendly-Webhook-Signature` header, `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>`
  under the subscription's signing key.

Everything Calendly sends is untrusted: a reader refuses what it cannot read with UnreadableDelivery (a short message
that names the field, never its value) and cuts text down to what a booking stores.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from domain.calendly_fields import (
    URI_LENGTH,
    UnreadableDelivery,
    active_status,
    field,
    flag,
    is_web_address,
    moment,
    object_field,
    optional_text,
    text,
    uri,
)
from domain.calendly_signature import SIGNATURE_TOLERANCE, sign, signature_valid

__all__ = ["ANSWERS_LENGTH", "DELIVERY_KINDS", "MAX_DELIVERY_BYTES", "SIGNATURE_TOLERANCE", "Appointment",
           "CalendlyDelivery", "CalendlyEventType", "CalendlyUser", "Host", "UnreadableDelivery", "appointment_of",
           "event_type_of", "read_delivery", "sign", "signature_valid", "user_of", "uuid_of"]

MAX_DELIVERY_BYTES = 256 * 1024
NAME_LENGTH = 200
EMAIL_LENGTH = 254
ANSWERS_LENGTH = 4000  # questions and answers of one appointment together
REASON_LENGTH = 1000
ZONE_LENGTH = 64
DELIVERY_KINDS = ("invitee.created", "invitee.canceled")
_SEGMENT = re.compile(r"[A-Za-z0-9_-]{1,128}", re.ASCII)
_COLOUR = re.compile(r"#[0-9a-f]{6}", re.ASCII)


@dataclass(frozen=True)
class CalendlyUser:
    uri: str
    name: str
    email: str
    time_zone: str
    organization: str  # the user's current organization's URI
    scheduling_url: str


@dataclass(frozen=True)
class CalendlyEventType:
    uri: str
    name: str
    duration_minutes: int
    active: bool
    scheduling_url: str
    colour: str  # "#rrggbb", or "" when Calendly gives none


@dataclass(frozen=True)
class Host:
    """A member of a scheduled event's hosting side (an event membership)."""

    user_uri: str
    email: str  # "" when Calendly does not say


@dataclass(frozen=True)
class Appointment:
    """One invitee of one scheduled event. Times are aware UTC datetimes; `old_invitee` / `new_invitee` are URIs or
    ""; `answers` are (question, answer) in the form's order; `updated_at` is the invitee's."""

    event_uri: str
    invitee_uri: str
    event_type_uri: str
    event_name: str
    starts_at: datetime
    ends_at: datetime
    event_active: bool
    invitee_active: bool
    rescheduled: bool
    old_invitee: str
    new_invitee: str
    invitee_name: str
    invitee_email: str
    invitee_time_zone: str
    answers: tuple[tuple[str, str], ...]
    hosts: tuple[Host, ...]
    cancel_url: str
    reschedule_url: str
    cancel_reason: str
    updated_at: datetime
    canceler_type: str = ""  # "host" or "invitee" when canceled, else ""

    @property
    def active(self) -> bool:
        """Whether the appointment still takes place: its event and its invitee are both active."""
        return self.event_active and self.invitee_active


@dataclass(frozen=True)
class CalendlyDelivery:
    kind: str  # one of DELIVERY_KINDS
    created_at: datetime
    appointment: Appointment


def _answers(invitee: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """(question, answer) in position order, cut so that all of them together hold ANSWERS_LENGTH characters at
    most: each pair takes what is left, and pairs after the budget is spent are dropped."""
    listed = field(invitee, "questions_and_answers", "invitee")
    if not isinstance(listed, list):
        raise UnreadableDelivery("invitee.questions_and_answers is not a list")
    ordered: list[tuple[float, int, str, str]] = []
    for index, item in enumerate(listed[:100]):
        where = f"invitee.questions_and_answers[{index}]"
        if not isinstance(item, Mapping):
            raise UnreadableDelivery(f"{where} is not an object")
        position = field(item, "position", where)
        if isinstance(position, bool) or not isinstance(position, int | float) or position != position:
            raise UnreadableDelivery(f"{where}.position is not a number")
        ordered.append((float(position), index, text(item, "question", where, ANSWERS_LENGTH),
                        text(item, "answer", where, ANSWERS_LENGTH)))
    answers: list[tuple[str, str]] = []
    left = ANSWERS_LENGTH
    for _, _, question, answer in sorted(ordered):
        if left <= 0:
            break
        question = question[:left]
        answer = answer[:left - len(question)]
        left -= len(question) + len(answer)
        answers.append((question, answer))
    return tuple(answers)


def _hosts(event: Mapping[str, Any]) -> tuple[Host, ...]:
    memberships = field(event, "event_memberships", "scheduled_event")
    if not isinstance(memberships, list):
        raise UnreadableDelivery("scheduled_event.event_memberships is not a list")
    hosts = []
    for index, membership in enumerate(memberships[:50]):
        where = f"scheduled_event.event_memberships[{index}]"
        if not isinstance(membership, Mapping):
            raise UnreadableDelivery(f"{where} is not an object")
        hosts.append(Host(uri(membership, "user", where), optional_text(membership, "user_email", where,
                                                                         EMAIL_LENGTH)))
    return tuple(hosts)


def _cancellation(invitee: Mapping[str, Any]) -> tuple[str, str]:
    """(reason, canceler type) of a canceled invitee; ("", "") when it carries no cancellation."""
    found = invitee.get("cancellation")
    if found is None:
        return "", ""
    if not isinstance(found, Mapping):
        raise UnreadableDelivery("invitee.cancellation is not an object")
    canceler = found.get("canceler_type")
    return (optional_text(found, "reason", "invitee.cancellation", REASON_LENGTH),
            canceler if canceler in ("host", "invitee") else "")


# -- readers --------------------------------------------------------------------------------------------------------

def appointment_of(event: Mapping[str, Any], invitee: Mapping[str, Any]) -> Appointment:
    """The appointment of a ScheduledEvent resource and one of its Invitee resources (as the API lists them, or as a
    delivery embeds them)."""
    if not isinstance(event, Mapping) or not isinstance(invitee, Mapping):
        raise UnreadableDelivery("the scheduled event or the invitee is not an object")
    event_uri = uri(event, "uri", "scheduled_event")
    if uri(invitee, "event", "invitee") != event_uri:
        raise UnreadableDelivery("the invitee belongs to another scheduled event")
    starts_at = moment(event, "start_time", "scheduled_event")
    ends_at = moment(event, "end_time", "scheduled_event")
    if ends_at <= starts_at:
        raise UnreadableDelivery("scheduled_event ends before it starts")
    reason, canceler = _cancellation(invitee)
    return Appointment(
        event_uri=event_uri, invitee_uri=uri(invitee, "uri", "invitee"),
        event_type_uri=uri(event, "event_type", "scheduled_event"),
        event_name=text(event, "name", "scheduled_event", NAME_LENGTH, nullable=True),
        starts_at=starts_at, ends_at=ends_at,
        event_active=active_status(event, "scheduled_event"), invitee_active=active_status(invitee, "invitee"),
        rescheduled=flag(invitee, "rescheduled", "invitee"),
        old_invitee=uri(invitee, "old_invitee", "invitee", nullable=True),
        new_invitee=uri(invitee, "new_invitee", "invitee", nullable=True),
        invitee_name=text(invitee, "name", "invitee", NAME_LENGTH),
        invitee_email=text(invitee, "email", "invitee", EMAIL_LENGTH),
        invitee_time_zone=text(invitee, "timezone", "invitee", ZONE_LENGTH, nullable=True),
        answers=_answers(invitee), hosts=_hosts(event),
        cancel_url=uri(invitee, "cancel_url", "invitee"), reschedule_url=uri(invitee, "reschedule_url", "invitee"),
        cancel_reason=reason, canceler_type=canceler,
        updated_at=moment(invitee, "updated_at", "invitee"))


def read_delivery(body: bytes) -> CalendlyDelivery:
    """The delivery of a webhook body (the raw bytes received); UnreadableDelivery for anything that is not an
    invitee.created or invitee.canceled envelope Lockstep can read. Bodies over MAX_DELIVERY_BYTES are refused
    before they are parsed."""
    if len(body) > MAX_DELIVERY_BYTES:
        raise UnreadableDelivery(f"the body is larger than {MAX_DELIVERY_BYTES // 1024} KiB")
    try:
        envelope = json.loads(body)
    except (ValueError, RecursionError):
        raise UnreadableDelivery("the body is not JSON") from None
    if not isinstance(envelope, dict):
        raise UnreadableDelivery("the body is not an object")
    kind = envelope.get("event")
    if kind not in DELIVERY_KINDS:
        raise UnreadableDelivery("not an invitee.created or invitee.canceled delivery")
    invitee = object_field(envelope, "payload", "delivery")
    event = object_field(invitee, "scheduled_event", "invitee")
    return CalendlyDelivery(kind=str(kind), created_at=moment(envelope, "created_at", "delivery"),
                            appointment=appointment_of(event, invitee))


def event_type_of(resource: Mapping[str, Any]) -> CalendlyEventType:
    """An EventType resource."""
    if not isinstance(resource, Mapping):
        raise UnreadableDelivery("the event type is not an object")
    duration = field(resource, "duration", "event_type")
    if isinstance(duration, bool) or not isinstance(duration, int | float) or not 0 < duration <= 60 * 24 * 31:
        raise UnreadableDelivery("event_type.duration is not a number of minutes")
    colour = resource.get("color")
    return CalendlyEventType(
        uri=uri(resource, "uri", "event_type"),
        name=text(resource, "name", "event_type", NAME_LENGTH, nullable=True),
        duration_minutes=round(duration), active=flag(resource, "active", "event_type"),
        scheduling_url=uri(resource, "scheduling_url", "event_type"),
        colour=colour.lower() if isinstance(colour, str) and _COLOUR.fullmatch(colour.lower()) else "")


def user_of(resource: Mapping[str, Any]) -> CalendlyUser:
    """A User resource (what /users/me gives)."""
    if not isinstance(resource, Mapping):
        raise UnreadableDelivery("the user is not an object")
    return CalendlyUser(
        uri=uri(resource, "uri", "user"), name=text(resource, "name", "user", NAME_LENGTH),
        email=text(resource, "email", "user", EMAIL_LENGTH),
        time_zone=text(resource, "timezone", "user", ZONE_LENGTH),
        organization=uri(resource, "current_organization", "user"),
        scheduling_url=uri(resource, "scheduling_url", "user"))


def uuid_of(uri: str) -> str:
    """The last path segment of a resource URI ("https://api.calendly.com/scheduled_events/ABC" gives "ABC").
    ValueError unless `uri` is an absolute http(s) URL whose last segment is a plain identifier (letters, digits,
    "-" and "_"), so that what is put back into a request path can only name a resource."""
    if not isinstance(uri, str) or len(uri) > URI_LENGTH or not is_web_address(uri):
        raise ValueError("not an http(s) resource URI")
    segment = urlsplit(uri).path.rsplit("/", 1)[-1]
    if not _SEGMENT.fullmatch(segment):
        raise ValueError("the URI does not end in a resource identifier")
    return segment
