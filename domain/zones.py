"""IANA time zones and the reading of local wall-clock times as UTC instants.

A *wall time* is a naive ``datetime`` read off a local clock in some zone. Most
wall times name exactly one instant; on a spring-forward day the skipped hour
names none (a *gap*), and on a fall-back day the repeated hour names two (a
*fold*). ``to_utc`` picks one instant for every wall time the way RFC 5545
does; ``wall_instants`` lists the real ones.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

# IANA names are short ASCII paths; anything longer is not worth a lookup.
_MAX_NAME_LENGTH = 64


class UnknownTimeZone(ValueError):
    """The given value is not the name of an IANA time zone known to this system."""


@lru_cache(maxsize=1)
def _known_names() -> frozenset[str]:
    # Validating against the published list (rather than trying ZoneInfo(name))
    # rejects path tricks like "../etc" or "/etc/localtime" and stray tzdata
    # files such as "posixrules" without touching the file system per name.
    # "localtime" is the host's own zone, not an IANA name; "Factory" is a
    # placeholder zone that means "not configured".
    return frozenset(available_timezones()) - {"localtime", "Factory"}


@lru_cache(maxsize=512)
def _load_known(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def is_valid_zone(name: str) -> bool:
    """True when ``name`` is an IANA zone name (e.g. "Europe/Berlin"); any non-str is invalid."""
    return (
        isinstance(name, str)
        and 0 < len(name) <= _MAX_NAME_LENGTH
        and name in _known_names()
    )


def load_zone(name: str) -> ZoneInfo:
    """The ZoneInfo for the IANA name ``name`` (cached).

    Raises UnknownTimeZone for anything that is not a known IANA name: "",
    "Mars/Base", "../etc", a non-str, ...
    """
    if not is_valid_zone(name):
        raise UnknownTimeZone(f"unknown time zone: {name!r}")
    return _load_known(name)


def _require_naive(wall: datetime) -> None:
    if wall.tzinfo is not None:
        raise ValueError(f"wall time must be naive, got {wall!r}")


def to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant that the naive wall-clock time ``wall`` in ``zone`` stands for.

    RFC 5545 §3.3.5 reading of a wall-clock time: an ambiguous time (fall-back)
    is its FIRST occurrence; a nonexistent time (spring-forward gap) is read
    with the UTC offset in force BEFORE the gap (so 02:30 on a US spring-forward
    day in America/New_York becomes 07:30Z == 03:30 EDT). This is zoneinfo fold=0.
    """
    _require_naive(wall)
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def wall_instants(wall: datetime, zone: ZoneInfo) -> tuple[datetime, ...]:
    """Every real UTC instant at which the local clock in ``zone`` shows ``wall``, ascending.

    () in a gap, (i,) normally, (first, second) in a fall-back repeat.
    """
    _require_naive(wall)
    # zoneinfo gives the pre-transition offset for fold=0 and the post-transition
    # one for fold=1; they differ only when `wall` is in a gap or a fold.
    offset0 = wall.replace(tzinfo=zone, fold=0).utcoffset()
    offset1 = wall.replace(tzinfo=zone, fold=1).utcoffset()
    assert offset0 is not None and offset1 is not None  # ZoneInfo always has an offset
    if offset0 == offset1:
        return ((wall - offset0).replace(tzinfo=UTC),)
    found: list[datetime] = []
    for offset in (offset0, offset1):
        instant = (wall - offset).replace(tzinfo=UTC)
        # In a gap neither reading shows `wall` on the clock; in a fold both do.
        if instant.astimezone(zone).replace(tzinfo=None) == wall:
            found.append(instant)
    return tuple(sorted(set(found)))


def local_wall(instant: datetime, zone: ZoneInfo) -> datetime:
    """The naive wall-clock time the local clock in ``zone`` shows at the aware ``instant``."""
    if instant.tzinfo is None:
        raise ValueError(f"instant must be aware, got {instant!r}")
    return instant.astimezone(zone).replace(tzinfo=None, fold=0)
