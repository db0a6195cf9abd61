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

import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from domain.text import printable

MAX_DELIVERY_BYTES = 256 * 1024
NAME_LENGTH = 200
EMAIL_LENGTH = 254
ANSWERS_LENGTH = 4000  # questions and answers of one appointment together
REASON_LENGTH = 1000
ZONE_LENGTH = 64
URI_LENGTH = 2048
_TIME_LENGTH = 40
DELIVERY_KINDS = ("invitee.created", "invitee.canceled")
SIGNATURE_TOLERANCE = 180.0  # seconds either side of now, as Calendly's own example
_SIGNATURE = re.compile(r"t=(\d{1,15}),v1=([a-f0-9]{1,512})", re.ASCII)
_SEGMENT = re.compile(r"[A-Za-z0-9_-]{1,128}", re.ASCII)
_COLOUR = re.compile(r"#[0-9a-f]{6}", re.ASCII)


class UnreadableDelivery(ValueError):
    """Something Calendly sent (a webhook body or an API resource) cannot be read; the message is safe to log."""


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


# -- reading fields -------------------------------------------------------------------------------------------------

def _field(resource: Mapping[str, Any], name: str, where: str) -> Any:
    if name not in resource:
        raise UnreadableDelivery(f"{where}.{name} is missing")
    return resource[name]


def _object(resource: Mapping[str, Any], name: str, where: str) -> Mapping[str, Any]:
    value = _field(resource, name, where)
    if not isinstance(value, Mapping):
        raise UnreadableDelivery(f"{where}.{name} is not an object")
    return value


def _text(resource: Mapping[str, Any], name: str, where: str, length: int, *, nullable: bool = False) -> str:
    """A string field cut to `length` characters (forbidden characters replaced); "" for null when `nullable`."""
    value = _field(resource, name, where)
    if value is None and nullable:
        return ""
    if not isinstance(value, str):
        raise UnreadableDelivery(f"{where}.{name} is not a string")
    return printable(value[:length])


def _optional_text(resource: Mapping[str, Any], name: str, where: str, length: int) -> str:
    return _text(resource, name, where, length, nullable=True) if name in resource else ""


def _uri(resource: Mapping[str, Any], name: str, where: str, *, nullable: bool = False) -> str:
    """An absolute http(s) URI ("" for null when `nullable`); one too long to be Calendly's is refused, not cut."""
    value = _field(resource, name, where)
    if value is None and nullable:
        return ""
    if not isinstance(value, str) or len(value) > URI_LENGTH or not _is_web_address(value):
        raise UnreadableDelivery(f"{where}.{name} is not an http(s) URI")
    return value


def _flag(resource: Mapping[str, Any], name: str, where: str) -> bool:
    value = _field(resource, name, where)
    if not isinstance(value, bool):
        raise UnreadableDelivery(f"{where}.{name} is not a boolean")
    return value


def _status(resource: Mapping[str, Any], where: str) -> bool:
    """Whether `status` is active (else canceled; anything else is refused)."""
    value = _field(resource, "status", where)
    if value not in ("active", "canceled"):
        raise UnreadableDelivery(f"{where}.status is neither active nor canceled")
    return bool(value == "active")


def _moment(resource: Mapping[str, Any], name: str, where: str) -> datetime:
    """An ISO 8601 instant with an offset ("2023-12-24T21:45:00.000000Z"), in UTC."""
    value = _field(resource, name, where)
    if not isinstance(value, str) or len(value) > _TIME_LENGTH:
        raise UnreadableDelivery(f"{where}.{name} is not a time")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UnreadableDelivery(f"{where}.{name} is not a time") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise UnreadableDelivery(f"{where}.{name} has no offset")
    return moment.astimezone(UTC)


