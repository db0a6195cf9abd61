"""What a booking request asks for, checked before anything is written: the starts of a (recurring) request, and
which of them cannot be booked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from domain.availability import StaffAvailability, why_unbookable
from domain.intervals import Span
from domain.recurrence import RecurrenceError, occurrence_starts
from models import Service
from services import validation
from services.availability import slot_rules
from services.errors import InvalidInputError


def occurrences(recurrence: str | None, first: datetime, zone: str) -> list[datetime]:
    """The starts a booking request asks for: `first` alone, or every occurrence of its RRULE in the staff member's
    zone."""
    if recurrence is None:
        return [first]
    try:
        starts = occurrence_starts(recurrence, first, zone)
    except RecurrenceError as exc:
        raise InvalidInputError(["input", "recurrence"], exc.reason) from exc
    if starts[-1].year > validation.LATEST_YEAR:
        raise InvalidInputError(["input", "recurrence"], f"The series runs past the year {validation.LATEST_YEAR}")
    return starts


def unbookable_starts(
    availability: StaffAvailability, service: Service, starts: Sequence[datetime], now: datetime, customer_rules: bool
) -> list[datetime]:
    """Starts that cannot be booked, counting earlier occurrences of the same request as taken."""
    rules = slot_rules(service)
    taken: list[datetime] = []
    for start in starts:
        if why_unbookable(availability, rules, start, now, customer_rules=customer_rules) is not None:
            taken.append(start)
            continue
        buffered = Span(start - rules.buffer_before, start + rules.duration + rules.buffer_after)
        availability = replace(availability, busy=(*availability.busy, buffered))
    return taken
