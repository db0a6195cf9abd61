"""A quick parse of the commonest calendar object: one plain VEVENT, no recurrence, no time zone definitions.

Most objects of a real calendar are such single events, and the general iCalendar parser costs twenty times more
than reading their few lines. `quick_calendar` reads such an object into a `QuickCalendar`, which answers the few
questions the readings ask (`walk("VEVENT")`, `get`, `pop`, each property's `.dt` and `.params`) exactly as the
parsed icalendar object would, so domain.busy and domain.own_events read both the same way. For anything else
(several components, RRULE/RDATE/RECURRENCE-ID/EXDATE, a VTIMEZONE, a TZID that is not an IANA zone, a value it
does not know) it returns None and the general parser is used.

Terms: a *content line* is one unfolded `NAME;PARAM=VALUE:value` line (RFC 5545 3.1).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from domain.zones import is_valid_zone, load_zone

# The properties the readings ask about; any other is skipped, unless it changes what the event is (_REFUSED).
_READ = frozenset({"UID", "DTSTART", "DTEND", "DURATION", "STATUS", "TRANSP", "SUMMARY", "ATTENDEE"})
_REFUSED = frozenset({"RRULE", "RDATE", "EXDATE", "RECURRENCE-ID", "EXRULE"})
_SKIPPED_COMPONENTS = frozenset({"VALARM"})
_DATE = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_DATE_TIME = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})(Z?)")
_DURATION = re.compile(r"([+-]?)P(?:([0-9]+)W)?(?:([0-9]+)D)?(?:T(?:([0-9]+)H)?(?:([0-9]+)M)?(?:([0-9]+)S)?)?")
_UNESCAPE = re.compile(r"\\([\\;,nN])")
_PARAM = re.compile(r';([A-Za-z0-9-]+)=("[^"]*"|[^;:"]*)')


class _Refused(Exception):
    """The object is not one the quick parse reads."""


class QuickProperty(str):
    """A property's text value (unescaped for text), its parameters (upper-case names), and for date and time
    properties `dt`, the value as icalendar gives it."""

    params: dict[str, str]
    dt: Any

    def __new__(cls, text: str, params: dict[str, str], dt: Any = None) -> QuickProperty:
        made = super().__new__(cls, text)
        made.params, made.dt = params, dt
        return made


class QuickEvent(dict[str, Any]):
    """A VEVENT's properties by name; ATTENDEE, when there are several, is a list (as icalendar gives it)."""


class QuickCalendar(dict[str, Any]):
    """A VCALENDAR of one VEVENT: its calendar-level properties by name, and the event."""

    def __init__(self, properties: dict[str, Any], event: QuickEvent) -> None:
        super().__init__(properties)
        self.event = event

    def walk(self, name: str) -> list[QuickEvent]:
        return [self.event] if name.upper() == "VEVENT" else []


def _content_lines(text: str) -> Iterator[str]:
    """The unfolded content lines (a line starting with a space or tab continues the previous one)."""
    current: str | None = None
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line[:1] in (" ", "\t") and current is not None:
            current += line[1:]
            continue
        if current:
            yield current
        current = line
    if current:
        yield current


def _split(line: str) -> tuple[str, dict[str, str], str]:
    """NAME, parameters and value of one content line."""
    head_end = len(line)
    for position, character in enumerate(line):
        if character in ";:":
            head_end = position
            break
    name, rest = line[:head_end].upper(), line[head_end:]
    params: dict[str, str] = {}
    while rest.startswith(";"):
        match = _PARAM.match(rest)
        if match is None:
            raise _Refused
        value = match.group(2)
        params[match.group(1).upper()] = value[1:-1] if value.startswith('"') else value
        rest = rest[match.end():]
    if not rest.startswith(":") or not name:
        raise _Refused
    return name, params, rest[1:]


