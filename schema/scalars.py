"""The DateTime and Date scalars, read as ISO 8601 like Strawberry's own, but refused with a message a person can act
on ("2027-02-30" is not a date that exists: February 2027 has 28 days) instead of the parser's internal text.

A refusal is a ScalarInputError; app.input_errors turns it into the GraphQL error that names the argument.
"""

from __future__ import annotations

import calendar
import json
import re
from datetime import date, datetime
from typing import Any

import dateutil.parser
from strawberry.types.scalar import ScalarDefinition

DATE_TIME_EXAMPLE = "2027-02-01T09:00:00+01:00"
DATE_EXAMPLE = "2027-02-01"
_ECHOED = 40  # characters of the refused value repeated in the message
_DATE_SHAPE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_TIME_SHAPE = re.compile(r"(\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?")


class ScalarInputError(ValueError):
    """A value that is not of its scalar type: `type_name` (DateTime, Date) and what to give instead."""

    def __init__(self, type_name: str, value: object, problem: str) -> None:
        super().__init__(f"{echo(value)} {problem}")
        self.type_name = type_name
        self.problem = problem


def echo(value: object) -> str:
    """The refused value as JSON, cut short: enough to recognise it, never a whole pasted document."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    shown = text if len(text) <= _ECHOED else text[:_ECHOED] + "…"
    return json.dumps(shown, ensure_ascii=False) if isinstance(value, str) else shown


def _no_such_date(text: str) -> str | None:
    """Why `text`, shaped like a date (YYYY-MM-DD...), names none; None when its date part exists."""
    shape = _DATE_SHAPE.match(text)
    if shape is None:
        return None
    year, month, day = (int(part) for part in shape.groups())
    if not 1 <= month <= 12:
        return f"there is no month {month}"
    days = calendar.monthrange(max(year, 1), month)[1]
    if not 1 <= day <= days:
        return f"{calendar.month_name[month]} {year} has {days} days"
    return None


def _no_such_time(text: str) -> str | None:
    """Why the time of day after the date's "T" (or space) does not exist; None when it does or is not shaped so."""
    shape = _TIME_SHAPE.match(text[11:]) if len(text) > 11 and text[10] in "Tt " else None
    if shape is None:
        return None
    hour, minute, second = int(shape.group(1)), int(shape.group(2)), int(shape.group(3) or 0)
    if hour > 24 or minute > 59 or second > 59 or (hour == 24 and (minute or second)):
        return f"there is no time of day {shape.group(0)}"
    return None


def parse_date_time(value: object) -> datetime:
    if isinstance(value, str):
        try:
            return dateutil.parser.isoparse(value)
        except (ValueError, OverflowError):
            reason = _no_such_date(value) or _no_such_time(value)
            if reason is not None:
                raise ScalarInputError("DateTime", value, f"is not a date-time that exists ({reason}); give an ISO "
                                                          f"8601 date-time with offset, e.g. {DATE_TIME_EXAMPLE}"
                                       ) from None
    raise ScalarInputError("DateTime", value, f"is not an ISO 8601 date-time with offset, e.g. {DATE_TIME_EXAMPLE}")


def parse_date(value: object) -> date:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            reason = _no_such_date(value) if len(value) == len(DATE_EXAMPLE) else None
            if reason is not None:
                raise ScalarInputError("Date", value, f"is not a date that exists ({reason}); give an ISO 8601 "
                                                      f"date, e.g. {DATE_EXAMPLE}") from None
    raise ScalarInputError("Date", value, f"is not an ISO 8601 date, e.g. {DATE_EXAMPLE}")


def _iso(value: Any) -> str:
    return value.isoformat()  # type: ignore[no-any-return]


DateTimeScalar = ScalarDefinition(
    name="DateTime", description=f"An ISO 8601 date-time with its UTC offset, e.g. {DATE_TIME_EXAMPLE}",
    specified_by_url=None, serialize=_iso, parse_value=parse_date_time, parse_literal=None, origin=datetime)
DateScalar = ScalarDefinition(
    name="Date", description=f"An ISO 8601 calendar date, e.g. {DATE_EXAMPLE}", specified_by_url=None,
    serialize=_iso, parse_value=parse_date, parse_literal=None, origin=date)
SCALARS: dict[object, ScalarDefinition] = {datetime: DateTimeScalar, date: DateScalar}
