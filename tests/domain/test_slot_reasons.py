"""Why a span cannot be booked: worked examples, and agreement with the availability engine.

Unless a test says otherwise: the staff member works Monday-Friday 09:00-12:00 UTC, "now" is long before the day
asked about, and 2026-01-05 is a Monday.
"""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, strategies as st

from domain.availability import SlotRules, free_slots, why_unbookable
from domain.intervals import Span
from domain.journal import EventKind
from domain.slot_reasons import Reason, ReasonKind, TakenTime, explain_span
from tests.domain.test_availability import LONG_AGO, at, hours, minutes, staff
from tests.domain.test_availability_properties import PROPERTY, Query, queries

RULES = SlotRules(duration=minutes(60), buffer_before=minutes(0), buffer_after=minutes(0), step=minutes(30),
                  minimum_notice=minutes(0), horizon=timedelta(days=400))
BOOKING = TakenTime(EventKind.BOOKING, 7, Span(at(10, 30), at(11, 30)))
BLOCK = TakenTime(EventKind.BUSY_BLOCK, 3, Span(at(10), at(10, 15)))
BLOCKED = TakenTime(EventKind.BLOCKED_TIME, 4, Span(at(10, 45), at(11)))


def test_a_free_span_in_working_hours_has_no_reason() -> None:
    assert explain_span(staff(), [BOOKING], Span(at(9), at(10)), LONG_AGO) == []
    assert explain_span(staff(), [BOOKING], Span(at(9), at(10)), LONG_AGO, RULES) == []


def test_every_overlapping_item_is_a_reason_by_start() -> None:
    reasons = explain_span(staff(), [BOOKING, BLOCKED, BLOCK], Span(at(10), at(11)), LONG_AGO)
    assert reasons == [Reason(ReasonKind.BUSY_BLOCK, BLOCK), Reason(ReasonKind.BOOKING, BOOKING),
                       Reason(ReasonKind.BLOCKED_TIME, BLOCKED)]


def test_touching_taken_time_is_no_reason() -> None:
    assert explain_span(staff(), [BOOKING], Span(at(9, 30), at(10, 30)), LONG_AGO) == []


def test_a_span_past_the_end_of_the_range_or_on_a_day_off_is_outside_working_hours() -> None:
    outside = [Reason(ReasonKind.OUTSIDE_WORKING_HOURS)]
    assert explain_span(staff(), [], Span(at(11, 30), at(12, 30)), LONG_AGO) == outside
    saturday = at(10) + timedelta(days=5)
    assert explain_span(staff(), [], Span(saturday, saturday + minutes(60)), LONG_AGO) == outside


def test_a_span_joining_two_ranges_of_the_day_is_outside_working_hours() -> None:
    split = staff(weekly={0: hours(("09:00", "10:00"), ("10:30", "12:00"))})
    assert explain_span(split, [], Span(at(9, 30), at(10, 45)), LONG_AGO) == [
        Reason(ReasonKind.OUTSIDE_WORKING_HOURS)]


def test_the_service_step_notice_and_horizon_count_only_with_a_service() -> None:
    soon = replace(RULES, minimum_notice=minutes(60), horizon=timedelta(days=1))
    now = at(9, 30)
    assert explain_span(staff(), [], Span(at(10), at(11)), now, soon) == [Reason(ReasonKind.MINIMUM_NOTICE)]
    assert explain_span(staff(), [], Span(at(10), at(11)), now) == []
    assert explain_span(staff(), [], Span(at(9), at(10)), now, soon) == [Reason(ReasonKind.IN_PAST)]
    next_day = at(10) + timedelta(days=1)
    assert explain_span(staff(), [], Span(next_day, next_day + minutes(60)), now, soon) == [
        Reason(ReasonKind.BEYOND_HORIZON)]
    assert explain_span(staff(), [], Span(at(10, 10), at(11, 10)), LONG_AGO, RULES) == [
        Reason(ReasonKind.OFF_STEP)]
    assert explain_span(staff(), [], Span(at(10, 10), at(11, 10)), LONG_AGO) == []


def test_a_time_rule_a_range_and_taken_time_are_all_given_together() -> None:
    soon = replace(RULES, minimum_notice=minutes(120))
    reasons = explain_span(staff(), [BOOKING], Span(at(11, 10), at(12, 10)), at(10), soon)
    assert reasons == [Reason(ReasonKind.MINIMUM_NOTICE), Reason(ReasonKind.OUTSIDE_WORKING_HOURS),
                       Reason(ReasonKind.BOOKING, BOOKING)]


