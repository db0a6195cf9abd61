"""Global object IDs: base64 of "Type:primary key", opaque to clients and unique across types."""

from __future__ import annotations

import base64
import binascii

import strawberry


def encode_id(type_name: str, pk: int) -> strawberry.ID:
    return strawberry.ID(base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("="))


def decode_id(value: str) -> tuple[str, int] | None:
    """(type name, primary key), or None when `value` is not one of our IDs."""
    try:
        padded = value + "=" * (-len(value) % 4)
        type_name, _, pk = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        number = int(pk)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        return None
    if not type_name or number <= 0:
        return None
    return type_name, number
