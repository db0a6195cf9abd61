"""Availability from the database: loads what the pure engine needs, then asks it.

The same loader serves both the slot query and the booking transaction's re-check, so what a customer is offered and
what the database accepts can never disagree.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any, Protocol

from domain.availability import (
    Slot,
    SlotRules,
    StaffAvailability,
    WorkingRange,
    bookable_range,
    free_starts_between,
    merged_slots,
)
from domain.intervals import Span
from domain.slot_cost import SlotBudget, slot_query_cost
from models import (
    Booking,
    BookingStatus,
    BusyBlock,
    ScheduleOverride,
    Service,
    Staff,
    WorkingHoursRange,
)
from services import validation
from services.access import block_title, require_member
from services.auth import Viewer
from services.duplicate_facts import without_settled_duplicates
from services.errors import (
    InvalidInputError,
    NotFoundError,
    ServiceArchivedError,
    SlotQueryTooLargeError,
    TooManySlotsError,
)
from services.slot_cache import SlotCache, computed_range

MAX_WINDOW = timedelta(days=62)
# Busy time this far outside a window can still touch a slot inside it (service up to 24 h plus buffers).
_MARGIN = timedelta(days=2)
_OVERRIDE_SLACK = timedelta(days=2)


_RULE_FIELDS = ("duration_minutes", "buffer_before_minutes", "buffer_after_minutes", "slot_step_minutes",
                "minimum_notice_minutes", "booking_horizon_days")


def slot_rules(service: Service) -> SlotRules:
    return _rules({name: getattr(service, name) for name in _RULE_FIELDS})


def _rules(values: Mapping[str, int]) -> SlotRules:
    return SlotRules(
        duration=timedelta(minutes=values["duration_minutes"]),
        buffer_before=timedelta(minutes=values["buffer_before_minutes"]),
        buffer_after=timedelta(minutes=values["buffer_after_minutes"]),
        step=timedelta(minutes=values["slot_step_minutes"]),
        minimum_notice=timedelta(minutes=values["minimum_notice_minutes"]),
        horizon=timedelta(days=values["booking_horizon_days"]),
    )


class ScheduleOwner(Protocol):
    """Whose schedule is read: a staff member's id and zone."""

    @property
    def id(self) -> int: ...

    @property
    def time_zone(self) -> str: ...


@dataclass(frozen=True)
class Performer:
    """A staff member performing a service, as far as a slot query needs one: id, schedule version
    (`booking_lock`, see services/slot_cache.py), zone, and whether they take bookings."""

    id: int
    booking_lock: int
    time_zone: str
    active: bool = True


_PERFORMERS_SQL: dict[str, str] = {}


async def _rules_and_performers(service_id: int) -> tuple[SlotRules, list[Performer]]:
    """The service's slot rules and the staff performing it (by id), in one query: a slot query answered from the
    cache reads nothing else. An archived service is ServiceArchivedError: it is no longer offered."""
    db = Service._meta.db
    dialect = db.capabilities.dialect
    sql = _PERFORMERS_SQL.get(dialect)
    if sql is None:
        # Built once per dialect: building the statement costs more than running it on a cached answer's path.
        sql = _PERFORMERS_SQL[dialect] = Service.filter(id=0).values(
            *_RULE_FIELDS, "archived_at", "staff__id", "staff__booking_lock", "staff__time_zone",
            "staff__active").sql()
    rows = await db.execute_query_dict(sql, [service_id])
    if not rows:
        raise NotFoundError("Service", ["serviceId"])
    if rows[0]["archived_at"] is not None:
        raise ServiceArchivedError(["serviceId"])
    performers = sorted((Performer(row["staff__id"], row["staff__booking_lock"], row["staff__time_zone"],
                                   bool(row["staff__active"]))
                         for row in rows if row["staff__id"] is not None), key=attrgetter("id"))
    return _rules(rows[0]), performers


def _chosen(performers: list[Performer], staff_ids: Sequence[int] | None) -> list[Performer]:
    """`performers`, narrowed to `staff_ids` (in their order) when given; each must perform the service. Inactive
    staff are left out either way: they offer no slots."""
    if staff_ids is None:
        return [member for member in performers if member.active]
    by_id = {member.id: member for member in performers}
    chosen = []
    for index, staff_id in enumerate(staff_ids):
        if staff_id not in by_id:
            raise NotFoundError("Staff performing this service", ["staffIds", index])
        chosen.append(by_id[staff_id])
    return [member for member in chosen if member.active]


