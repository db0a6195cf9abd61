"""Reading one field of Calendly's JSON, for the readers of domain/calendly.py: each refuses what it cannot read with
UnreadableDelivery, whose message names the field (`where` and its name, "invitee.email"), never its value, so it is
safe to log.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from domain.text import printable

URI_LENGTH = 2048
_TIME_LENGTH = 40


class UnreadableDelivery(ValueError):
    """Something Calendly sent (a webhook body or an API resource) cannot be read; the message is safe to log."""


def field(resource: Mapping[str, Any], name: str, where: str) -> Any:
    if name not in resource:
        raise UnreadableDelivery(f"{where}.{name} is missing")
    return resource[name]


def object_field(resource: Mapping[str, Any], name: str, where: str) -> Mapping[str, Any]:
    value = field(resource, name, where)
    if not isinstance(value, Mapping):
        raise UnreadableDelivery(f"{where}.{name} is not an object")
    return value


def text(resource: Mapping[str, Any], name: str, where: str, length: int, *, nullable: bool = False) -> str:
    """A string field cut to `length` characters (forbidden characters replaced); "" for null when `nullable`."""
    value = field(resource, name, where)
    if value is None and nullable:
        return ""
    if not isinstance(value, str):
        raise UnreadableDelivery(f"{where}.{name} is not a string")
    return printable(value[:length])


def optional_text(resource: Mapping[str, Any], name: str, where: str, length: int) -> str:
    return text(resource, name, where, length, nullable=True) if name in resource else ""


def uri(resource: Mapping[str, Any], name: str, where: str, *, nullable: bool = False) -> str:
    """An absolute http(s) URI ("" for null when `nullable`); one too long to be Calendly's is refused, not cut."""
    value = field(resource, name, where)
    if value is None and nullable:
        return ""
    if not isinstance(value, str) or len(value) > URI_LENGTH or not is_web_address(value):
        raise UnreadableDelivery(f"{where}.{name} is not an http(s) URI")
    return value


def flag(resource: Mapping[str, Any], name: str, where: str) -> bool:
    value = field(resource, name, where)
    if not isinstance(value, bool):
        raise UnreadableDelivery(f"{where}.{name} is not a boolean")
    return value


def active_status(resource: Mapping[str, Any], where: str) -> bool:
    """Whether `status` is active (else canceled; anything else is refused)."""
    value = field(resource, "status", where)
    if value not in ("active", "canceled"):
        raise UnreadableDelivery(f"{where}.status is neither active nor canceled")
    return bool(value == "active")


def moment(resource: Mapping[str, Any], name: str, where: str) -> datetime:
    """An ISO 8601 instant with an offset ("2023-12-24T21:45:00.000000Z"), in UTC."""
    value = field(resource, name, where)
    if not isinstance(value, str) or len(value) > _TIME_LENGTH:
        raise UnreadableDelivery(f"{where}.{name} is not a time")
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise UnreadableDelivery(f"{where}.{name} is not a time") from None
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise UnreadableDelivery(f"{where}.{name} has no offset")
    return instant.astimezone(UTC)


def is_web_address(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)
