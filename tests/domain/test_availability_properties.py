"""Slot rules checked against the brute-force oracle in tests/domain/oracle.py.

Windows are placed both at random in 2026 and right around each zone's DST
transitions, where the grid, the RFC 5545 reading of range ends and the date
arithmetic are most likely to go wrong. Hours include overnight ranges and
evenings that touch the next morning at midnight; several zones change their
clocks at midnight (America/Santiago, America/Havana, Asia/Beirut, Africa/Cairo),
so some nights have no 00:00 and some have two.
"""

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings, strategies as st

from domain.availability import (
    SlotRules,
    StaffAvailability,
    Unbookable,
    WorkingRange,
    available_slots,
    bookable_range,
    free_slots,
    free_starts_between,
    why_unbookable,
    working_spans,
)
from domain.intervals import Span, merge_spans
from domain.zones import local_wall
from tests.domain import oracle

ZONES = [
    "UTC", "America/New_York", "Europe/London", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata",
    "Pacific/Chatham", "America/Sao_Paulo", "Pacific/Apia", "America/Santiago", "Africa/Cairo",
    "Asia/Beirut", "America/St_Johns", "Asia/Kathmandu", "Pacific/Auckland", "Africa/Casablanca",
    "America/Havana",
]
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
ONE_DAY = timedelta(days=1)
Query = tuple[StaffAvailability, SlotRules, Span, datetime]
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def transitions(zone_name: str) -> tuple[datetime, ...]:
    """Instants in 2026 (to the quarter hour) at which the zone's UTC offset changes."""
    zone = ZoneInfo(zone_name)
    found = []
    t = YEAR_START
    offset = t.astimezone(zone).utcoffset()
    while t.year == 2026:
        t += timedelta(minutes=15)
        now_offset = t.astimezone(zone).utcoffset()
        if now_offset != offset:
            found.append(t)
            offset = now_offset
    return tuple(found)