def _is_web_address(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _answers(invitee: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """(question, answer) in position order, cut so that all of them together hold ANSWERS_LENGTH characters at
    most: each pair takes what is left, and pairs after the budget is spent are dropped."""
    listed = _field(invitee, "questions_and_answers", "invitee")
    if not isinstance(listed, list):
        raise UnreadableDelivery("invitee.questions_and_answers is not a list")
    ordered: list[tuple[float, int, str, str]] = []
    for index, item in enumerate(listed[:100]):
        where = f"invitee.questions_and_answers[{index}]"
        if not isinstance(item, Mapping):
            raise UnreadableDelivery(f"{where} is not an object")
        position = _field(item, "position", where)
        if isinstance(position, bool) or not isinstance(position, int | float) or position != position:
            raise UnreadableDelivery(f"{where}.position is not a number")
        ordered.append((float(position), index, _text(item, "question", where, ANSWERS_LENGTH),
                        _text(item, "answer", where, ANSWERS_LENGTH)))
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
    memberships = _field(event, "event_memberships", "scheduled_event")
    if not isinstance(memberships, list):
        raise UnreadableDelivery("scheduled_event.event_memberships is not a list")
    hosts = []
    for index, membership in enumerate(memberships[:50]):
        where = f"scheduled_event.event_memberships[{index}]"
        if not isinstance(membership, Mapping):
            raise UnreadableDelivery(f"{where} is not an object")
        hosts.append(Host(_uri(membership, "user", where), _optional_text(membership, "user_email", where,
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
    return (_optional_text(found, "reason", "invitee.cancellation", REASON_LENGTH),
            canceler if canceler in ("host", "invitee") else "")


# -- readers --------------------------------------------------------------------------------------------------------

def appointment_of(event: Mapping[str, Any], invitee: Mapping[str, Any]) -> Appointment:
    """The appointment of a ScheduledEvent resource and one of its Invitee resources (as the API lists them, or as a
    delivery embeds them)."""
    if not isinstance(event, Mapping) or not isinstance(invitee, Mapping):
        raise UnreadableDelivery("the scheduled event or the invitee is not an object")
    event_uri = _uri(event, "uri", "scheduled_event")
    if _uri(invitee, "event", "invitee") != event_uri:
        raise UnreadableDelivery("the invitee belongs to another scheduled event")
    starts_at = _moment(event, "start_time", "scheduled_event")
    ends_at = _moment(event, "end_time", "scheduled_event")
    if ends_at <= starts_at:
        raise UnreadableDelivery("scheduled_event ends before it starts")
    reason, canceler = _cancellation(invitee)
    return Appointment(
        event_uri=event_uri, invitee_uri=_uri(invitee, "uri", "invitee"),
        event_type_uri=_uri(event, "event_type", "scheduled_event"),
        event_name=_text(event, "name", "scheduled_event", NAME_LENGTH, nullable=True),
        starts_at=starts_at, ends_at=ends_at,
        event_active=_status(event, "scheduled_event"), invitee_active=_status(invitee, "invitee"),
        rescheduled=_flag(invitee, "rescheduled", "invitee"),
        old_invitee=_uri(invitee, "old_invitee", "invitee", nullable=True),
        new_invitee=_uri(invitee, "new_invitee", "invitee", nullable=True),
        invitee_name=_text(invitee, "name", "invitee", NAME_LENGTH),
        invitee_email=_text(invitee, "email", "invitee", EMAIL_LENGTH),
        invitee_time_zone=_text(invitee, "timezone", "invitee", ZONE_LENGTH, nullable=True),
        answers=_answers(invitee), hosts=_hosts(event),
        cancel_url=_uri(invitee, "cancel_url", "invitee"), reschedule_url=_uri(invitee, "reschedule_url", "invitee"),
        cancel_reason=reason, canceler_type=canceler,
        updated_at=_moment(invitee, "updated_at", "invitee"))


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
    invitee = _object(envelope, "payload", "delivery")
    event = _object(invitee, "scheduled_event", "invitee")
    return CalendlyDelivery(kind=str(kind), created_at=_moment(envelope, "created_at", "delivery"),
                            appointment=appointment_of(event, invitee))


def event_type_of(resource: Mapping[str, Any]) -> CalendlyEventType:
    """An EventType resource."""
    if not isinstance(resource, Mapping):
        raise UnreadableDelivery("the event type is not an object")
    duration = _field(resource, "duration", "event_type")
    if isinstance(duration, bool) or not isinstance(duration, int | float) or not 0 < duration <= 60 * 24 * 31:
        raise UnreadableDelivery("event_type.duration is not a number of minutes")
    colour = resource.get("color")
    return CalendlyEventType(
        uri=_uri(resource, "uri", "event_type"),
        name=_text(resource, "name", "event_type", NAME_LENGTH, nullable=True),
        duration_minutes=round(duration), active=_flag(resource, "active", "event_type"),
        scheduling_url=_uri(resource, "scheduling_url", "event_type"),
        colour=colour.lower() if isinstance(colour, str) and _COLOUR.fullmatch(colour.lower()) else "")


def user_of(resource: Mapping[str, Any]) -> CalendlyUser:
    """A User resource (what /users/me gives)."""
    if not isinstance(resource, Mapping):
        raise UnreadableDelivery("the user is not an object")
    return CalendlyUser(
        uri=_uri(resource, "uri", "user"), name=_text(resource, "name", "user", NAME_LENGTH),
        email=_text(resource, "email", "user", EMAIL_LENGTH),
        time_zone=_text(resource, "timezone", "user", ZONE_LENGTH),
        organization=_uri(resource, "current_organization", "user"),
        scheduling_url=_uri(resource, "scheduling_url", "user"))


def uuid_of(uri: str) -> str:
    """The last path segment of a resource URI ("https://api.calendly.com/scheduled_events/ABC" gives "ABC").
    ValueError unless `uri` is an absolute http(s) URL whose last segment is a plain identifier (letters, digits,
    "-" and "_"), so that what is put back into a request path can only name a resource."""
    if not isinstance(uri, str) or len(uri) > URI_LENGTH or not _is_web_address(uri):
        raise ValueError("not an http(s) resource URI")
    segment = urlsplit(uri).path.rsplit("/", 1)[-1]
    if not _SEGMENT.fullmatch(segment):
        raise ValueError("the URI does not end in a resource identifier")
    return segment


# -- signatures -----------------------------------------------------------------------------------------------------

def _digest(key: str, body: bytes, at: str) -> str:
    return hmac.new(key.encode(), at.encode() + b"." + body, hashlib.sha256).hexdigest()


def sign(key: str, body: bytes, at: int) -> str:
    """The Calendly-Webhook-Signature header value of `body` sent at unix time `at` under `key`."""
    return f"t={at},v1={_digest(key, body, str(at))}"


def signature_valid(header: str, body: bytes, keys: Sequence[str], now: float,
                    tolerance: float = SIGNATURE_TOLERANCE) -> bool:
    """Whether `header` signs exactly `body` under one of `keys` (several while a key is being replaced) at a time
    within `tolerance` seconds of `now`. Anything malformed is False, never an exception."""
    if not isinstance(header, str) or not isinstance(body, bytes | bytearray):
        return False
    found = _SIGNATURE.fullmatch(header)
    if found is None:
        return False
    at, given = found.groups()
    if abs(now - int(at)) > tolerance:
        return False
    matches = [hmac.compare_digest(_digest(key, bytes(body), at), given) for key in keys
               if isinstance(key, str) and key]
    return any(matches)
