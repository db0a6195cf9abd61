"""The iCalendar Lockstep writes, read back: every instant survives the trip, the hour clocks repeat included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, strategies as st

from domain.intervals import Span
from domain.own_events import OwnEvent, read_own_event
from domain.sync import event_marker, series_marker
from providers.base import MovedOccurrence, OutgoingEvent
from providers.ical import outgoing_to_ical

BERLIN = "Europe/Berlin"
STAMP = datetime(2030, 1, 1, tzinfo=UTC)
WINDOW = Span(datetime(2030, 1, 1, tzinfo=UTC), datetime(2031, 1, 1, tzinfo=UTC))
HOUR = timedelta(hours=1)
# Berlin falls back on 2030-10-27 at 03:00 CEST: 02:30 local happens at 00:30Z and again at 01:30Z.
FIRST_0230 = datetime(2030, 10, 27, 0, 30, tzinfo=UTC)
SECOND_0230 = datetime(2030, 10, 27, 1, 30, tzinfo=UTC)


def single(start: datetime, length: timedelta = HOUR) -> str:
    return outgoing_to_ical(OutgoingEvent(event_marker(3), "Haircut", "", start, start + length, BERLIN), STAMP)


def test_an_ordinary_time_is_written_in_the_staff_zone() -> None:
    text = single(datetime(2030, 6, 3, 8, tzinfo=UTC))
    assert "DTSTART;TZID=Europe/Berlin:20300603T100000" in text
    assert "BEGIN:VTIMEZONE" in text


def test_the_second_of_two_equal_local_times_is_written_in_utc_and_reads_back_exactly() -> None:
    # given a booking at the second 02:30 of the night clocks fall back
    text = single(SECOND_0230)
    # then it is written in UTC (a TZID time could not say which 02:30), and reads back as the same instant
    assert "DTSTART:20301027T013000Z" in text
    assert read_own_event(text, WINDOW, BERLIN) == OwnEvent("booking", 3, {SECOND_0230: Span(SECOND_0230,
                                                                                               SECOND_0230 + HOUR)})


def test_the_first_of_two_equal_local_times_reads_back_exactly() -> None:
    text = single(FIRST_0230, timedelta(minutes=30))
    assert read_own_event(text, WINDOW, BERLIN) == OwnEvent(
        "booking", 3, {FIRST_0230: Span(FIRST_0230, FIRST_0230 + timedelta(minutes=30))})


def test_a_series_occurrence_moved_into_the_repeated_hour_reads_back_exactly() -> None:
    # given a weekly series at 10:00 Berlin whose third occurrence moved to the second 02:30
    first = datetime(2030, 10, 13, 8, tzinfo=UTC)
    third = datetime(2030, 10, 27, 9, tzinfo=UTC)  # 10:00 CET, after the change
    event = OutgoingEvent(series_marker(5), "Lesson", "", first, first + HOUR, BERLIN, rrule="FREQ=WEEKLY;COUNT=3",
                          moved=(MovedOccurrence(third, SECOND_0230, SECOND_0230 + HOUR),))
    # when it is read back
    found = read_own_event(outgoing_to_ical(event, STAMP), WINDOW, BERLIN)
    # then the series keeps 10:00 local across the change, and the moved one is at the UTC instant written
    assert found == OwnEvent("series", 5, {
        first: Span(first, first + HOUR),
        first + timedelta(days=7): Span(first + timedelta(days=7), first + timedelta(days=7, hours=1)),
        third: Span(SECOND_0230, SECOND_0230 + HOUR),
    })


@given(st.datetimes(min_value=datetime(2030, 1, 1), max_value=datetime(2030, 12, 30)),
       st.integers(min_value=1, max_value=600))
def test_every_instant_reads_back_as_written(start: datetime, minutes: int) -> None:
    begins = start.replace(second=0, microsecond=0, tzinfo=UTC)
    length = timedelta(minutes=minutes)
    found = read_own_event(single(begins, length), WINDOW, BERLIN)
    assert found == OwnEvent("booking", 3, {begins: Span(begins, begins + length)})
