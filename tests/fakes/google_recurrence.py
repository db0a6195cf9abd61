"""Times and recurrence as the fake Google Calendar reads them: EventDateTime values and RFC 5545 recurrence lines.

Terms:
- *EventDateTime*: Google's `{"date": "yyyy-mm-dd"}` (all-day) or `{"dateTime": RFC3339, "timeZone": IANA}`.
- *instance*: one occurrence of a recurring event, named by its original start (where the rule puts it) and given
  the id `{masterId}_{YYYYMMDDTHHMMSSZ}` (`_{YYYYMMDD}` all-day), the convention Google is observed to use.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rruleset, rrulestr

MAX_INSTANCES = 1000  # a fake expands at most this many instances of one rule (the real API bounds it too)


class BadTime(ValueError):
    """An EventDateTime or recurrence line the fake cannot read; answered with 400."""


def parse_rfc3339(value: str) -> datetime:
    """An RFC3339 value with an offset (Google requires one on timeMin/timeMax)."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise BadTime(f"bad date-time {value!r}") from exc
    if parsed.tzinfo is None:
        raise BadTime(f"date-time {value!r} has no offset")
    return parsed


def zone_of(value: dict[str, Any], default: str) -> ZoneInfo:
    name = value.get("timeZone") or default
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError) as exc:
        raise BadTime(f"unknown time zone {name!r}") from exc


def instant(value: dict[str, Any], default_zone: str) -> datetime:
    """The UTC instant an EventDateTime names; a date is its midnight in the event's (or calendar's) zone."""
    zone = zone_of(value, default_zone)
    if "date" in value and value["date"] is not None:
        try:
            day = date.fromisoformat(value["date"])
        except ValueError as exc:
            raise BadTime(f"bad date {value['date']!r}") from exc
        return datetime.combine(day, time(), zone).astimezone(UTC)
    if "dateTime" not in value:
        raise BadTime("an EventDateTime needs date or dateTime")
    raw = value["dateTime"].replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise BadTime(f"bad dateTime {value['dateTime']!r}") from exc
    if parsed.tzinfo is None:
        if not value.get("timeZone"):
            raise BadTime("a dateTime without offset needs a timeZone")
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def is_all_day(value: dict[str, Any]) -> bool:
    return value.get("date") is not None


def rfc3339(moment: datetime, zone: ZoneInfo | None = None) -> str:
    return moment.astimezone(zone or UTC).isoformat().replace("+00:00", "Z")


def _values(line: str) -> tuple[str, dict[str, str], str]:
    head, _, value = line.partition(":")
    name, *params = head.split(";")
    return name.upper(), dict(param.split("=", 1) for param in params if "=" in param), value


def _date_values(value: str, params: dict[str, str], zone: ZoneInfo, all_day: bool) -> list[datetime]:
    found = []
    for text in value.split(","):
        text = text.strip()
        if params.get("VALUE") == "DATE" or len(text) == 8:
            day = datetime.strptime(text[:8], "%Y%m%d")
            found.append(day if all_day else day.replace(tzinfo=zone))
            continue
        if text.endswith("Z"):
            moment = datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        else:
            local = ZoneInfo(params["TZID"]) if "TZID" in params else zone
            moment = datetime.strptime(text, "%Y%m%dT%H%M%S").replace(tzinfo=local)
        found.append(moment.astimezone(zone).replace(tzinfo=None) if all_day else moment.astimezone(zone))
    return found


def rule_set(master: dict[str, Any], calendar_zone: str) -> tuple[rruleset, bool, ZoneInfo]:
    """The occurrence set of a recurring event's `recurrence` lines from its start (aware in its zone, or naive
    local midnights for an all-day event)."""
    start = master["start"]
    zone = zone_of(start, calendar_zone)
    all_day = is_all_day(start)
    dtstart = (datetime.combine(date.fromisoformat(start["date"]), time()) if all_day
               else instant(start, calendar_zone).astimezone(zone))
    rules = rruleset()
    rules.rdate(dtstart)
    try:
        for line in master.get("recurrence") or []:
            name, params, value = _values(line)
            if name in ("RRULE", "EXRULE"):
                if all_day:
                    value = value.replace("Z;", ";").removesuffix("Z")
                rule = rrulestr(value, dtstart=dtstart)
                (rules.rrule if name == "RRULE" else rules.exrule)(rule)  # type: ignore[arg-type]
            elif name in ("RDATE", "EXDATE"):
                for moment in _date_values(value, params, zone, all_day):
                    (rules.rdate if name == "RDATE" else rules.exdate)(moment)
            else:
                raise BadTime(f"unsupported recurrence line {name}")
    except (ValueError, KeyError) as exc:
        raise BadTime(f"bad recurrence: {exc}") from exc
    return rules, all_day, zone


def original_starts(master: dict[str, Any], calendar_zone: str) -> list[tuple[datetime, bool, ZoneInfo]]:
    """Every original start of a recurring event (at most MAX_INSTANCES), as (UTC instant, all-day, zone)."""
    rules, all_day, zone = rule_set(master, calendar_zone)
    starts = []
    for moment in itertools.islice(rules, MAX_INSTANCES):
        utc = (moment.replace(tzinfo=zone) if all_day else moment).astimezone(UTC)
        starts.append((utc, all_day, zone))
    return starts


def instance_id(master_id: str, original: datetime, all_day: bool, zone: ZoneInfo) -> str:
    if all_day:
        return f"{master_id}_{original.astimezone(zone):%Y%m%d}"
    return f"{master_id}_{original:%Y%m%dT%H%M%SZ}"


def event_date_time(moment: datetime, all_day: bool, zone: ZoneInfo) -> dict[str, str]:
    """An EventDateTime for a UTC instant, written in the event's zone."""
    local = moment.astimezone(zone)
    if all_day:
        return {"date": local.date().isoformat()}
    return {"dateTime": local.isoformat(), "timeZone": str(zone.key)}


def instance_of(master: dict[str, Any], original: datetime, all_day: bool, zone: ZoneInfo,
                calendar_zone: str) -> dict[str, Any]:
    """The instance of `master` that starts at `original`, as the master says (not as an exception moved it)."""
    length = instant(master["end"], calendar_zone) - instant(master["start"], calendar_zone)
    resource = {key: value for key, value in master.items() if key != "recurrence"}
    resource["id"] = instance_id(master["id"], original, all_day, zone)
    resource["recurringEventId"] = master["id"]
    resource["originalStartTime"] = event_date_time(original, all_day, zone)
    resource["start"] = event_date_time(original, all_day, zone)
    resource["end"] = event_date_time(original + length, all_day, zone)
    return resource


def span_of(resource: dict[str, Any], calendar_zone: str) -> tuple[datetime, datetime]:
    start = instant(resource["start"], calendar_zone)
    end = instant(resource["end"], calendar_zone)
    return start, max(end, start + timedelta(0))
