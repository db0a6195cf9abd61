"""Why a span of a staff member's time cannot be booked: every reason, each with the item that causes it.

Terms (those of domain.availability, plus):
- *taken time*: what already holds part of the schedule: a confirmed booking (its buffered span, as the engine
  counts it), a busy block imported from a calendar, or blocked time; `ref` names the row it came from.
- *reason*: one thing that keeps the span from being booked. Without a service the span is judged as staff book it
  (walk-ins): it must lie in one working range, be free, and not lie more than STAFF_PAST_GRACE in the past. With a
  service's rules the span is judged as a customer books it: its start must also lie on the service's step, at
  least the minimum notice from now and before the booking horizon, and the service's buffers around the span
  must fit the working range and be free too. The span's own length stands for the service's duration.

No reasons means bookable: with rules exactly when the availability engine offers the span's start (free_slots),
without them exactly when why_unbookable lets staff book it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from domain.availability import STAFF_PAST_GRACE, SlotRules, StaffAvailability, Unbookable, hours_problem
from domain.intervals import Span, as_utc
from domain.journal import EventKind


@dataclass(frozen=True)
class TakenTime:
    kind: EventKind
    ref: int
    span: Span


class ReasonKind(StrEnum):
    IN_PAST = "in_past"
    MINIMUM_NOTICE = "minimum_notice"
    BEYOND_HORIZON = "beyond_horizon"
    OUTSIDE_WORKING_HOURS = "outside_working_hours"
    OFF_STEP = "off_step"
    BOOKING = "booking"
    BUSY_BLOCK = "busy_block"
    BLOCKED_TIME = "blocked_time"


@dataclass(frozen=True)
class Reason:
    kind: ReasonKind
    taken: TakenTime | None = None


_TAKEN_REASON = {EventKind.BOOKING: ReasonKind.BOOKING, EventKind.BUSY_BLOCK: ReasonKind.BUSY_BLOCK,
                 EventKind.BLOCKED_TIME: ReasonKind.BLOCKED_TIME}
_KIND_ORDER = {kind: index for index, kind in enumerate(EventKind)}


def _time_rules(start: datetime, now: datetime, rules: SlotRules | None) -> list[Reason]:
    if rules is None:
        return [Reason(ReasonKind.IN_PAST)] if start < now - STAFF_PAST_GRACE else []
    if start < now:
        return [Reason(ReasonKind.IN_PAST)]
    if start < now + rules.minimum_notice:
        return [Reason(ReasonKind.MINIMUM_NOTICE)]
    if start >= now + rules.horizon:
        return [Reason(ReasonKind.BEYOND_HORIZON)]
    return []


def _hours(hours: StaffAvailability, start: datetime, needed: Span, rules: SlotRules | None) -> list[Reason]:
    """The engine's own reading of working hours (domain.availability.hours_problem); the step only with rules."""
    problem = hours_problem(hours, start, needed, rules.step if rules is not None else None)
    if problem is None:
        return []
    return [Reason(ReasonKind.OFF_STEP if problem is Unbookable.OFF_STEP else ReasonKind.OUTSIDE_WORKING_HOURS)]


def explain_span(hours: StaffAvailability, taken: Sequence[TakenTime], span: Span, now: datetime,
                 rules: SlotRules | None = None) -> list[Reason]:
    """Every reason `span` cannot be booked (none: it can), in this order: the time rules (IN_PAST, else
    MINIMUM_NOTICE, else BEYOND_HORIZON: at most one), the working hours (OUTSIDE_WORKING_HOURS, else OFF_STEP), then
    each taken time overlapping the span (with the rules' buffers around it), by start, kind and ref.

    `hours` gives the zone, weekly hours and overrides; its `busy` is not read (`taken` is the busy time)."""
    now = as_utc(now)
    before = rules.buffer_before if rules is not None else timedelta(0)
    after = rules.buffer_after if rules is not None else timedelta(0)
    needed = Span(span.start - before, span.end + after)
    reasons = [*_time_rules(span.start, now, rules), *_hours(hours, span.start, needed, rules)]
    overlapping = sorted((item for item in taken if item.span.overlaps(needed)),
                         key=lambda item: (item.span.start, _KIND_ORDER[item.kind], item.ref))
    return reasons + [Reason(_TAKEN_REASON[item.kind], item) for item in overlapping]