def window(starts: datetime, ends: datetime, path: tuple[str, str] = ("from", "to")) -> Span:
    start = validation.instant(starts, [path[0]]).astimezone(UTC)
    end = validation.instant(ends, [path[1]]).astimezone(UTC)
    if end <= start:
        raise InvalidInputError([path[1]], "The end of the window must be after its start")
    if end - start > MAX_WINDOW:
        raise InvalidInputError([path[1]], "Ask for at most 62 days at once")
    return Span(start, end)


async def load_availability(
    staff: Sequence[ScheduleOwner], around: Span, *, ignore_booking_ids: Iterable[int] = (), connection: Any = None
) -> list[StaffAvailability]:
    """Each staff member's hours, overrides and busy spans (bookings' buffered spans and busy blocks) near `around`."""
    ids = [member.id for member in staff]
    low, high = around.start - _MARGIN, around.end + _MARGIN
    hours = await WorkingHoursRange.filter(staff_id__in=ids).using_db(connection).values_list(
        "staff_id", "weekday", "start_minute", "end_minute")
    # Local dates run up to a day either side of UTC ones, and a date's hours need the previous date's (its night
    # range runs on into it): a few dates more than the instants need cost little.
    overrides = await ScheduleOverride.filter(
        staff_id__in=ids, date__gte=low.date() - _OVERRIDE_SLACK, date__lte=high.date() + _OVERRIDE_SLACK
    ).using_db(connection).values_list("staff_id", "date", "ranges")
    bookings = await Booking.filter(
        staff_id__in=ids, status=BookingStatus.CONFIRMED, buffered_end__gt=low, buffered_start__lt=high
    ).exclude(id__in=list(ignore_booking_ids)).using_db(connection).values_list(
        "staff_id", "buffered_start", "buffered_end")
    blocks = await BusyBlock.filter(
        staff_id__in=ids, ends_at__gt=low, starts_at__lt=high
    ).using_db(connection).values_list("staff_id", "starts_at", "ends_at")

    weekly: dict[int, dict[int, list[WorkingRange]]] = defaultdict(lambda: defaultdict(list))
    for staff_id, weekday, start, end in hours:
        weekly[staff_id][weekday].append(WorkingRange(start, end))
    dated: dict[int, dict[Any, tuple[WorkingRange, ...]]] = defaultdict(dict)
    for staff_id, day, ranges in overrides:
        dated[staff_id][day] = tuple(WorkingRange(start, end) for start, end in ranges)
    busy: dict[int, list[Span]] = defaultdict(list)
    for staff_id, start, end in [*bookings, *blocks]:
        busy[staff_id].append(Span(start.astimezone(UTC), end.astimezone(UTC)))
    return [
        StaffAvailability(
            staff_id=member.id,
            zone=member.time_zone,
            weekly={day: tuple(sorted(ranges, key=lambda r: r.start_minute))
                    for day, ranges in weekly[member.id].items()},
            overrides=dated[member.id],
            busy=tuple(busy[member.id]),
        )
        for member in staff
    ]


@dataclass(frozen=True)
class SlotLimits:
    """What one request may ask of availability: `max_cost` candidate starts in all its slot queries (see
    domain.slot_cost), `max_slots` slots in one answer, and the smallest slot step a service may have."""

    max_cost: int = 201_600  # 50 staff x 14 days x 288 starts a day (a 5-minute step round the clock)
    max_slots: int = 10_000
    min_step_minutes: int = 5

    def new_budget(self) -> SlotBudget:
        """The slot budget of one request (one GraphQL operation)."""
        return SlotBudget(self.max_cost)


_DEFAULT_LIMITS = SlotLimits()


def _charge(budget: SlotBudget, staff_count: int, span: Span, rules: SlotRules) -> None:
    cost = slot_query_cost(staff_count, span, rules.step)
    left = budget.left
    if not budget.spend(cost.total):
        raise SlotQueryTooLargeError(cost.total, left, budget.limit, cost.staff_count, cost.days,
                                     cost.starts_per_day, min(cost.days_within(left), cost.days),
                                     min(cost.staff_within(left), staff_count))


