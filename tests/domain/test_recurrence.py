from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings, strategies as st

from domain.recurrence import MAX_OCCURRENCES, RecurrenceError, bounded_rule, occurrence_starts


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_weekly_nine_oclock_in_berlin_stays_nine_across_dst() -> None:
    # given Monday 2026-03-23 09:00 CET (08:00Z); Berlin moves to CEST on Sunday 2026-03-29
    first = utc(2026, 3, 23, 8, 0)
    # when repeating weekly four times
    starts = occurrence_starts("FREQ=WEEKLY;COUNT=4", first, "Europe/Berlin")
    # then the UTC time moves an hour earlier and the local time stays 09:00
    assert starts == [utc(2026, 3, 23, 8), utc(2026, 3, 30, 7), utc(2026, 4, 6, 7), utc(2026, 4, 13, 7)]
    berlin = ZoneInfo("Europe/Berlin")
    assert {s.astimezone(berlin).strftime("%a %H:%M") for s in starts} == {"Mon 09:00"}


def test_rrule_prefix_is_accepted() -> None:
    assert occurrence_starts("RRULE:FREQ=DAILY;COUNT=2", utc(2026, 1, 5, 9), "UTC") == [
        utc(2026, 1, 5, 9), utc(2026, 1, 6, 9)]


def test_until_in_utc_is_compared_as_an_instant_and_inclusive() -> None:
    # given weekly 09:00 Berlin from 2026-03-16; 2026-04-06 09:00 CEST is 07:00Z
    first = utc(2026, 3, 16, 8, 0)
    # when UNTIL is exactly that instant, it is included
    assert occurrence_starts("FREQ=WEEKLY;UNTIL=20260406T070000Z", first, "Europe/Berlin") == [
        utc(2026, 3, 16, 8), utc(2026, 3, 23, 8), utc(2026, 3, 30, 7), utc(2026, 4, 6, 7)]
    # and one second earlier it is not
    assert occurrence_starts("FREQ=WEEKLY;UNTIL=20260406T065959Z", first, "Europe/Berlin") == [
        utc(2026, 3, 16, 8), utc(2026, 3, 23, 8), utc(2026, 3, 30, 7)]


def test_until_as_a_date_covers_that_whole_local_day() -> None:
    starts = occurrence_starts("FREQ=DAILY;UNTIL=20260107", utc(2026, 1, 5, 22, 0), "America/New_York")
    # 17:00 New York on the 5th, 6th and 7th
    assert starts == [utc(2026, 1, 5, 22), utc(2026, 1, 6, 22), utc(2026, 1, 7, 22)]


def test_until_without_z_is_a_local_wall_time() -> None:
    starts = occurrence_starts("FREQ=DAILY;UNTIL=20260107T170000", utc(2026, 1, 5, 22, 0), "America/New_York")
    assert starts == [utc(2026, 1, 5, 22), utc(2026, 1, 6, 22), utc(2026, 1, 7, 22)]


def test_trailing_semicolon_and_lower_case_are_tolerated() -> None:
    starts = occurrence_starts("freq=weekly;count=2;", utc(2026, 1, 5, 9), "UTC")
    assert starts == [utc(2026, 1, 5, 9), utc(2026, 1, 12, 9)]


def test_monthly_by_month_day_and_interval() -> None:
    starts = occurrence_starts("FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=15;COUNT=3", utc(2026, 1, 15, 10), "UTC")
    assert starts == [utc(2026, 1, 15, 10), utc(2026, 3, 15, 10), utc(2026, 5, 15, 10)]


def test_weekly_by_day() -> None:
    # Monday 2026-01-05 10:00 UTC, then Wednesdays and Fridays
    starts = occurrence_starts("FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=4", utc(2026, 1, 5, 10), "UTC")
    assert starts == [utc(2026, 1, 5, 10), utc(2026, 1, 7, 10), utc(2026, 1, 9, 10), utc(2026, 1, 12, 10)]


