"""One reading of CalDAV event times: the window's edges, single and recurring events alike, DURATION on a date."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings, strategies as st

from domain.busy import BusyPolicy, caldav_busy_spans
from domain.intervals import Span
from domain.own_events import read_own_event
from tests.domain.test_busy import event, ics

JANUARY = Span(datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 1, 31, tzinfo=UTC))
TOKYO = BusyPolicy(zone="Asia/Tokyo")
LOS_ANGELES = BusyPolicy(zone="America/Los_Angeles")


def spans(text: str, policy: BusyPolicy, window: Span = JANUARY) -> list[tuple[str, str, bool]]:
    return [(b.span.start.isoformat(), b.span.end.isoformat(), b.all_day)
            for b in caldav_busy_spans(text, window, policy)]


# -- the window's edges ---------------------------------------------------------------------------------------------

def test_a_recurring_all_day_event_on_the_last_local_day_of_the_window_is_kept_in_tokyo() -> None:
    # Given a daily all-day series whose January 31 begins (Tokyo midnight) 9 hours before the window ends
    text = ics(*event("DTSTART;VALUE=DATE:20300129", "DTEND;VALUE=DATE:20300130", "RRULE:FREQ=DAILY;COUNT=5"))
    # When it is read for a staff member in Asia/Tokyo
    # Then the 31st is there, from Tokyo midnight, and nothing that begins after the window ends
    assert spans(text, TOKYO) == [
        ("2030-01-28T15:00:00+00:00", "2030-01-29T15:00:00+00:00", True),
        ("2030-01-29T15:00:00+00:00", "2030-01-30T15:00:00+00:00", True),
        ("2030-01-30T15:00:00+00:00", "2030-01-31T15:00:00+00:00", True),
    ]


def test_a_recurring_all_day_event_on_the_first_local_day_is_kept_west_of_utc() -> None:
    # Given a daily all-day series whose December 31 ends (Los Angeles midnight) 8 hours into the window
    text = ics(*event("DTSTART;VALUE=DATE:20291230", "DTEND;VALUE=DATE:20291231", "RRULE:FREQ=DAILY;COUNT=3"))
    # Then December 31 is there (it overlaps the window's first 8 hours); December 30 is not
    assert spans(text, LOS_ANGELES) == [
        ("2029-12-31T08:00:00+00:00", "2030-01-01T08:00:00+00:00", True),
        ("2030-01-01T08:00:00+00:00", "2030-01-02T08:00:00+00:00", True),
    ]


def test_a_recurring_floating_time_near_the_window_end_is_kept() -> None:
    # Given a daily 05:00 floating meeting: on January 31 it is January 30 20:00 UTC in Tokyo, inside the window
    text = ics(*event("DTSTART:20300130T050000", "DTEND:20300130T060000", "RRULE:FREQ=DAILY;COUNT=3"))
    assert spans(text, TOKYO) == [
        ("2030-01-29T20:00:00+00:00", "2030-01-29T21:00:00+00:00", False),
        ("2030-01-30T20:00:00+00:00", "2030-01-30T21:00:00+00:00", False),
    ]


@settings(max_examples=60, deadline=None)
@given(zone=st.sampled_from(["Asia/Tokyo", "Pacific/Kiritimati", "America/Los_Angeles", "Pacific/Pago_Pago",
                             "Europe/Berlin", "UTC"]),
       first=st.integers(min_value=-5, max_value=28), hour=st.integers(min_value=0, max_value=23),
       all_day=st.booleans())
def test_widening_never_loses_an_occurrence_inside_the_window(zone: str, first: int, hour: int,
                                                              all_day: bool) -> None:
    # Given a daily series of 10, all-day or floating, around the window's start or end
    start_day = date(2030, 1, 1) + timedelta(days=first)
    lines: tuple[str, ...]
    if all_day:
        lines = (f"DTSTART;VALUE=DATE:{start_day:%Y%m%d}",)
    else:
        lines = (f"DTSTART:{start_day:%Y%m%d}T{hour:02d}0000", "DURATION:PT1H")
    text = ics(*event(*lines, "RRULE:FREQ=DAILY;COUNT=10"))
    policy = BusyPolicy(zone=zone)
    # When it is read for the window, and for a window so wide that no edge is near
    wide = Span(JANUARY.start - timedelta(days=30), JANUARY.end + timedelta(days=30))
    everything = caldav_busy_spans(text, wide, policy)
    # Then the window's reading is exactly the occurrences that overlap it
    expected = [b for b in everything if b.span.start < JANUARY.end and JANUARY.start < b.span.end]
    assert caldav_busy_spans(text, JANUARY, policy) == expected


# -- single and recurring events read alike -------------------------------------------------------------------------

def test_x_wr_timezone_places_floating_times_of_single_and_recurring_events_alike() -> None:
    # Given a calendar that says it was written in New York, with a floating 09:00 event, alone and as a series
    declared = "X-WR-TIMEZONE:America/New_York"
    single = ics(declared, *event("DTSTART:20300107T090000", "DTEND:20300107T100000"))
    series = ics(declared, *event("DTSTART:20300107T090000", "DTEND:20300107T100000", "RRULE:FREQ=DAILY;COUNT=1"))
    # When both are read for a staff member in Tokyo
    # Then both are 09:00 New York time
    expected = [("2030-01-07T14:00:00+00:00", "2030-01-07T15:00:00+00:00", False)]
    assert spans(single, TOKYO) == expected
    assert spans(series, TOKYO) == expected


def test_x_wr_timezone_that_is_not_a_zone_leaves_floating_times_in_the_staff_zone() -> None:
    text = ics("X-WR-TIMEZONE:Mars/Olympus", *event("DTSTART:20300107T090000", "DTEND:20300107T100000"))
    assert spans(text, TOKYO) == [("2030-01-07T00:00:00+00:00", "2030-01-07T01:00:00+00:00", False)]


def test_an_end_before_the_start_is_the_span_between_them_on_both_paths() -> None:
    single = ics(*event("DTSTART:20300107T100000Z", "DTEND:20300107T090000Z"))
    series = ics(*event("DTSTART:20300107T100000Z", "DTEND:20300107T090000Z", "RRULE:FREQ=DAILY;COUNT=1"))
    expected = [("2030-01-07T09:00:00+00:00", "2030-01-07T10:00:00+00:00", False)]
    assert spans(single, TOKYO) == expected
    assert spans(series, TOKYO) == expected


# -- DURATION on a date ---------------------------------------------------------------------------------------------

def test_an_all_day_event_with_an_hour_duration_runs_from_local_midnight_for_that_long() -> None:
    # Given an all-day event lasting 10 hours, alone and as a series of two
    single = ics(*event("DTSTART;VALUE=DATE:20300107", "DURATION:PT10H"))
    series = ics(*event("DTSTART;VALUE=DATE:20300107", "DURATION:PT10H", "RRULE:FREQ=DAILY;COUNT=2"))
    # Then it blocks Tokyo midnight to 10:00, and it is not all-day (it does not fill the day)
    assert spans(single, TOKYO) == [("2030-01-06T15:00:00+00:00", "2030-01-07T01:00:00+00:00", False)]
    assert spans(series, TOKYO) == [("2030-01-06T15:00:00+00:00", "2030-01-07T01:00:00+00:00", False),
                                    ("2030-01-07T15:00:00+00:00", "2030-01-08T01:00:00+00:00", False)]


def test_a_duration_of_days_on_a_date_runs_to_local_midnight_across_dst() -> None:
    # Given a two-day all-day event over Berlin's spring-forward night
    text = ics(*event("DTSTART;VALUE=DATE:20300330", "DURATION:P2D"))
    # Then it runs from local midnight to local midnight (47 hours), and is all-day
    assert spans(text, BusyPolicy(zone="Europe/Berlin"), Span(datetime(2030, 3, 1, tzinfo=UTC),
                                                             datetime(2030, 4, 30, tzinfo=UTC))) == [
        ("2030-03-29T23:00:00+00:00", "2030-03-31T22:00:00+00:00", True)]


_VALUES = {
    "utc": ("DTSTART:20300107T{h:02d}0000Z", "DTEND:20300107T{e:02d}0000Z"),
    "zoned": ("DTSTART;TZID=Europe/Berlin:20300107T{h:02d}0000", "DTEND;TZID=Europe/Berlin:20300107T{e:02d}0000"),
    "floating": ("DTSTART:20300107T{h:02d}0000", "DTEND:20300107T{e:02d}0000"),
    "date": ("DTSTART;VALUE=DATE:20300107", "DTEND;VALUE=DATE:2030010{d}"),
}


@settings(max_examples=120, deadline=None)
@given(kind=st.sampled_from(sorted(_VALUES)), hour=st.integers(min_value=0, max_value=23),
       end=st.sampled_from(["dtend", "dtend-before", "duration-hours", "duration-days", "none"]),
       length=st.integers(min_value=1, max_value=30), declared=st.sampled_from(["", "America/New_York"]),
       zone=st.sampled_from(["Asia/Tokyo", "America/Los_Angeles", "UTC"]))
def test_a_single_event_and_a_series_of_one_are_read_alike(kind: str, hour: int, end: str, length: int,
                                                           declared: str, zone: str) -> None:
    # Given one event, written alone and written as a series of exactly one occurrence
    start_line, end_line = _VALUES[kind]
    end_hour = min(hour + 1, 23) if end != "dtend-before" else max(hour - 1, 0)
    lines = [start_line.format(h=hour)]
    if end in ("dtend", "dtend-before"):
        lines.append(end_line.format(e=end_hour, d=8 if end == "dtend" else 6))
    elif end == "duration-hours":
        lines.append(f"DURATION:PT{length}H")
    elif end == "duration-days":
        lines.append(f"DURATION:P{length % 3 + 1}D")
    head = [f"X-WR-TIMEZONE:{declared}"] if declared else []
    single, series = ics(*head, *event(*lines)), ics(*head, *event(*lines, "RRULE:FREQ=DAILY;COUNT=1"))
    # When both are read
    # Then they take the same time, both all-day or neither
    assert spans(series, BusyPolicy(zone=zone)) == spans(single, BusyPolicy(zone=zone))


def test_own_events_are_read_with_the_same_rules() -> None:
    # Given one of Lockstep's events with floating times in a calendar that declares New York
    text = ics("X-WR-TIMEZONE:America/New_York",
               *event("DTSTART:20300107T090000", "DTEND:20300107T100000", uid="booking-7@lockstep"))
    # Then the own event is where the busy reading would put it
    own = read_own_event(text, JANUARY, "Asia/Tokyo")
    assert own is not None
    assert list(own.occurrences.values()) == [Span(datetime(2030, 1, 7, 14, tzinfo=UTC),
                                                   datetime(2030, 1, 7, 15, tzinfo=UTC))]
