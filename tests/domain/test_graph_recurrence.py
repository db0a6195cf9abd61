"""An RRULE as a Graph patternedRecurrence and back (domain/graph_recurrence.py): every pattern and range type,
DST, the rules Graph cannot express, and properties that a translation is exact or not made at all."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from dateutil.rrule import rrulestr
from hypothesis import given, settings, strategies as st

from domain.graph_recurrence import UnreadableGraphRecurrence, graph_recurrence
from domain.graph_recurrence_reading import graph_occurrence_starts, rrule_of_graph
from domain.zones import load_zone, local_wall, to_utc

BERLIN, NEW_YORK = "Europe/Berlin", "America/New_York"
ZONES = [BERLIN, NEW_YORK, "Asia/Tokyo", "America/Los_Angeles", "Australia/Sydney", "Pacific/Auckland", "UTC"]
CODES = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


def local(zone: str, year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return to_utc(datetime(year, month, day, hour, minute), load_zone(zone))


def pattern_of(rrule: str, first_start: datetime, zone: str) -> dict[str, Any]:
    recurrence = graph_recurrence(rrule, first_start, zone)
    assert recurrence is not None
    return dict(recurrence["pattern"])


def rrule_starts(rrule: str, first_start: datetime, zone: str, until: datetime) -> list[datetime]:
    """The oracle: the RRULE's own occurrences, by dateutil on the wall clock in `zone`, up to `until`. UNTIL is
    read as domain.recurrence reads it (a bare date is its whole local day)."""
    tz = load_zone(zone)
    parts = dict(part.split("=") for part in rrule.removeprefix("RRULE:").split(";"))
    count = int(parts.pop("COUNT")) if "COUNT" in parts else None
    bound = until
    if "UNTIL" in parts:
        text = parts.pop("UNTIL")
        if "T" not in text:
            day = datetime.strptime(text, "%Y%m%d") + timedelta(days=1)
            bound = min(bound, to_utc(day, tz) - timedelta(microseconds=1))
        elif text.endswith("Z"):
            bound = min(bound, datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC))
        else:
            bound = min(bound, to_utc(datetime.strptime(text, "%Y%m%dT%H%M%S"), tz))
    stop = local_wall(bound, tz) + timedelta(days=2)
    rule = rrulestr(";".join([*(f"{k}={v}" for k, v in parts.items()), f"UNTIL={stop:%Y%m%dT%H%M%S}"]),
                    dtstart=local_wall(first_start, tz))
    starts = [to_utc(wall, tz) for wall in rule]
    starts = [start for start in starts if start <= bound]
    return starts[:count] if count is not None else starts


# -- each pattern type --------------------------------------------------------------------------------------------

# Tuesday 12 March 2030, 09:00 in Berlin: the second Tuesday of March.
TUESDAY = local(BERLIN, 2030, 3, 12, 9)


@pytest.mark.parametrize(("rrule", "pattern"), [
    ("FREQ=DAILY;INTERVAL=2", {"type": "daily", "interval": 2}),
    ("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", {"type": "weekly", "interval": 1, "firstDayOfWeek": "monday",
                                         "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"]}),
    ("FREQ=WEEKLY", {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"], "firstDayOfWeek": "monday"}),
    ("RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=FR,TU;WKST=SU",
     {"type": "weekly", "interval": 2, "daysOfWeek": ["tuesday", "friday"], "firstDayOfWeek": "sunday"}),
    ("FREQ=MONTHLY", {"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 12}),
    ("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=12", {"type": "absoluteMonthly", "interval": 3, "dayOfMonth": 12}),
    ("FREQ=MONTHLY;BYDAY=2TU", {"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["tuesday"],
                                "index": "second"}),
    ("FREQ=MONTHLY;BYDAY=TU;BYSETPOS=2", {"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["tuesday"],
                                          "index": "second"}),
    ("FREQ=MONTHLY;BYDAY=TU,WE;BYSETPOS=3", {"type": "relativeMonthly", "interval": 1,
                                             "daysOfWeek": ["tuesday", "wednesday"], "index": "third"}),
    ("FREQ=YEARLY", {"type": "absoluteYearly", "interval": 1, "month": 3, "dayOfMonth": 12}),
    ("FREQ=YEARLY;INTERVAL=2;BYMONTH=3;BYMONTHDAY=12",
     {"type": "absoluteYearly", "interval": 2, "month": 3, "dayOfMonth": 12}),
    ("FREQ=YEARLY;BYMONTH=3;BYDAY=2TU", {"type": "relativeYearly", "interval": 1, "month": 3,
                                         "daysOfWeek": ["tuesday"], "index": "second"}),
], ids=["daily", "daily-on-weekdays", "weekly", "weekly-every-other", "absolute-monthly", "absolute-monthly-day",
        "relative-monthly", "relative-monthly-setpos", "relative-monthly-several-days", "absolute-yearly",
        "absolute-yearly-explicit", "relative-yearly"])
def test_each_pattern_type(rrule: str, pattern: dict[str, Any]) -> None:
    assert graph_recurrence(rrule, TUESDAY, BERLIN) == {"pattern": pattern, "range": {
        "type": "noEnd", "startDate": "2030-03-12", "recurrenceTimeZone": BERLIN}}


def test_last_weekday_of_the_month_and_last_friday() -> None:
    # given the last weekday of May 2030 (Friday 31st), 17:00 in New York
    last = local(NEW_YORK, 2030, 5, 31, 17)
    assert pattern_of("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", last, NEW_YORK) == {
        "type": "relativeMonthly", "interval": 1, "index": "last",
        "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"]}
    assert pattern_of("FREQ=MONTHLY;BYDAY=-1FR", last, NEW_YORK) == {
        "type": "relativeMonthly", "interval": 1, "daysOfWeek": ["friday"], "index": "last"}
    # and Thanksgiving, the fourth Thursday of November
    thanksgiving = local(NEW_YORK, 2030, 11, 28, 12)
    recurrence = graph_recurrence("FREQ=YEARLY;BYMONTH=11;BYDAY=4TH;COUNT=3", thanksgiving, NEW_YORK)
    assert recurrence is not None
    assert graph_occurrence_starts(recurrence, thanksgiving, NEW_YORK, datetime(2040, 1, 1, tzinfo=UTC)) == [
        local(NEW_YORK, 2030, 11, 28, 12), local(NEW_YORK, 2031, 11, 27, 12), local(NEW_YORK, 2032, 11, 25, 12)]


# -- each range type ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("rrule", "bounds"), [
    ("FREQ=WEEKLY;COUNT=10", {"type": "numbered", "numberOfOccurrences": 10}),
    ("FREQ=WEEKLY;UNTIL=20300430T080000Z", {"type": "endDate", "endDate": "2030-04-30"}),
    # 07:59Z is 09:59 in Berlin that day, after the 09:00 occurrence: that one is still in
    ("FREQ=WEEKLY;UNTIL=20300430T075900Z", {"type": "endDate", "endDate": "2030-04-30"}),
    # 06:59Z is 08:59 in Berlin: the day's 09:00 occurrence would come after UNTIL, so the range ends a day earlier
    ("FREQ=WEEKLY;UNTIL=20300430T065900Z", {"type": "endDate", "endDate": "2030-04-29"}),
    ("FREQ=WEEKLY;UNTIL=20300430T090000", {"type": "endDate", "endDate": "2030-04-30"}),
    ("FREQ=WEEKLY;UNTIL=20300430", {"type": "endDate", "endDate": "2030-04-30"}),
    ("FREQ=WEEKLY", {"type": "noEnd"}),
], ids=["numbered", "until-utc", "until-later-that-day", "until-earlier-that-day", "until-floating", "until-date",
        "no-end"])
def test_each_range_type(rrule: str, bounds: dict[str, Any]) -> None:
    recurrence = graph_recurrence(rrule, TUESDAY, BERLIN)
    assert recurrence is not None
    assert recurrence["range"] == {**bounds, "startDate": "2030-03-12", "recurrenceTimeZone": BERLIN}
    horizon = datetime(2031, 1, 1, tzinfo=UTC)
    assert graph_occurrence_starts(recurrence, TUESDAY, BERLIN, horizon) == rrule_starts(rrule, TUESDAY, BERLIN,
                                                                                         horizon)


def test_the_range_of_an_until_before_the_first_start_is_not_expressible() -> None:
    assert graph_recurrence("FREQ=WEEKLY;UNTIL=20300312T075959Z", TUESDAY, BERLIN) is None
    # while an UNTIL at the first start itself keeps that one occurrence
    recurrence = graph_recurrence("FREQ=WEEKLY;UNTIL=20300312T080000Z", TUESDAY, BERLIN)
    assert recurrence is not None and recurrence["range"]["endDate"] == "2030-03-12"
    assert graph_occurrence_starts(recurrence, TUESDAY, BERLIN, datetime(2031, 1, 1, tzinfo=UTC)) == [TUESDAY]


# -- DST ----------------------------------------------------------------------------------------------------------

def test_a_weekly_nine_oclock_stays_nine_in_berlin_across_dst() -> None:
    first = local(BERLIN, 2030, 3, 25, 9)
    recurrence = graph_recurrence("FREQ=WEEKLY;COUNT=3", first, BERLIN)
    assert recurrence is not None
    assert graph_occurrence_starts(recurrence, first, BERLIN, datetime(2031, 1, 1, tzinfo=UTC)) == [
        datetime(2030, 3, 25, 8, tzinfo=UTC), datetime(2030, 4, 1, 7, tzinfo=UTC), datetime(2030, 4, 8, 7, tzinfo=UTC)]


def test_a_daily_one_thirty_in_new_york_across_the_fall_back() -> None:
    # given 01:30 every day from the day before New York falls back (01:30 happens twice on 3 November 2030)
    first = local(NEW_YORK, 2030, 11, 2, 1, 30)
    recurrence = graph_recurrence("FREQ=DAILY;COUNT=3", first, NEW_YORK)
    assert recurrence is not None
    # then the repeated 01:30 is its first showing, and the day after is 01:30 standard time
    assert graph_occurrence_starts(recurrence, first, NEW_YORK, datetime(2031, 1, 1, tzinfo=UTC)) == [
        datetime(2030, 11, 2, 5, 30, tzinfo=UTC), datetime(2030, 11, 3, 5, 30, tzinfo=UTC),
        datetime(2030, 11, 4, 6, 30, tzinfo=UTC)]


def test_a_start_in_the_second_showing_of_a_repeated_hour_is_not_expressible() -> None:
    second_showing = datetime(2030, 11, 3, 6, 30, tzinfo=UTC)  # 01:30 EST, after 01:30 EDT
    assert graph_recurrence("FREQ=DAILY;COUNT=3", second_showing, NEW_YORK) is None


def test_a_wall_time_in_the_spring_forward_gap_is_read_before_the_gap() -> None:
    # given 02:30 daily in New York from the day before the gap (10 March 2030 has no 02:30)
    first = local(NEW_YORK, 2030, 3, 9, 2, 30)
    recurrence = graph_recurrence("FREQ=DAILY;COUNT=3", first, NEW_YORK)
    assert recurrence is not None
    assert graph_occurrence_starts(recurrence, first, NEW_YORK, datetime(2031, 1, 1, tzinfo=UTC)) == [
        datetime(2030, 3, 9, 7, 30, tzinfo=UTC), datetime(2030, 3, 10, 7, 30, tzinfo=UTC),
        datetime(2030, 3, 11, 6, 30, tzinfo=UTC)]


# -- not expressible ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rrule", [
    "FREQ=HOURLY", "FREQ=MINUTELY", "FREQ=SECONDLY", "FREQ=DAILY;BYHOUR=9,17", "FREQ=DAILY;BYMINUTE=0,30",
    "FREQ=DAILY;BYSECOND=0", "FREQ=YEARLY;BYYEARDAY=71", "FREQ=YEARLY;BYWEEKNO=11;BYDAY=TU",
    "FREQ=MONTHLY;BYMONTHDAY=12;BYSETPOS=1", "FREQ=MONTHLY;BYMONTHDAY=12,26", "FREQ=MONTHLY;BYMONTHDAY=-20",
    "FREQ=MONTHLY;BYDAY=2TU,4TH", "FREQ=MONTHLY;BYDAY=2TU,2WE", "FREQ=MONTHLY;BYDAY=TU", "FREQ=MONTHLY;BYDAY=-3TU",
    "FREQ=MONTHLY;BYDAY=TU;BYSETPOS=2,4", "FREQ=MONTHLY;BYDAY=TU;BYSETPOS=-2", "FREQ=MONTHLY;BYDAY=2TU;BYSETPOS=1",
    "FREQ=MONTHLY;BYMONTH=3;BYDAY=2TU", "FREQ=YEARLY;BYMONTH=3,9", "FREQ=YEARLY;BYMONTHDAY=12",
    "FREQ=YEARLY;BYDAY=11TU", "FREQ=YEARLY;BYMONTH=3;BYDAY=TU", "FREQ=DAILY;INTERVAL=2;BYDAY=TU",
    "FREQ=DAILY;BYMONTHDAY=12", "FREQ=DAILY;BYMONTH=3", "FREQ=WEEKLY;BYDAY=MO,WE", "FREQ=WEEKLY;BYDAY=2TU",
    "FREQ=WEEKLY;BYMONTHDAY=12", "FREQ=WEEKLY;BYSETPOS=1;BYDAY=TU,WE", "FREQ=MONTHLY;BYDAY=3TU",
    "FREQ=WEEKLY;COUNT=3;UNTIL=20300430T080000Z", "FREQ=WEEKLY;INTERVAL=100", "FREQ=WEEKLY;COUNT=0",
    "FREQ=WEEKLY;INTERVAL=0", "FREQ=WEEKLY;INTERVAL=1,2", "FREQ=WEEKLY;COUNT=x", "FREQ=WEEKLY;WKST=XX", "",
    "COUNT=3", "FREQ=WEEKLY;FREQ=DAILY", "FREQ=WEEKLY;UNTIL=tomorrow", "FREQ=FORTNIGHTLY", "FREQ=WEEKLY;BYDAY=XX",
], ids=lambda rule: rule or "empty")
def test_what_graph_cannot_express_is_refused(rrule: str) -> None:
    assert graph_recurrence(rrule, TUESDAY, BERLIN) is None


@pytest.mark.parametrize(("rrule", "first"), [
    ("FREQ=MONTHLY", local(BERLIN, 2030, 1, 31, 9)), ("FREQ=MONTHLY;BYMONTHDAY=29", local(BERLIN, 2030, 1, 29, 9)),
    ("FREQ=MONTHLY;BYMONTHDAY=-1", local(BERLIN, 2030, 1, 31, 9)), ("FREQ=YEARLY", local(BERLIN, 2032, 2, 29, 9)),
    ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", local(BERLIN, 2032, 2, 29, 9)),
    ("FREQ=MONTHLY;BYDAY=5FR", local(BERLIN, 2030, 5, 31, 9)),
], ids=["31st", "29th", "last-day", "29-february", "29-february-explicit", "fifth-friday"])
def test_days_some_months_lack_are_refused(rrule: str, first: datetime) -> None:
    # Graph puts such a day on the month's last day; the RRULE skips the month
    assert graph_recurrence(rrule, first, BERLIN) is None


def test_the_yearly_30th_of_a_month_that_always_has_it_is_kept() -> None:
    first = local(BERLIN, 2030, 4, 30, 9)
    assert pattern_of("FREQ=YEARLY", first, BERLIN) == {
        "type": "absoluteYearly", "interval": 1, "month": 4, "dayOfMonth": 30}


def test_a_naive_first_start_is_an_error() -> None:
    with pytest.raises(ValueError):
        graph_recurrence("FREQ=WEEKLY", datetime(2030, 3, 12, 9), BERLIN)


# -- back to an RRULE ---------------------------------------------------------------------------------------------

def recurrence_of(pattern: dict[str, Any], bounds: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"pattern": pattern, "range": bounds or {"type": "noEnd", "startDate": "2030-01-31",
                                                    "recurrenceTimeZone": BERLIN}}


@pytest.mark.parametrize(("recurrence", "rrule"), [
    (recurrence_of({"type": "daily", "interval": 3}), "FREQ=DAILY;INTERVAL=3"),
    (recurrence_of({"type": "weekly", "interval": 1, "daysOfWeek": ["sunday", "monday"]}),
     "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,SU;WKST=SU"),
    (recurrence_of({"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["monday", "friday"], "index": "last"}),
     "FREQ=MONTHLY;INTERVAL=1;BYDAY=MO,FR;BYSETPOS=-1"),
    (recurrence_of({"type": "relativeYearly", "interval": 1, "month": 5, "daysOfWeek": ["monday"]}),
     "FREQ=YEARLY;INTERVAL=1;BYMONTH=5;BYDAY=1MO"),
    (recurrence_of({"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 30}),
     "FREQ=MONTHLY;INTERVAL=1;BYMONTHDAY=28,29,30;BYSETPOS=-1"),
    (recurrence_of({"type": "daily", "interval": 1}, {"type": "numbered", "numberOfOccurrences": 4}),
     "FREQ=DAILY;INTERVAL=1;COUNT=4"),
    (recurrence_of({"type": "daily", "interval": 1}, {"type": "endDate", "endDate": "2030-07-01",
                                                      "recurrenceTimeZone": "W. Europe Standard Time"}),
     "FREQ=DAILY;INTERVAL=1;UNTIL=20300701T215959Z"),
    (recurrence_of({"type": "daily", "interval": 1}, {"type": "endDate", "endDate": "2030-07-01"}),
     "FREQ=DAILY;INTERVAL=1;UNTIL=20300701T235959"),
], ids=["daily", "weekly-default-sunday", "relative-several-days", "relative-default-first", "day-30",
        "numbered", "end-date-windows-zone", "end-date-no-zone"])
def test_rrule_of_graph(recurrence: dict[str, Any], rrule: str) -> None:
    assert rrule_of_graph(recurrence) == rrule


def test_a_31st_falls_on_the_last_day_of_shorter_months() -> None:
    first = local(BERLIN, 2030, 1, 31, 9)
    recurrence = recurrence_of({"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 31},
                               {"type": "numbered", "numberOfOccurrences": 4})
    assert [start.date() for start in graph_occurrence_starts(recurrence, first, BERLIN,
                                                              datetime(2031, 1, 1, tzinfo=UTC))] == [
        date(2030, 1, 31), date(2030, 2, 28), date(2030, 3, 31), date(2030, 4, 30)]


def test_occurrences_stop_at_until_inclusive_and_skip_an_unmatched_first_start() -> None:
    recurrence = recurrence_of({"type": "weekly", "interval": 1, "daysOfWeek": ["wednesday"],
                                "firstDayOfWeek": "monday"})
    # given a Tuesday first start that the pattern does not match: Graph starts on the Wednesday
    assert graph_occurrence_starts(recurrence, TUESDAY, BERLIN, TUESDAY + timedelta(days=8)) == [
        TUESDAY + timedelta(days=1), TUESDAY + timedelta(days=8)]
    assert graph_occurrence_starts(recurrence, TUESDAY, BERLIN, TUESDAY - timedelta(days=1)) == []


@pytest.mark.parametrize("recurrence", [
    {}, {"pattern": {"type": "daily"}}, recurrence_of({"type": "hourly", "interval": 1}),
    recurrence_of({"type": "daily", "interval": 0}), recurrence_of({"type": "weekly", "interval": 1}),
    recurrence_of({"type": "weekly", "interval": 1, "daysOfWeek": ["funday"]}),
    recurrence_of({"type": "weekly", "interval": 1, "daysOfWeek": ["monday"], "firstDayOfWeek": "x"}),
    recurrence_of({"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 32}),
    recurrence_of({"type": "absoluteYearly", "interval": 1, "month": 13, "dayOfMonth": 1}),
    recurrence_of({"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["monday"], "index": "fifth"}),
    recurrence_of({"type": "daily", "interval": 1}, {"type": "numbered", "numberOfOccurrences": 0}),
    recurrence_of({"type": "daily", "interval": 1}, {"type": "endDate", "endDate": "soon"}),
    recurrence_of({"type": "daily", "interval": 1}, {"type": "forever"}),
], ids=["empty", "no-range", "hourly", "interval-0", "weekly-no-days", "bad-day", "bad-first-day", "day-32",
        "month-13", "fifth", "count-0", "bad-end-date", "bad-range"])
def test_an_unreadable_recurrence_says_so(recurrence: dict[str, Any]) -> None:
    with pytest.raises(UnreadableGraphRecurrence):
        rrule_of_graph(recurrence)


# -- properties ---------------------------------------------------------------------------------------------------

def nth_of_month(day: date, weekdays: set[int]) -> tuple[int, bool]:
    """Which of the month's days on `weekdays` `day` is (1-based), and whether it is the last of them."""
    matching = [d for d in range(1, calendar.monthrange(day.year, day.month)[1] + 1)
                if date(day.year, day.month, d).weekday() in weekdays]
    return matching.index(day.day) + 1, matching[-1] == day.day