def _time_value(params: dict[str, str], value: str) -> date | datetime:
    if "TZID" in params and (params.get("VALUE", "").upper() == "DATE" or value.upper().endswith("Z")):
        # A zone beside a date, or beside a UTC time: readers disagree on which one wins (the general parser reads
        # a zoned date as midnight in that zone, and trusts the zone over the Z), so the general parser decides.
        raise _Refused
    if params.get("VALUE", "").upper() == "DATE":
        match = _DATE.fullmatch(value)
        if match is None:
            raise _Refused
        return date(int(match[1]), int(match[2]), int(match[3]))
    match = _DATE_TIME.fullmatch(value)
    if match is None or params.get("VALUE", "DATE-TIME").upper() != "DATE-TIME":
        raise _Refused
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    stamp = datetime(year, month, day, hour, minute, second)
    if match[7]:
        return stamp.replace(tzinfo=UTC)
    zone = params.get("TZID")
    if zone is None:
        return stamp
    if not is_valid_zone(zone):
        raise _Refused  # a zone defined by the object's own VTIMEZONE, or none at all: the general parser decides
    return stamp.replace(tzinfo=load_zone(zone))


def _duration(value: str) -> timedelta:
    match = _DURATION.fullmatch(value)
    if match is None or value in ("P", "PT") or value.endswith("T"):
        raise _Refused
    sign, weeks, days, hours, minutes, seconds = match.groups()
    length = timedelta(weeks=int(weeks or 0), days=int(days or 0), hours=int(hours or 0),
                       minutes=int(minutes or 0), seconds=int(seconds or 0))
    return -length if sign == "-" else length


def _property(name: str, params: dict[str, str], value: str) -> QuickProperty:
    try:
        if name in ("DTSTART", "DTEND"):
            return QuickProperty(value, params, _time_value(params, value))
        if name == "DURATION":
            return QuickProperty(value, params, _duration(value))
    except (ValueError, OverflowError):  # a day that does not exist, say
        raise _Refused from None
    if name == "SUMMARY":
        return QuickProperty(_UNESCAPE.sub(lambda m: "\n" if m[1] in "nN" else m[1], value), params)
    return QuickProperty(value, params)


def _read(text: str) -> QuickCalendar:
    calendar: dict[str, Any] = {}
    event: QuickEvent | None = None
    nesting: list[str] = []
    calendars = 0
    for line in _content_lines(text):
        name, params, value = _split(line)
        if name in ("BEGIN", "END"):
            component = value.upper()
            if name == "BEGIN":
                nesting.append(component)
                calendars += nesting == ["VCALENDAR"]
                if calendars > 1:
                    raise _Refused
                if nesting == ["VCALENDAR", "VEVENT"] and event is None:
                    event = QuickEvent()
                elif nesting not in (["VCALENDAR"], ["VCALENDAR", "VEVENT", component]) or (
                        len(nesting) == 3 and component not in _SKIPPED_COMPONENTS):
                    raise _Refused  # a second event, a VTIMEZONE, a VTODO...
            elif not nesting or nesting.pop() != component:
                raise _Refused
            continue
        if len(nesting) == 1:
            if name in calendar:
                raise _Refused  # given twice (the general parser lists both): it decides
            calendar[name] = QuickProperty(value, params)
        elif len(nesting) == 2 and event is not None:
            if name in _REFUSED:
                raise _Refused
            if name == "ATTENDEE":
                listed = event.get("ATTENDEE")
                attendee = _property(name, params, value)
                event["ATTENDEE"] = attendee if listed is None else [
                    *(listed if isinstance(listed, list) else [listed]), attendee]
            elif name in _READ:
                if name in event:
                    raise _Refused  # given twice: the general parser's reading decides
                event[name] = _property(name, params, value)
    if event is None or nesting or "DTSTART" not in event:
        raise _Refused
    return QuickCalendar(calendar, event)


def quick_calendar(text: str) -> QuickCalendar | None:
    """The object read quickly, or None when it is not a plain single event (see the module's docstring)."""
    if text.count("BEGIN:VEVENT") != 1:
        return None  # several events (a series with overrides), or spelt in lower case: not the common case
    try:
        return _read(text)
    except _Refused:
        return None