async def _cached_slots(staff: Sequence[Performer], rules: SlotRules, span: Span, now: datetime,
                        cache: SlotCache) -> tuple[Slot, ...]:
    """The slots of `staff` in the bookable part of `span`: the whole answer from the cache when every staff
    member's entry is unchanged, else each staff member's free starts from the cache where it has them. Both are
    kept over the computed range (whole days) and cut to this moment's bookable range, so that one entry serves a
    whole day of queries (cutting before or after merging gives the same slots: it only drops starts)."""
    bounds = bookable_range(rules, span, now)
    if bounds is None:
        return ()
    computed = computed_range(rules, bounds, span.start, span.end)
    keys = {member.id: cache.key(member.id, member.booking_lock, member.time_zone, rules, computed)
            for member in staff}
    answer_key = ("answer", tuple(keys[member.id] for member in staff))
    answer = cache.get(answer_key)
    if answer is None:
        answer = await _merged_answer(staff, rules, computed, keys, cache)
        # Weighed by the staff listed, so an answer of fifty technicians counts as fifty lists of starts.
        cache.put(answer_key, answer, weight=sum(len(slot.staff_ids) for slot in answer))
    starts_at = attrgetter("start")
    return tuple(answer[bisect_left(answer, bounds[0], key=starts_at):bisect_left(answer, bounds[1], key=starts_at)])


async def _merged_answer(staff: Sequence[Performer], rules: SlotRules, computed: tuple[datetime, datetime],
                         keys: Mapping[int, Hashable], cache: SlotCache) -> tuple[Slot, ...]:
    found: dict[int, tuple[datetime, ...]] = {}
    for member in staff:
        cached = cache.get(keys[member.id])
        if cached is not None:
            found[member.id] = cached
    missing = [member for member in staff if member.id not in found]
    if missing:
        for loaded in await load_availability(missing, Span(*computed)):
            starts = tuple(free_starts_between(loaded, rules, *computed))
            cache.put(keys[loaded.staff_id], starts)
            found[loaded.staff_id] = starts
    return tuple(merged_slots([(member.id, found[member.id]) for member in staff], rules.duration))


async def offered_slots(
    service_id: int, starts: datetime, ends: datetime, staff_ids: Sequence[int] | None, now: datetime,
    *, budget: SlotBudget | None = None, limits: SlotLimits = _DEFAULT_LIMITS, cache: SlotCache | None = None,
) -> Sequence[Slot]:
    """Bookable slots of a service in a window: public information, it never says why a time is taken.

    The query's cost is taken from the request's `budget` (default: a budget of its own) before any slot is
    computed; an answer of more than `limits.max_slots` slots is refused rather than sent. Without a `cache`
    everything is computed afresh."""
    budget = limits.new_budget() if budget is None else budget
    cache = SlotCache(0) if cache is None else cache  # an empty cache is falsy: test for None
    span = window(starts, ends)
    rules, performers = await _rules_and_performers(service_id)
    staff = _chosen(performers, staff_ids)
    if not staff:
        return []
    _charge(budget, len(staff), span, rules)
    slots = await _cached_slots(staff, rules, span, now, cache)
    if len(slots) > limits.max_slots:
        days = slot_query_cost(len(staff), span, rules.step).days
        raise TooManySlotsError(len(slots), limits.max_slots, days * limits.max_slots // len(slots))
    return slots


@dataclass(frozen=True)
class ScheduleEntry:
    """One taken span of a staff member's schedule: a booking or a busy block."""

    kind: str  # "booking" or "busy"
    starts_at: datetime
    ends_at: datetime
    title: str
    booking: Booking | None
    busy_block: BusyBlock | None


async def staff_schedule(viewer: Viewer, staff_id: int, starts: datetime, ends: datetime) -> list[ScheduleEntry]:
    staff = await Staff.get_or_none(id=staff_id)
    if staff is None:
        raise NotFoundError("Staff", ["staffId"])
    await require_member(viewer, staff.business_id)
    span = window(starts, ends)
    bookings = await Booking.filter(
        staff_id=staff.id, status=BookingStatus.CONFIRMED, ends_at__gt=span.start, starts_at__lt=span.end
    ).select_related("service")
    blocks = without_settled_duplicates(
        await BusyBlock.filter(staff_id=staff.id, ends_at__gt=span.start, starts_at__lt=span.end), bookings)
    entries = [
        ScheduleEntry("booking", b.starts_at, b.ends_at, f"{b.service.name} – {b.customer_name}", b, None)
        for b in bookings
    ]
    for block in blocks:
        entries.append(ScheduleEntry("busy", block.starts_at, block.ends_at, block_title(viewer, block, staff), None,
                                     block))
    entries.sort(key=lambda entry: entry.starts_at)
    return entries