def test_first_start_counts_even_off_the_rule() -> None:
    # given a Tuesday start for a Monday/Thursday rule: RFC 5545 counts DTSTART as occurrence one
    starts = occurrence_starts("FREQ=WEEKLY;BYDAY=MO,TH;COUNT=3", utc(2026, 1, 6, 10), "UTC")
    assert starts == [utc(2026, 1, 6, 10), utc(2026, 1, 8, 10), utc(2026, 1, 12, 10)]


def test_daily_across_a_gap_uses_the_rfc5545_reading() -> None:
    # given daily 02:30 in New York around the 2026-03-08 spring-forward
    starts = occurrence_starts("FREQ=DAILY;COUNT=3", utc(2026, 3, 7, 7, 30), "America/New_York")
    # then 02:30 on the 8th does not exist and reads as 03:30 EDT (07:30Z)
    assert starts == [utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7, 30), utc(2026, 3, 9, 6, 30)]


def test_daily_across_a_fold_uses_the_first_occurrence() -> None:
    starts = occurrence_starts("FREQ=DAILY;COUNT=3", utc(2026, 10, 31, 5, 30), "America/New_York")
    assert starts == [utc(2026, 10, 31, 5, 30), utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]


def test_exactly_the_maximum_is_fine() -> None:
    assert len(occurrence_starts(f"FREQ=DAILY;COUNT={MAX_OCCURRENCES}", utc(2026, 1, 1, 9), "UTC")) == 52
    assert len(occurrence_starts("FREQ=DAILY;UNTIL=20260221T090000Z", utc(2026, 1, 1, 9), "UTC")) == 52


@pytest.mark.parametrize(
    ("rule", "reason_part"),
    [
        ("FREQ=YEARLY;COUNT=2", "FREQ=YEARLY is not allowed"),
        ("FREQ=HOURLY;COUNT=2", "FREQ=HOURLY is not allowed"),
        ("FREQ=WEEKLY", "never ends"),
        ("FREQ=WEEKLY;INTERVAL=2", "never ends"),
        ("FREQ=WEEKLY;COUNT=53", "more than 52"),
        ("FREQ=DAILY;UNTIL=20260222T090000Z", "more than 52"),
        ("FREQ=WEEKLY;COUNT=0", "no occurrences"),
        ("FREQ=WEEKLY;UNTIL=20251231T000000Z", "no occurrences"),
        ("FREQ=WEEKLY;COUNT=2;UNTIL=20260301T000000Z", "not both"),
        ("garbage", "malformed"),
        ("", "empty"),
        ("RRULE:", "empty"),
        ("COUNT=3", "needs FREQ"),
        ("FREQ=WEEKLY;COUNT=two", "whole number"),
        ("FREQ=WEEKLY;COUNT=2;COUNT=3", "twice"),
        ("FREQ=DAILY;COUNT=2;BYHOUR=10", "BYHOUR is not supported"),
        ("FREQ=WEEKLY;COUNT=2;BYDAY=XX", "invalid recurrence rule"),
        ("FREQ=MONTHLY;COUNT=2;BYMONTHDAY=40", "BYMONTHDAY"),
        ("FREQ=WEEKLY;UNTIL=tomorrow", "UNTIL must look like"),
        ("FREQ=WEEKLY;UNTIL=20260231T000000Z", "not a valid date"),
        ("DTSTART:20260101T090000Z\nRRULE:FREQ=DAILY;COUNT=2", "single RRULE value"),
        ("FREQ=DAILY;COUNT=2;INTERVAL=0", "INTERVAL must be at least 1"),
        ("FREQ=MONTHLY;UNTIL=99991231T235959Z", "beyond the supported range"),
        ("FREQ=WEEKLY;COUNT=2;;BYDAY=MO", "malformed"),
    ],
)
def test_rule_errors(rule: str, reason_part: str) -> None:
    with pytest.raises(RecurrenceError) as caught:
        occurrence_starts(rule, utc(2026, 1, 1, 9), "Europe/Berlin")
    assert reason_part in caught.value.reason
    assert isinstance(caught.value, ValueError)


