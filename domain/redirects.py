"""Where Lockstep may send a user back after connecting a calendar.

The *return URL* comes from the client (an app deep link such as `lockstep://calendars`, or a web page). Sending the
user, with the outcome, to an address an attacker chose would make Lockstep an open redirector, so it must match an
entry of the allow-list: the same scheme and host (and port), and a path that is the entry's path or below it.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

MAX_LENGTH = 2000  # what is stored with the pending authorisation


def _path_within(path: str, prefix: str) -> bool:
    if not prefix or prefix == "/":
        return True
    prefix = prefix.rstrip("/")
    return path == prefix or path.startswith(prefix + "/")


def return_url_allowed(url: str, allowed: Iterable[str]) -> bool:
    """True when `url` lies within one of the `allowed` entries (compared by scheme, host, port and path prefix; a
    user part, as in `https://good.example@evil.example`, is never allowed)."""
    try:
        target = urlsplit(url)
        target_port = target.port
    except ValueError:
        return False
    if not target.scheme or target.username is not None or target.password is not None or len(url) > MAX_LENGTH:
        return False
    if any(segment in (".", "..") for segment in unquote(target.path).split("/")):
        return False  # /allowed/../elsewhere would leave the allowed path once a browser resolves it
    for entry in allowed:
        try:
            rule = urlsplit(entry.strip())
            rule_port = rule.port
        except ValueError:
            continue
        if not rule.scheme:
            continue
        same_place = (target.scheme.lower(), (target.hostname or ""), target_port) == (
            rule.scheme.lower(), (rule.hostname or ""), rule_port)
        if same_place and _path_within(target.path, rule.path):
            return True
    return False