@st.composite
def expressible_rules(draw: st.DrawFn) -> tuple[str, datetime, str]:
    zone = draw(st.sampled_from(ZONES))
    day = draw(st.dates(date(2029, 1, 1), date(2032, 12, 31)))
    clock = draw(st.times(time(0), time(23, 45))).replace(second=0, microsecond=0)
    first = to_utc(datetime.combine(day, clock), load_zone(zone))
    wall = local_wall(first, load_zone(zone))
    weekday = wall.weekday()
    kind = draw(st.sampled_from(["daily", "daily-weekdays", "weekly", "absolute-monthly", "relative-monthly",
                                 "absolute-yearly", "relative-yearly"]))
    interval = draw(st.integers(1, 4))
    days = draw(st.sets(st.integers(0, 6))) | {weekday}
    day_list = ",".join(CODES[d] for d in sorted(days))
    month_day = min(wall.day, 28)
    if kind in {"absolute-monthly", "absolute-yearly"} and wall.day != month_day:
        wall -= timedelta(days=wall.day - month_day)
        first = to_utc(wall, load_zone(zone))
        wall = local_wall(first, load_zone(zone))
    parts = {"daily": [f"FREQ=DAILY;INTERVAL={interval}"], "daily-weekdays": [f"FREQ=DAILY;BYDAY={day_list}"],
             "weekly": [f"FREQ=WEEKLY;INTERVAL={interval}", f"FREQ=WEEKLY;INTERVAL={interval};BYDAY={day_list}"
                        + draw(st.sampled_from(["", ";WKST=SU", ";WKST=MO", ";WKST=TH"]))],
             "absolute-monthly": [f"FREQ=MONTHLY;INTERVAL={interval}",
                                  f"FREQ=MONTHLY;INTERVAL={interval};BYMONTHDAY={wall.day}"],
             "absolute-yearly": [f"FREQ=YEARLY;INTERVAL={interval}",
                                 f"FREQ=YEARLY;INTERVAL={interval};BYMONTH={wall.month};BYMONTHDAY={wall.day}"]}
    if kind in parts:
        rule = draw(st.sampled_from(parts[kind]))
    else:
        several = draw(st.booleans())
        chosen = days if several else {weekday}
        position, last = nth_of_month(wall.date(), chosen)
        if position > 4 and not last:  # a fifth that is not the last has no index: take the weekday alone
            chosen = {weekday}
            position, last = nth_of_month(wall.date(), chosen)
        index = -1 if last and (position > 4 or draw(st.booleans())) else position
        if len(chosen) == 1 and draw(st.booleans()):
            by_day = f"BYDAY={index}{CODES[weekday]}"
        else:
            by_day = f"BYDAY={','.join(CODES[d] for d in sorted(chosen))};BYSETPOS={index}"
        frequency = "MONTHLY" if kind == "relative-monthly" else f"YEARLY;BYMONTH={wall.month}"
        rule = f"FREQ={frequency};INTERVAL={interval};{by_day}"
    ending = draw(st.sampled_from(["none", "count", "until-utc", "until-floating", "until-date"]))
    after = first + timedelta(hours=draw(st.integers(0, 24 * 900)), minutes=draw(st.sampled_from([0, 15, 59])))
    ends = {"none": "", "count": f";COUNT={draw(st.integers(1, 40))}", "until-utc": f";UNTIL={after:%Y%m%dT%H%M%SZ}",
            "until-floating": f";UNTIL={local_wall(after, load_zone(zone)):%Y%m%dT%H%M%S}",
            "until-date": f";UNTIL={local_wall(after, load_zone(zone)):%Y%m%d}"}
    return rule + ends[ending], first, zone


