"""Worked examples of the slot rules, with exact UTC datetimes.

Unless a test says otherwise: staff member 1 works Monday-Friday 09:00-12:00 in
UTC, a 60-minute service on a 30-minute grid, no buffers, no notice, a 400-day
horizon, and "now" is long before the day asked about. 2026-01-05 is a Monday.
"""

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.availability import (
    Slot,
    SlotRules,
    StaffAvailability,
    Unbookable,
    WorkingRange,
    available_slots,
    free_slots,
    why_unbookable,
    working_spans,
)
from domain.intervals import Span

MONDAY = date(2026, 1, 5)
LONG_AGO = datetime(2025, 12, 1, tzinfo=UTC)


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def at(hour: int, minute: int = 0, day: date = MONDAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def hours(*pairs: tuple[str, str]) -> tuple[WorkingRange, ...]:
    def minute_of(text: str) -> int:
        h, m = text.split(":")
        return int(h) * 60 + int(m)

    return tuple(WorkingRange(minute_of(a), minute_of(b)) for a, b in pairs)


def staff(
    *,
    staff_id: int = 1,
    zone: str = "UTC",
    weekly: Mapping[int, tuple[WorkingRange, ...]] | None = None,
    overrides: Mapping[date, tuple[WorkingRange, ...]] | None = None,
    busy: tuple[Span, ...] = (),
) -> StaffAvailability:
    if weekly is None:
        weekly = {day: hours(("09:00", "12:00")) for day in range(5)}
    return StaffAvailability(staff_id, zone, weekly, overrides or {}, busy)


RULES = SlotRules(
    duration=minutes(60), buffer_before=minutes(0), buffer_after=minutes(0), step=minutes(30),
    minimum_notice=minutes(0), horizon=timedelta(days=400),
)
MONDAY_WINDOW = Span(at(0), at(0, day=MONDAY + timedelta(days=1)))


def starts(spans: list[Span]) -> list[datetime]:
    return [s.start for s in spans]


# --- free_slots ----------------------------------------------------------------------


def test_plain_day() -> None:
    # given 09:00-12:00, a 60-minute service on a 30-minute grid
    # when asking for Monday
    slots = free_slots(staff(), RULES, MONDAY_WINDOW, LONG_AGO)
    # then every half hour whose hour fits before 12:00
    assert slots == [
        Span(at(9, 0), at(10, 0)),
        Span(at(9, 30), at(10, 30)),
        Span(at(10, 0), at(11, 0)),
        Span(at(10, 30), at(11, 30)),
        Span(at(11, 0), at(12, 0)),
    ]


def test_buffers_must_fit_inside_working_hours() -> None:
    # given 15 minutes of buffer before and after: [s - 15, s + 75) must lie in 09:00-12:00
    rules = replace(RULES, buffer_before=minutes(15), buffer_after=minutes(15))
    slots = free_slots(staff(), rules, MONDAY_WINDOW, LONG_AGO)
    # then the slot itself is still the 60-minute service
    assert slots == [Span(at(9, 30), at(10, 30)), Span(at(10, 0), at(11, 0)), Span(at(10, 30), at(11, 30))]


def test_busy_span_blocks_exactly_the_overlapping_candidates() -> None:
    # given a booking 10:00-10:30
    member = staff(busy=(Span(at(10, 0), at(10, 30)),))
    slots = free_slots(member, RULES, MONDAY_WINDOW, LONG_AGO)
    # then 09:00 (ends 10:00) and 10:30 (starts 10:30) touch it and stay; 09:30 and 10:00 go
    assert starts(slots) == [at(9, 0), at(10, 30), at(11, 0)]


def test_busy_span_blocks_buffers_too() -> None:
    # given a booking 10:00-10:30 and 10 minutes of buffer after each service
    member = staff(busy=(Span(at(10, 0), at(10, 30)),))
    rules = replace(RULES, buffer_after=minutes(10), duration=minutes(30))
    slots = free_slots(member, rules, MONDAY_WINDOW, LONG_AGO)
    # then 09:30 would need 09:30-10:10 and is taken; 11:30 would need 11:30-12:10 and overruns
    assert starts(slots) == [at(9, 0), at(10, 30), at(11, 0)]


def test_override_closes_the_day() -> None:
    member = staff(overrides={MONDAY: ()})
    assert free_slots(member, RULES, MONDAY_WINDOW, LONG_AGO) == []


def test_override_with_other_hours() -> None:
    member = staff(overrides={MONDAY: hours(("13:00", "15:00"))})
    slots = free_slots(member, RULES, MONDAY_WINDOW, LONG_AGO)
    assert starts(slots) == [at(13, 0), at(13, 30), at(14, 0)]


def test_override_opens_a_weekend_day() -> None:
    saturday = date(2026, 1, 10)
    member = staff(overrides={saturday: hours(("10:00", "11:00"))})
    window = Span(at(0, day=saturday), at(23, day=saturday))
    assert starts(free_slots(member, RULES, window, LONG_AGO)) == [at(10, 0, day=saturday)]


def test_two_ranges_in_one_day() -> None:
    member = staff(weekly={0: hours(("09:00", "11:00"), ("13:00", "15:00"))})
    slots = free_slots(member, RULES, MONDAY_WINDOW, LONG_AGO)
    assert starts(slots) == [at(9, 0), at(9, 30), at(10, 0), at(13, 0), at(13, 30), at(14, 0)]


def test_touching_ranges_are_merged_so_a_service_may_span_the_join() -> None:
    # given 09:00-10:15 and 10:15-12:00 (touching), a 20-minute grid
    member = staff(weekly={0: hours(("10:15", "12:00"), ("09:00", "10:15"))})
    rules = replace(RULES, step=minutes(20))
    slots = free_slots(member, rules, MONDAY_WINDOW, LONG_AGO)
    # then the grid runs from 09:00 straight through, and 10:00-11:00 crosses the join
    assert starts(slots) == [at(9, 0), at(9, 20), at(9, 40), at(10, 0), at(10, 20), at(10, 40), at(11, 0)]


def test_minimum_notice() -> None:
    # given it is 08:00 and bookings need 2 hours' notice
    rules = replace(RULES, minimum_notice=timedelta(hours=2))
    slots = free_slots(staff(), rules, MONDAY_WINDOW, at(8, 0))
    assert starts(slots) == [at(10, 0), at(10, 30), at(11, 0)]


def test_horizon() -> None:
    # given it is Sunday 09:40 and bookings may be made at most 1 day ahead
    rules = replace(RULES, horizon=timedelta(days=1))
    slots = free_slots(staff(), rules, MONDAY_WINDOW, at(9, 40, day=date(2026, 1, 4)))
    # then starts before Monday 09:40 only
    assert starts(slots) == [at(9, 0), at(9, 30)]


def test_past_starts_are_never_offered() -> None:
    # given it is 09:45 on Monday
    slots = free_slots(staff(), RULES, MONDAY_WINDOW, at(9, 45))
    assert starts(slots) == [at(10, 0), at(10, 30), at(11, 0)]


def test_window_start_is_inclusive_and_end_exclusive() -> None:
    slots = free_slots(staff(), RULES, Span(at(9, 30), at(10, 30)), LONG_AGO)
    assert starts(slots) == [at(9, 30), at(10, 0)]


def test_multi_day_window_skips_the_weekend() -> None:
    rules = replace(RULES, step=minutes(60))
    friday, monday = date(2026, 1, 9), date(2026, 1, 12)
    slots = free_slots(staff(), rules, Span(at(0, day=friday), at(10, 30, day=monday)), LONG_AGO)
    assert starts(slots) == [at(9, day=friday), at(10, day=friday), at(11, day=friday),
                             at(9, day=monday), at(10, day=monday)]


def test_kolkata_staff_with_a_utc_window() -> None:
    # given 09:00-12:00 in Asia/Kolkata (UTC+05:30) on an hourly grid
    member = staff(zone="Asia/Kolkata")
    rules = replace(RULES, step=minutes(60))
    # when the window is the UTC day
    slots = free_slots(member, rules, MONDAY_WINDOW, LONG_AGO)
    # then 09:00, 10:00, 11:00 IST are 03:30, 04:30, 05:30 UTC
    assert slots == [Span(at(3, 30), at(4, 30)), Span(at(4, 30), at(5, 30)), Span(at(5, 30), at(6, 30))]
    # and a window starting the previous UTC evening still finds the local morning
    window = Span(utc(2026, 1, 4, 20, 0), at(5, 0))
    assert starts(free_slots(member, rules, window, LONG_AGO)) == [at(3, 30), at(4, 30)]


def test_new_york_spring_forward_day() -> None:
    # given New York hours 00:00-06:00 on Sunday 2026-03-08, when 02:00-03:00 does not exist
    sunday = date(2026, 3, 8)
    member = staff(zone="America/New_York", weekly={6: hours(("00:00", "06:00"))})
    rules = replace(RULES, step=minutes(60))
    window = Span(utc(2026, 3, 8), utc(2026, 3, 9))
    # when listing slots
    slots = free_slots(member, rules, window, LONG_AGO)
    # then 00:00 and 01:00 EST, 03:00, 04:00 and 05:00 EDT; 02:00 is skipped
    assert starts(slots) == [utc(2026, 3, 8, 5), utc(2026, 3, 8, 6), utc(2026, 3, 8, 7),
                             utc(2026, 3, 8, 8), utc(2026, 3, 8, 9)]
    assert working_spans(member, sunday) == [(WorkingRange(0, 360), Span(utc(2026, 3, 8, 5), utc(2026, 3, 8, 10)))]


def test_new_york_fall_back_day() -> None:
    # given New York hours 00:00-04:00 on Sunday 2026-11-01, when 01:00-02:00 happens twice
    member = staff(zone="America/New_York", weekly={6: hours(("00:00", "04:00"))})
    rules = replace(RULES, step=minutes(30), duration=minutes(30))
    window = Span(utc(2026, 11, 1), utc(2026, 11, 2))
    slots = free_slots(member, rules, window, LONG_AGO)
    # then 01:00 and 01:30 appear twice (EDT, then EST), each instant once, in UTC order
    assert starts(slots) == [utc(2026, 11, 1, 4, 0), utc(2026, 11, 1, 4, 30),   # 00:00, 00:30 EDT
                             utc(2026, 11, 1, 5, 0), utc(2026, 11, 1, 5, 30),   # 01:00, 01:30 EDT
                             utc(2026, 11, 1, 6, 0), utc(2026, 11, 1, 6, 30),   # 01:00, 01:30 EST
                             utc(2026, 11, 1, 7, 0), utc(2026, 11, 1, 7, 30),   # 02:00, 02:30 EST
                             utc(2026, 11, 1, 8, 0), utc(2026, 11, 1, 8, 30)]   # 03:00, 03:30 EST


def test_fall_back_range_ending_in_the_repeat_ends_at_its_first_occurrence() -> None:
    # given hours 00:00-01:30: the end reads as 01:30 EDT (05:30Z)
    member = staff(zone="America/New_York", weekly={6: hours(("00:00", "01:30"))})
    rules = replace(RULES, step=minutes(30), duration=minutes(30))
    slots = free_slots(member, rules, Span(utc(2026, 11, 1), utc(2026, 11, 2)), LONG_AGO)
    # then the second 01:00 (06:00Z) falls after the range and is not offered
    assert starts(slots) == [utc(2026, 11, 1, 4, 0), utc(2026, 11, 1, 4, 30), utc(2026, 11, 1, 5, 0)]


def test_range_starting_in_the_gap_starts_where_rfc5545_reads_it() -> None:
    # given hours 02:30-05:00 on the spring-forward day: 02:30 reads as 07:30Z (03:30 EDT)
    member = staff(zone="America/New_York", weekly={6: hours(("02:30", "05:00"))})
    rules = replace(RULES, step=minutes(30), duration=minutes(30))
    slots = free_slots(member, rules, Span(utc(2026, 3, 8), utc(2026, 3, 9)), LONG_AGO)
    # then 03:00 EDT (07:00Z) lies before the range's real start and only 03:30-04:30 EDT remain
    assert starts(slots) == [utc(2026, 3, 8, 7, 30), utc(2026, 3, 8, 8, 0), utc(2026, 3, 8, 8, 30)]


def test_working_spans_end_of_day_and_merging() -> None:
    # given two touching ranges ending at 1440 on the London spring-forward day
    member = staff(zone="Europe/London", weekly={6: hours(("22:00", "23:00"), ("23:00", "24:00"))})
    # then one merged range ending at next midnight BST (23:00Z)
    assert working_spans(member, date(2026, 3, 29)) == [
        (WorkingRange(1320, 1440), Span(utc(2026, 3, 29, 21), utc(2026, 3, 29, 23)))
    ]
    # and a range wholly inside a gap has no real time and is left out
    gap = staff(zone="America/New_York", weekly={6: hours(("02:00", "03:00"), ("09:00", "10:00"))})
    assert working_spans(gap, date(2026, 3, 8)) == [
        (WorkingRange(540, 600), Span(utc(2026, 3, 8, 13), utc(2026, 3, 8, 14)))
    ]


# --- available_slots --------------------------------------------------------------------


def test_available_slots_merges_staff() -> None:
    # given staff 2 working 10:00-12:00 and staff 1 working 09:00-11:00, hourly grid
    first = staff(staff_id=1, weekly={0: hours(("09:00", "11:00"))})
    second = staff(staff_id=2, weekly={0: hours(("10:00", "12:00"))})
    rules = replace(RULES, step=minutes(60))
    slots = available_slots([second, first], rules, MONDAY_WINDOW, LONG_AGO)
    assert slots == [
        Slot(at(9), at(10), (1,)),
        Slot(at(10), at(11), (1, 2)),
        Slot(at(11), at(12), (2,)),
    ]


def test_available_slots_with_nobody() -> None:
    assert available_slots([], RULES, MONDAY_WINDOW, LONG_AGO) == []


# --- why_unbookable ----------------------------------------------------------------------

# It is Monday 08:00; bookings need 1 hour's notice and at most 14 days ahead;
# 10:30-11:00 is taken.
NOW = at(8, 0)
CHECK_RULES = replace(RULES, minimum_notice=timedelta(hours=1), horizon=timedelta(days=14))
MEMBER = staff(busy=(Span(at(10, 30), at(11, 0)),))


@pytest.mark.parametrize(
    ("start", "now", "customer", "staff_side"),
    [
        (at(9, 0), NOW, None, None),
        (at(9, 30), NOW, None, None),
        (at(10, 0), NOW, Unbookable.TAKEN, Unbookable.TAKEN),
        (at(10, 10), NOW, Unbookable.OFF_STEP, Unbookable.TAKEN),
        (at(11, 0), NOW, None, None),
        (at(9, 10), NOW, Unbookable.OFF_STEP, None),
        (at(11, 30), NOW, Unbookable.OUTSIDE_WORKING_HOURS, Unbookable.OUTSIDE_WORKING_HOURS),
        (at(12, 0), NOW, Unbookable.OUTSIDE_WORKING_HOURS, Unbookable.OUTSIDE_WORKING_HOURS),
        (at(9, 0, day=date(2026, 1, 10)), NOW, Unbookable.OUTSIDE_WORKING_HOURS, Unbookable.OUTSIDE_WORKING_HOURS),
        (at(9, 0), at(8, 30), Unbookable.TOO_SOON, None),
        (at(9, 0, day=date(2026, 1, 19)), NOW, Unbookable.BEYOND_HORIZON, None),
        (at(9, 0), at(9, 4), Unbookable.IN_PAST, None),
        (at(9, 0), at(9, 5), Unbookable.IN_PAST, None),
        (at(9, 0), at(9, 6), Unbookable.IN_PAST, Unbookable.IN_PAST),
        (at(7, 0), NOW, Unbookable.IN_PAST, Unbookable.IN_PAST),
    ],
)
def test_why_unbookable(
    start: datetime, now: datetime, customer: Unbookable | None, staff_side: Unbookable | None
) -> None:
    assert why_unbookable(MEMBER, CHECK_RULES, start, now, customer_rules=True) == customer
    assert why_unbookable(MEMBER, CHECK_RULES, start, now, customer_rules=False) == staff_side


def test_why_unbookable_agrees_with_free_slots_on_the_example_day() -> None:
    offered = set(starts(free_slots(MEMBER, CHECK_RULES, MONDAY_WINDOW, NOW)))
    assert offered == {at(9, 0), at(9, 30), at(11, 0)}
    for minute in range(0, 24 * 60, 5):
        t = at(0) + minutes(minute)
        bookable = why_unbookable(MEMBER, CHECK_RULES, t, NOW, customer_rules=True) is None
        assert bookable == (t in offered)


def test_why_unbookable_checks_buffers_against_hours_and_busy() -> None:
    rules = replace(CHECK_RULES, buffer_before=minutes(15))
    # 09:00 would need 08:45 for its buffer
    assert why_unbookable(MEMBER, rules, at(9, 0), NOW, customer_rules=False) == Unbookable.OUTSIDE_WORKING_HOURS
    # 11:00 would need 10:45 for its buffer, inside the 10:30-11:00 booking
    assert why_unbookable(MEMBER, rules, at(11, 0), NOW, customer_rules=False) == Unbookable.TAKEN


def test_rules_validation() -> None:
    with pytest.raises(ValueError):
        replace(RULES, duration=minutes(0))
    with pytest.raises(ValueError):
        replace(RULES, step=timedelta(seconds=90))
    with pytest.raises(ValueError):
        replace(RULES, buffer_before=minutes(-1))
    with pytest.raises(ValueError):
        replace(RULES, horizon=minutes(0))
    with pytest.raises(ValueError):
        WorkingRange(600, 600)
    with pytest.raises(ValueError):
        WorkingRange(0, 1441)