def test_the_service_buffers_must_fit_the_range_and_be_free() -> None:
    buffered = replace(RULES, buffer_after=minutes(15), buffer_before=minutes(15))
    assert explain_span(staff(), [], Span(at(11), at(12)), LONG_AGO, buffered) == [
        Reason(ReasonKind.OUTSIDE_WORKING_HOURS)]
    assert explain_span(staff(), [BOOKING], Span(at(9, 30), at(10, 0)), LONG_AGO, buffered) == []
    assert explain_span(staff(), [BOOKING], Span(at(9, 30), at(10, 30)), LONG_AGO, buffered) == [
        Reason(ReasonKind.BOOKING, BOOKING)]


def test_staff_may_book_a_span_that_began_up_to_five_minutes_ago() -> None:
    span = Span(at(10), at(11))
    assert explain_span(staff(), [], span, at(10, 5)) == []
    assert explain_span(staff(), [], span, at(10, 6)) == [Reason(ReasonKind.IN_PAST)]


def test_the_step_is_counted_in_wall_clock_time_across_a_clock_change() -> None:
    # Berlin skips 02:00-03:00 on 2026-03-29 (a Sunday); the range 01:00-05:00 then holds three real hours
    berlin = staff(zone="Europe/Berlin", weekly={6: hours(("01:00", "05:00"))})
    three = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 local, two wall-clock hours after the range's start
    assert explain_span(berlin, [], Span(three, three + minutes(60)), LONG_AGO, RULES) == []
    assert explain_span(berlin, [], Span(three + minutes(10), three + minutes(70)), LONG_AGO, RULES) == [
        Reason(ReasonKind.OFF_STEP)]


def _taken(query: Query) -> list[TakenTime]:
    member = query[0]
    kinds = list(EventKind)
    return [TakenTime(kinds[index % 3], index, span) for index, span in enumerate(member.busy)]


@st.composite
def spans_to_explain(draw: st.DrawFn) -> tuple[Query, datetime]:
    """A slot query and a start: one the engine offers half the time, else any minute of the window."""
    query = draw(queries())
    member, rules, window, now = query
    offered = [slot.start for slot in free_slots(member, rules, window, now)]
    pick_offered: bool = draw(st.booleans())
    if offered and pick_offered:
        return query, draw(st.sampled_from(offered))
    return query, window.start + draw(st.integers(0, int(window.duration / minutes(1)) - 1)) * minutes(1)


@PROPERTY
@given(spans_to_explain())
def test_with_a_service_a_span_has_no_reason_exactly_when_the_engine_offers_its_start(
    case: tuple[Query, datetime],
) -> None:
    query, start = case
    member, rules, _window, now = query
    span = Span(start, start + rules.duration)
    offered = free_slots(member, rules, Span(start, start + minutes(1)), now) == [span]
    assert (explain_span(member, _taken(query), span, now, rules) == []) == offered


@PROPERTY
@given(spans_to_explain())
def test_without_a_service_a_span_has_no_reason_exactly_when_staff_may_book_it(case: tuple[Query, datetime]) -> None:
    query, start = case
    member, rules, _window, now = query
    unbuffered = replace(rules, buffer_before=timedelta(0), buffer_after=timedelta(0))
    span = Span(start, start + rules.duration)
    allowed = why_unbookable(member, unbuffered, start, now, customer_rules=False) is None
    assert (explain_span(member, _taken(query), span, now) == []) == allowed


@PROPERTY
@given(spans_to_explain())
def test_the_taken_reasons_are_each_overlapping_item_once(case: tuple[Query, datetime]) -> None:
    query, start = case
    _member, rules, _window, now = query
    span = Span(start, start + rules.duration)
    needed = Span(start - rules.buffer_before, span.end + rules.buffer_after)
    reasons = explain_span(query[0], _taken(query), span, now, rules)
    items = [reason.taken for reason in reasons if reason.taken is not None]
    assert sorted(item.ref for item in items) == sorted(item.ref for item in _taken(query)
                                                        if item.span.overlaps(needed))
    assert all(reason.kind.value == reason.taken.kind.value for reason in reasons if reason.taken is not None)