@settings(max_examples=400, deadline=None)
@given(case=expressible_rules())
def test_an_expressible_rule_has_the_same_occurrences_on_graph(case: tuple[str, datetime, str]) -> None:
    rrule, first, zone = case
    # given a rule that Graph can express, from a first start it matches
    recurrence = graph_recurrence(rrule, first, zone)
    # then it is translated, and the Graph recurrence has exactly the rule's occurrences
    assert recurrence is not None, rrule
    horizon = first + timedelta(days=4 * 366)
    expected = rrule_starts(rrule, first, zone, horizon)
    assert expected[0] == first
    assert graph_occurrence_starts(recurrence, first, zone, horizon) == expected


@st.composite
def any_rules(draw: st.DrawFn) -> str:
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY", "HOURLY"]))
    parts = [f"FREQ={freq}"]
    if draw(st.booleans()):
        parts.append(f"INTERVAL={draw(st.integers(1, 3))}")
    if draw(st.booleans()):
        ordinals = st.sampled_from(["", "", "1", "2", "4", "5", "-1", "-2"])
        days = draw(st.lists(st.tuples(ordinals, st.sampled_from(CODES)), min_size=1, max_size=3,
                             unique_by=lambda pair: pair[1]))
        parts.append("BYDAY=" + ",".join(ordinal + code for ordinal, code in days))
    if draw(st.integers(0, 3)) == 0:
        values = draw(st.lists(st.sampled_from([1, 2, 15, 28, 29, 30, 31, -1, -2]), min_size=1, max_size=2,
                               unique=True))
        parts.append("BYMONTHDAY=" + ",".join(map(str, values)))
    if draw(st.integers(0, 3)) == 0:
        parts.append("BYMONTH=" + ",".join(map(str, draw(st.lists(st.integers(1, 12), min_size=1, max_size=2,
                                                                       unique=True)))))
    if draw(st.integers(0, 3)) == 0:
        parts.append("BYSETPOS=" + ",".join(map(str, draw(st.lists(st.sampled_from([1, 2, 3, 4, 5, -1, -2]),
                                                                    min_size=1, max_size=2, unique=True)))))
    if draw(st.integers(0, 4)) == 0:
        parts.append(f"WKST={draw(st.sampled_from(CODES))}")
    ending = draw(st.sampled_from(["", "COUNT=12", "UNTIL=20310315T083000Z", "UNTIL=20300901"]))
    return ";".join([*parts, ending] if ending else parts)


@settings(max_examples=600, deadline=None)
@given(rrule=any_rules(), zone=st.sampled_from(ZONES),
       first=st.datetimes(datetime(2030, 1, 1), datetime(2030, 12, 31)).map(
           lambda moment: moment.replace(second=0, microsecond=0, tzinfo=UTC)))
def test_any_rule_is_translated_exactly_or_not_at_all(rrule: str, zone: str, first: datetime) -> None:
    recurrence = graph_recurrence(rrule, first, zone)
    if recurrence is None:
        return
    horizon = first + timedelta(days=3 * 366)
    expected = rrule_starts(rrule, first, zone, horizon)
    assert expected[:1] == [first], rrule
    assert graph_occurrence_starts(recurrence, first, zone, horizon) == expected, rrule
