"""Global object IDs: base64 of "Type:primary key", opaque to clients and unique across types.

Decoding is strict, so that one object has one spelling and nothing else names it: the base64 alphabet only, an ASCII
type name, and a primary key of ASCII digits with no sign, spaces, underscores or leading zeros ("Booking:1_0",
"Booking: 1" and "Booking:١" are not IDs, although Python's int() would read them).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

import strawberry

from models.database import MAX_ROW_ID

MAX_PRIMARY_KEY = MAX_ROW_ID  # every table behind a global ID keys its rows with a 32-bit integer
_TYPE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_PRIMARY_KEY = re.compile(r"[1-9][0-9]*")


def encode_id(type_name: str, pk: int) -> strawberry.ID:
    return strawberry.ID(base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("="))


def _decoded_text(value: str) -> str | None:
    if not value.isascii():
        return None
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=True)
        return raw.decode("ascii")
    except (ValueError, binascii.Error):
        return None


@dataclass(frozen=True)
class GlobalId:
    """A well-formed ID: its type name, and its primary key, or None when the key is beyond MAX_PRIMARY_KEY (such an
    ID is spelled correctly but can name nothing)."""

    type_name: str
    pk: int | None


def decode_id(value: str) -> GlobalId | None:
    """The GlobalId spelled by `value`, or None when `value` is not one of our IDs."""
    text = _decoded_text(value)
    # One spelling per ID: no padding, and no stray bits in the last character (base64 would read past both).
    if text is None or base64.urlsafe_b64encode(text.encode()).decode().rstrip("=") != value:
        return None
    type_name, separator, key = text.partition(":")
    if not separator or not _TYPE_NAME.fullmatch(type_name) or not _PRIMARY_KEY.fullmatch(key):
        return None
    # Comparing lengths first keeps int() away from absurdly long digit strings.
    if len(key) > len(str(MAX_PRIMARY_KEY)) or int(key) > MAX_PRIMARY_KEY:
        return GlobalId(type_name, None)
    return GlobalId(type_name, int(key))