def test_naive_first_start_is_rejected() -> None:
    with pytest.raises(ValueError):
        occurrence_starts("FREQ=DAILY;COUNT=2", datetime(2026, 1, 1, 9), "UTC")


ZONES = ["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Pacific/Chatham",
         "America/Santiago", "Africa/Cairo", "Asia/Beirut", "America/St_Johns", "Asia/Kolkata"]
# Dates a few days before each 2026 transition of the zones above, and some ordinary ones.
START_DATES = [date(2026, m, d) for m, d in [(3, 5), (3, 25), (4, 1), (4, 20), (9, 1), (9, 22), (9, 30),
                                              (10, 20), (10, 27), (10, 28), (1, 10), (6, 15)]]


@settings(max_examples=200, deadline=None)
@given(
    zone_name=st.sampled_from(ZONES),
    first_date=st.sampled_from(START_DATES),
    shift=st.integers(0, 6),
    minute_of_day=st.integers(0, 287).map(lambda n: n * 5),
    freq=st.sampled_from(["DAILY", "WEEKLY"]),
    count=st.integers(1, 20),
)
def test_recurrence_keeps_the_local_wall_time(
    zone_name: str, first_date: date, shift: int, minute_of_day: int, freq: str, count: int
) -> None:
    zone = ZoneInfo(zone_name)
    first_wall = datetime.combine(first_date + timedelta(days=shift), datetime.min.time()) + timedelta(
        minutes=minute_of_day)
    first = first_wall.replace(tzinfo=zone).astimezone(UTC)
    assume(first.astimezone(zone).replace(tzinfo=None) == first_wall)  # the first wall time exists
    starts = occurrence_starts(f"FREQ={freq};COUNT={count}", first, zone_name)
    period = timedelta(days=1 if freq == "DAILY" else 7)
    assert len(starts) == count
    assert starts[0] == first
    for i, start in enumerate(starts):
        wall = first_wall + i * period
        shown = start.astimezone(zone).replace(tzinfo=None)
        if (wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None)) == wall:
            assert shown == wall  # the wall time exists that day: same local time
        else:
            assert start == wall.replace(tzinfo=zone, fold=0).astimezone(UTC)  # in a gap: RFC 5545 reading


def test_a_rule_that_matches_fewer_times_than_its_count_is_an_error() -> None:
    # given a Monday start and a rule that can only ever fall on a Monday (every 7 days) but asks for Tuesdays
    monday = datetime(2030, 1, 7, 9, tzinfo=UTC)
    # when / then
    with pytest.raises(RecurrenceError) as raised:
        occurrence_starts("FREQ=DAILY;INTERVAL=7;BYDAY=TU;COUNT=2", monday, "UTC")
    assert raised.value.reason == "the rule matches only 1 of the 2 occurrences asked for"


def test_an_overlong_rule_is_an_error() -> None:
    with pytest.raises(RecurrenceError) as raised:
        occurrence_starts("FREQ=DAILY;COUNT=2;" + "WKST=MO;" * 70, datetime(2030, 1, 7, 9, tzinfo=UTC), "UTC")
    assert raised.value.reason == "the rule is longer than 500 characters"


def test_an_until_rule_that_matches_too_rarely_for_a_series_is_an_error() -> None:
    # given a Monday start and a daily rule every 7 days on Tuesdays (it can never match), running to 2999
    monday = datetime(2030, 1, 7, 9, tzinfo=UTC)
    # when / then it is refused, as its COUNT form is
    with pytest.raises(RecurrenceError) as raised:
        occurrence_starts("FREQ=DAILY;INTERVAL=7;BYDAY=TU;UNTIL=29991231", monday, "Europe/Berlin")
    assert raised.value.reason == (
        "the rule matches too rarely: a series has all its occurrences within 104 times INTERVAL weeks of the first, "
        "and this UNTIL is later; give COUNT, or an earlier UNTIL")
    # while the same rule with an UNTIL inside the series' reach is the first occurrence alone
    assert occurrence_starts("FREQ=DAILY;INTERVAL=7;BYDAY=TU;UNTIL=20300301", monday, "UTC") == [monday]


