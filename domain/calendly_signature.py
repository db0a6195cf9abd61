"""The signature of Calendly's webhook deliveries: the header `Calendly-Webhook-Signature: t=<unix seconds>,v1=<hex>`,
where v1 is HMAC-SHA256 under the subscription's signing key of "<t>." followed by the body exactly as sent.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence

SIGNATURE_TOLERANCE = 180.0  # seconds either side of now, as Calendly's own example
# Digits are ASCII only (re.ASCII: int() would read other scripts' digits too), and bounded so that no header can
# make int() work hard.
_SIGNATURE = re.compile(r"t=(\d{1,15}),v1=([a-f0-9]{1,512})", re.ASCII)


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