def minutes(lo: int, hi: int) -> st.SearchStrategy[timedelta]:
    """Whole minutes in [lo, hi], half the time on the 5-minute lattice (so things touch exactly)."""
    any_minute = st.integers(lo, hi)
    lattice = st.integers((lo + 4) // 5, hi // 5).map(lambda n: n * 5)
    return st.one_of(any_minute, lattice).map(lambda n: n * MINUTE)


@st.composite
def overnight_range(draw: st.DrawFn) -> WorkingRange:
    """A start (mostly in the evening) running past midnight, on the 5-minute lattice, shorter than a day."""
    start = draw(st.one_of(st.integers(216, 287), st.integers(1, 287))) * 5
    return WorkingRange(start, draw(st.integers(289, start // 5 + 288)) * 5)


@st.composite
def day_hours(draw: st.DrawFn) -> tuple[WorkingRange, ...]:
    """Non-overlapping ranges on 5-minute boundaries, some touching, sometimes whole days; some run overnight or
    end (or start) at midnight, so that consecutive dates touch."""
    kind = draw(st.sampled_from(["cuts", "cuts", "cuts", "full", "full", "office", "night", "night", "none",
                                 "overnight", "overnight", "evening", "morning"]))
    if kind == "full":
        return (WorkingRange(0, 1440),)
    if kind == "office":
        return (WorkingRange(540, 1020),)
    if kind == "night":  # covers the hours in which clocks usually change
        return (WorkingRange(0, 300), WorkingRange(1320, 1440))
    if kind == "evening":
        return (WorkingRange(draw(st.integers(216, 287)) * 5, 1440),)
    if kind == "morning":
        return (WorkingRange(0, draw(st.integers(1, 72)) * 5),)
    if kind == "none":
        return ()
    points = sorted(draw(st.sets(st.integers(0, 288), min_size=2, max_size=6)))
    ranges = []
    for a, b in pairwise(points):
        if draw(st.booleans()):
            ranges.append(WorkingRange(a * 5, b * 5))
    if kind == "overnight":
        # The night shift goes last and starts where the day's other ranges end (or later).
        night = draw(overnight_range())
        ranges = [r for r in ranges if r.end_minute <= night.start_minute]
        ranges.append(night)
    return tuple(ranges)


@st.composite
def windows(draw: st.DrawFn, zone_name: str) -> Span:
    """A 1-3 day window, containing a DST transition of ``zone_name`` when it has one."""
    length = draw(st.integers(1440, 3 * 1440)) * MINUTE
    near = transitions(zone_name)
    use_transition = draw(st.integers(0, 3)) > 0  # three times in four
    if near and use_transition:
        anchor = draw(st.sampled_from(near)) - draw(st.integers(0, length // MINUTE - 1)) * MINUTE
    else:
        anchor = YEAR_START + draw(st.integers(0, 360 * 1440)) * MINUTE
    anchor += draw(st.sampled_from([0, 0, 0, 17, 59])) * timedelta(seconds=1)
    return Span(anchor, anchor + length)


@st.composite
def staff_members(draw: st.DrawFn, window: Span, staff_id: int = 1, zone_name: str | None = None) -> StaffAvailability:
    zone_name = zone_name or draw(st.sampled_from(ZONES))
    weekly = {day: draw(day_hours()) for day in range(7)}
    first_local = window.start.astimezone(ZoneInfo(zone_name)).date()
    overrides: dict[date, tuple[WorkingRange, ...]] = {}
    for offset in draw(st.sets(st.integers(-1, 4), max_size=3)):
        overrides[first_local + timedelta(days=offset)] = draw(day_hours())
    busy = []
    # Mostly on the 5-minute lattice, so busy spans often touch candidate buffered spans exactly.
    lattice = window.start.replace(minute=window.start.minute // 5 * 5, second=0, microsecond=0)
    grain = draw(st.sampled_from([1, 5, 5, 15]))
    for _ in range(draw(st.integers(0, 8))):
        start = lattice + draw(st.integers(-1440 // grain, 4 * 1440 // grain)) * grain * MINUTE
        start += draw(st.sampled_from([0, 0, 0, 0, 1, 30])) * timedelta(seconds=1)
        busy.append(Span(start, start + draw(st.integers(1, 600 // grain)) * grain * MINUTE))
    return StaffAvailability(staff_id, zone_name, weekly, overrides, tuple(busy))


@st.composite
def slot_rules(draw: st.DrawFn) -> SlotRules:
    buffers = st.one_of(st.just(timedelta(0)), minutes(0, 30), minutes(0, 60))
    return SlotRules(
        duration=draw(st.one_of(minutes(5, 60), minutes(5, 120))),
        buffer_before=draw(buffers),
        buffer_after=draw(buffers),
        step=draw(st.one_of(st.sampled_from([15, 30, 60]).map(lambda n: n * MINUTE), minutes(5, 120))),
        minimum_notice=draw(st.sampled_from([0, 0, 60, 12 * 60, 48 * 60]).flatmap(lambda n: minutes(0, n))),
        horizon=draw(st.sampled_from([(60, 5 * 1440), (10 * 1440, 60 * 1440), (10 * 1440, 60 * 1440)]).flatmap(
            lambda bounds: minutes(*bounds))),
    )


@st.composite
def nows(draw: st.DrawFn, window: Span) -> datetime:
    """Mostly shortly before the window, sometimes inside it or well before it."""
    before = draw(st.one_of(st.integers(0, 1440), st.integers(-1440, 3 * 1440)))
    return window.start - before * MINUTE + draw(st.integers(0, 59)) * timedelta(seconds=1)


@st.composite
def queries(draw: st.DrawFn) -> Query:
    zone_name = draw(st.sampled_from(ZONES))
    window = draw(windows(zone_name))
    member = draw(staff_members(window, zone_name=zone_name))
    return member, draw(slot_rules()), window, draw(nows(window))


def buffered(start: datetime, rules: SlotRules) -> Span:
    return Span(start - rules.buffer_before, start + rules.duration + rules.buffer_after)


@PROPERTY
@given(queries())
def test_free_slots_equal_the_minute_by_minute_oracle(query: Query) -> None:
    member, rules, window, now = query
    expected = [Span(s, s + rules.duration) for s in oracle.slot_starts(member, rules, window, now)]
    assert free_slots(member, rules, window, now) == expected


@PROPERTY
@given(queries())
def test_slots_are_free_within_hours_and_rules(query: Query) -> None:
    member, rules, window, now = query
    zone = ZoneInfo(member.zone)
    for slot in free_slots(member, rules, window, now):
        need = buffered(slot.start, rules)
        assert slot.duration == rules.duration
        assert not any(need.overlaps(b) for b in member.busy)
        local_date = local_wall(slot.start, zone).date()
        # the start lies in a range of its own date, and the buffered span in working time, maybe past midnight
        assert any(span.start <= slot.start < span.end for _, span in working_spans(member, local_date))
        nearby = [span for day in range(-2, 3) for _, span in working_spans(member, local_date + day * ONE_DAY)]
        assert any(stretch.contains(need) for stretch in merge_spans(nearby))
        assert window.start <= slot.start < window.end
        assert now + rules.minimum_notice <= slot.start < now + rules.horizon


@st.composite
def team_queries(draw: st.DrawFn) -> tuple[list[StaffAvailability], SlotRules, Span, datetime]:
    window = draw(windows(draw(st.sampled_from(ZONES))))
    team = [draw(staff_members(window, staff_id=i)) for i in draw(st.sets(st.integers(1, 9), min_size=1, max_size=4))]
    return team, draw(slot_rules()), window, draw(nows(window))


@PROPERTY
@given(team_queries())
def test_available_slots_is_the_union_of_free_slots(
    query: tuple[Sequence[StaffAvailability], SlotRules, Span, datetime],
) -> None:
    team, rules, window, now = query
    free_by_start: dict[datetime, list[int]] = {}
    for member in team:
        for slot in free_slots(member, rules, window, now):
            free_by_start.setdefault(slot.start, []).append(member.staff_id)
    slots = available_slots(team, rules, window, now)
    assert [s.start for s in slots] == sorted(free_by_start)
    for team_slot in slots:
        assert team_slot.end == team_slot.start + rules.duration
        assert team_slot.staff_ids == tuple(sorted(free_by_start[team_slot.start]))


@PROPERTY
@given(queries(), st.data())
def test_why_unbookable_is_none_exactly_for_slot_starts(
    query: Query, data: st.DataObject
) -> None:
    member, rules, window, now = query
    offered = {s.start for s in free_slots(member, rules, window, now)}
    total_minutes = int((window.end - window.start) / MINUTE)
    probes = set(offered)
    probes |= {s + d for s in offered for d in (MINUTE, -MINUTE, rules.step, -rules.step, timedelta(seconds=30))}
    first_minute = window.start.replace(second=0, microsecond=0)
    probes |= {first_minute + m * MINUTE
               for m in data.draw(st.lists(st.integers(0, total_minutes), max_size=60))}
    for t in probes:
        if not window.start <= t < window.end:
            continue
        customer = why_unbookable(member, rules, t, now, customer_rules=True)
        assert (customer is None) == (t in offered), (t, customer)
        if customer is None:  # staff rules are looser than customer rules
            assert why_unbookable(member, rules, t, now, customer_rules=False) is None


@PROPERTY
@given(queries(), st.data())
def test_busy_time_touching_a_slot_keeps_it_and_overlapping_by_a_second_takes_it(
    query: Query, data: st.DataObject
) -> None:
    member, rules, window, now = query
    slots = free_slots(member, rules, window, now)
    if not slots:
        return
    slot = data.draw(st.sampled_from(slots))
    need = buffered(slot.start, rules)
    hour, second = timedelta(hours=1), timedelta(seconds=1)
    # when busy time is added right up to both ends of the buffered span
    before, after = Span(need.start - hour, need.start), Span(need.end, need.end + hour)
    touching = replace(member, busy=(*member.busy, before, after))
    # then the slot is still offered and still bookable
    assert slot in free_slots(touching, rules, window, now)
    assert why_unbookable(touching, rules, slot.start, now, customer_rules=True) is None
    # and busy time reaching one second into either end takes it
    for extra in (Span(need.start - hour, need.start + second), Span(need.end - second, need.end + hour)):
        overlapping = replace(member, busy=(*member.busy, extra))
        assert slot not in free_slots(overlapping, rules, window, now)
        assert why_unbookable(overlapping, rules, slot.start, now, customer_rules=True) == Unbookable.TAKEN
        assert why_unbookable(overlapping, rules, slot.start, now, customer_rules=False) == Unbookable.TAKEN


@PROPERTY
@given(queries(), st.integers(0, 3 * 1440), st.integers(0, 3 * 1440))
def test_starts_of_a_wider_range_cut_to_the_bookable_range_are_the_slots(
    query: Query, wider_before: int, wider_after: int,
) -> None:
    # What the slot cache relies on: starts computed over any wider range, then cut to [lowest, limit), are the slots.
    member, rules, window, now = query
    bounds = bookable_range(rules, window, now)
    expected = [slot.start for slot in free_slots(member, rules, window, now)]
    if bounds is None:
        assert expected == []
        return
    lowest, limit = bounds
    wider = free_starts_between(member, rules, lowest - wider_before * MINUTE, limit + wider_after * MINUTE)
    assert [s for s in wider if lowest <= s < limit] == expected