def test_daily_rules_filter_their_days_by_weekday_and_month_day() -> None:
    monday = datetime(2030, 1, 7, 9, tzinfo=UTC)
    assert occurrence_starts("FREQ=DAILY;BYDAY=MO,WE;COUNT=4", monday, "UTC") == [
        monday, utc(2030, 1, 9, 9), utc(2030, 1, 14, 9), utc(2030, 1, 16, 9)]
    assert occurrence_starts("FREQ=DAILY;BYMONTHDAY=-1,15;UNTIL=20300301", utc(2030, 1, 15, 9), "UTC") == [
        utc(2030, 1, 15, 9), utc(2030, 1, 31, 9), utc(2030, 2, 15, 9), utc(2030, 2, 28, 9)]


def test_month_days_in_a_weekly_rule_are_an_error() -> None:
    with pytest.raises(RecurrenceError) as raised:
        occurrence_starts("FREQ=WEEKLY;INTERVAL=2;BYMONTHDAY=31;COUNT=2", utc(2030, 4, 1, 9), "UTC")
    assert raised.value.reason == "BYMONTHDAY cannot be used with FREQ=WEEKLY; use FREQ=MONTHLY or FREQ=DAILY"


def test_the_written_rule_is_bounded_to_the_booked_occurrences() -> None:
    monday = datetime(2030, 1, 7, 9, 30, tzinfo=UTC)
    planned = occurrence_starts("rrule:freq=weekly;until=20300125;", monday, "Europe/Berlin")
    assert bounded_rule("rrule:freq=weekly;until=20300125;", planned) == "FREQ=WEEKLY;UNTIL=20300121T093000Z"
    assert bounded_rule("FREQ=WEEKLY;COUNT=4", occurrence_starts("FREQ=WEEKLY;COUNT=4", monday, "UTC")) \
        == "FREQ=WEEKLY;COUNT=4"
    odd = [datetime(2030, 1, 7, 9, 0, 0, 250, tzinfo=UTC)]
    assert bounded_rule("FREQ=DAILY;UNTIL=20300107T235959Z", odd) == "FREQ=DAILY;UNTIL=20300107T090001Z"


RULES = st.builds(
    lambda freq, interval, byday, end: ";".join(
        [f"FREQ={freq}", f"INTERVAL={interval}", *([f"BYDAY={byday}"] if byday else []), end]),
    st.sampled_from(["DAILY", "WEEKLY", "MONTHLY"]), st.integers(1, 3),
    st.sampled_from(["", "MO", "TU,TH", "SA,SU"]),
    st.one_of(st.integers(1, 20).map(lambda n: f"COUNT={n}"),
              st.dates(date(2030, 1, 8), date(2031, 6, 1)).map(lambda d: f"UNTIL={d:%Y%m%d}")))


@settings(max_examples=150, deadline=None)
@given(RULES, st.datetimes(datetime(2030, 1, 1), datetime(2030, 1, 7), timezones=st.just(UTC)),
       st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"]))
def test_the_bounded_rule_books_exactly_the_planned_occurrences(rule: str, first: datetime, zone: str) -> None:
    try:
        planned = occurrence_starts(rule, first, zone)
    except RecurrenceError:
        assume(False)
        return
    assert occurrence_starts(bounded_rule(rule, planned), first, zone) == planned


def test_a_daily_rule_kept_to_some_weekdays_reaches_as_far_as_a_weekly_one() -> None:
    # a Monday-only DAILY rule comes round weekly: twenty Mondays fit within its reach, as FREQ=WEEKLY's would
    first = datetime(2030, 1, 7, 9, tzinfo=UTC)
    starts = occurrence_starts("FREQ=DAILY;BYDAY=MO;COUNT=20", first, "UTC")
    assert starts == [first + timedelta(weeks=week) for week in range(20)]
    # and one kept to a day of the month comes round monthly
    monthly = occurrence_starts("FREQ=DAILY;BYMONTHDAY=7;COUNT=12", first, "UTC")
    assert [start.month for start in monthly] == list(range(1, 13))
