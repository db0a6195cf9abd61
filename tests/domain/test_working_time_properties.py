"""Working time across midnight checked against plain definitions: an overnight range is its two halves, and a span
is working time exactly when each of its minutes is worked in some day range."""

from dataclasses import replace
from datetime import timedelta

from hypothesis import given, strategies as st

from domain.availability import WorkingRange, free_slots, why_unbookable
from domain.intervals import Span
from domain.working_time import in_working_time
from tests.domain import oracle
from tests.domain.test_availability_properties import PROPERTY, Query, queries

MINUTE = timedelta(minutes=1)


def split_at_midnight(weekly: dict[int, tuple[WorkingRange, ...]]) -> dict[int, tuple[WorkingRange, ...]]:
    """The same week with every overnight range written as two: until 24:00, and from 00:00 the next day."""
    split: dict[int, list[WorkingRange]] = {day: [] for day in range(7)}
    for day, ranges in weekly.items():
        for rng in ranges:
            if rng.end_minute > 1440:
                split[day].append(WorkingRange(rng.start_minute, 1440))
                split[(day + 1) % 7].append(WorkingRange(0, rng.end_minute - 1440))
            else:
                split[day].append(rng)
    return {day: tuple(ranges) for day, ranges in split.items()}


@PROPERTY
@given(queries())
def test_an_overnight_range_gives_the_slots_of_its_two_halves(query: Query) -> None:
    # given weekly hours with overnight ranges, and the same hours with each one split at midnight
    member, rules, window, now = query
    whole = replace(member, overrides={})
    halves = replace(whole, weekly=split_at_midnight(dict(whole.weekly)))
    # then both offer the same slots, and agree on every one of them
    slots = free_slots(whole, rules, window, now)
    assert free_slots(halves, rules, window, now) == slots
    for slot in slots:
        assert why_unbookable(halves, rules, slot.start, now, customer_rules=True) is None


@PROPERTY
@given(queries(), st.data())
def test_a_span_is_working_time_exactly_when_each_of_its_minutes_is_worked(query: Query, data: st.DataObject) -> None:
    # given a span of whole minutes somewhere in or near the window, up to a day long
    member, _, window, _ = query
    first = window.start.replace(second=0, microsecond=0) + data.draw(st.integers(-600, 3 * 1440)) * MINUTE
    need = Span(first, first + data.draw(st.integers(1, 1440)) * MINUTE)
    # then the engine's answer is the minute-by-minute one
    schedule = oracle.Schedule(member)
    minutes = int(need.duration / MINUTE)
    expected = all(schedule.is_working_minute(need.start + k * MINUTE) for k in range(minutes))
    assert in_working_time(member, need) == expected
