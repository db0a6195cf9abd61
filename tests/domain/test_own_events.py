"""Lockstep's own events read back from a calendar, and the edits a staff member made to them, by example."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest

from domain.busy import UnreadableCalendarData
from domain.intervals import Span
from domain.own_events import CalendarEdit, EditKind, OwnEvent, calendar_edits, read_own_event
from domain.sync import event_marker, parse_marker, series_marker
from providers.base import MovedOccurrence, OutgoingEvent
from providers.ical import outgoing_to_ical

WINDOW = Span(datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 12, 31, tzinfo=UTC))
BERLIN = "Europe/Berlin"
STAMP = datetime(2029, 12, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2030, month, day, hour, minute, tzinfo=UTC)


def span(start: datetime, length: timedelta = HOUR) -> Span:
    return Span(start, start + length)


def booking_event(booking_id: int, start: datetime) -> str:
    return outgoing_to_ical(OutgoingEvent(event_marker(booking_id), "Haircut", "", start, start + HOUR, BERLIN), STAMP)


def weekly_series(series_id: int, first: datetime, count: int, *, exdates: tuple[datetime, ...] = (),
                  moved: tuple[MovedOccurrence, ...] = ()) -> str:
    return outgoing_to_ical(OutgoingEvent(series_marker(series_id), "Lesson", "", first, first + HOUR, BERLIN,
                                          rrule=f"FREQ=WEEKLY;COUNT={count}", exdates=exdates, moved=moved), STAMP)


def moved_by_hand(ical_text: str, start: datetime, end: datetime) -> str:
    """The staff member drags the (single) event in their app: only DTSTART and DTEND change."""
    calendar = icalendar.Calendar.from_ical(ical_text)
    for vevent in calendar.walk("VEVENT"):
        del vevent["DTSTART"], vevent["DTEND"]
        vevent.add("DTSTART", start)
        vevent.add("DTEND", end)
    return str(calendar.to_ical().decode())


def ics(*lines: str) -> str:
    return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", *lines, "END:VCALENDAR", ""])


def vevent(uid: str, *lines: str) -> list[str]:
    return ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20291201T000000Z", *lines, "END:VEVENT"]


# Markers ---------------------------------------------------------------------------------------------------------


def test_markers_name_a_booking_or_a_series_and_nothing_else() -> None:
    assert (event_marker(7), series_marker(7)) == ("booking-7@lockstep", "series-7@lockstep")
    assert parse_marker("booking-7@lockstep") == ("booking", 7)
    assert parse_marker("series-12@lockstep") == ("series", 12)
    for uid in ("booking-7@lockstep.example.com", "x-booking-7@lockstep", "booking-07@lockstep", "booking--7@lockstep",
                "booking-@lockstep", "meeting-7@lockstep", "booking-7@LOCKSTEP", "booking-٧@lockstep",
                "booking-7@lockstep\n", "e1@example.com", "", "booking-" + "9" * 40 + "@lockstep"):
        assert parse_marker(uid) is None, uid


# Single bookings ------------------------------------------------------------------------------------------------


def test_a_booking_written_by_lockstep_reads_back_as_written_and_is_no_edit() -> None:
    # given the event Lockstep wrote for booking 7 at 10:00Z
    text = booking_event(7, utc(1, 7, 10))
    # when it is read back
    found = read_own_event(text, WINDOW, BERLIN)
    # then it is booking 7 at exactly that span, and comparing it with the write finds nothing (no echo)
    assert found == OwnEvent("booking", 7, {utc(1, 7, 10): span(utc(1, 7, 10))})
    assert calendar_edits({utc(1, 7, 10): span(utc(1, 7, 10))}, found, WINDOW) == []


def test_a_booking_moved_by_hand_is_a_move_to_the_new_span() -> None:
    # given the staff member dragged booking 7 from 10:00Z to 14:00-15:30Z
    text = moved_by_hand(booking_event(7, utc(1, 7, 10)), utc(1, 7, 14), utc(1, 7, 15, 30))
    found = read_own_event(text, WINDOW, BERLIN)
    # then the one occurrence is where they put it, and the edit names the planned start
    assert found == OwnEvent("booking", 7, {utc(1, 7, 14): Span(utc(1, 7, 14), utc(1, 7, 15, 30))})
    assert calendar_edits({utc(1, 7, 10): span(utc(1, 7, 10))}, found, WINDOW) == [
        CalendarEdit(EditKind.MOVED, utc(1, 7, 10), span(utc(1, 7, 10)), Span(utc(1, 7, 14), utc(1, 7, 15, 30)))]


def test_a_booking_moved_out_of_the_window_is_still_a_move() -> None:
    text = moved_by_hand(booking_event(7, utc(1, 7, 10)), utc(1, 7, 10) + timedelta(days=400),
                         utc(1, 7, 11) + timedelta(days=400))
    edits = calendar_edits({utc(1, 7, 10): span(utc(1, 7, 10))}, read_own_event(text, WINDOW, BERLIN), WINDOW)
    assert [(e.kind, e.new_span) for e in edits] == [(EditKind.MOVED, span(utc(1, 7, 10) + timedelta(days=400)))]


def test_a_deleted_booking_event_is_a_deletion() -> None:
    # given the calendar no longer holds the event at all
    assert calendar_edits({utc(1, 7, 10): span(utc(1, 7, 10))}, None, WINDOW) == [
        CalendarEdit(EditKind.DELETED, utc(1, 7, 10), span(utc(1, 7, 10)))]


def test_a_booking_event_cancelled_in_the_calendar_app_is_a_deletion() -> None:
    text = ics(*vevent("booking-7@lockstep", "DTSTART:20300107T100000Z", "DTEND:20300107T110000Z",
                       "STATUS:CANCELLED"))
    found = read_own_event(text, WINDOW, BERLIN)
    assert found == OwnEvent("booking", 7, {})
    assert [e.kind for e in calendar_edits({utc(1, 7, 10): span(utc(1, 7, 10))}, found, WINDOW)] == [EditKind.DELETED]


def test_floating_times_are_read_on_the_staff_wall_clock() -> None:
    # given an app that rewrote the event in floating time, 11:00-12:00 on a Berlin clock (10:00-11:00Z in winter)
    text = ics(*vevent("booking-7@lockstep", "DTSTART:20300107T110000", "DTEND:20300107T120000"))
    found = read_own_event(text, WINDOW, BERLIN)
    assert found == OwnEvent("booking", 7, {utc(1, 7, 10): span(utc(1, 7, 10))})
    assert calendar_edits({utc(1, 7, 10): span(utc(1, 7, 10))}, found, WINDOW) == []
    # and the same text read for a staff member in New York is five hours later
    assert read_own_event(text, WINDOW, "America/New_York") == OwnEvent(
        "booking", 7, {utc(1, 7, 16): span(utc(1, 7, 16))})


# Series -----------------------------------------------------------------------------------------------------------


def test_a_series_with_one_occurrence_moved_and_one_deleted_by_hand() -> None:
    # given Lockstep wrote a weekly series of four at 10:00 Berlin (09:00Z) from 7 January
    planned = [utc(1, 7, 9) + timedelta(weeks=n) for n in range(4)]
    expected = {start: span(start) for start in planned}
    written = weekly_series(3, planned[0], 4)
    assert calendar_edits(expected, read_own_event(written, WINDOW, BERLIN), WINDOW) == []
    # when the staff member moves the second to 15:00 Berlin with a RECURRENCE-ID override and deletes the third
    text = ics(*vevent("series-3@lockstep", "DTSTART;TZID=Europe/Berlin:20300107T100000", "DURATION:PT1H",
                       "RRULE:FREQ=WEEKLY;COUNT=4", "EXDATE;TZID=Europe/Berlin:20300121T100000"),
               *vevent("series-3@lockstep", "RECURRENCE-ID;TZID=Europe/Berlin:20300114T100000",
                       "DTSTART;TZID=Europe/Berlin:20300114T150000", "DTEND;TZID=Europe/Berlin:20300114T160000"))
    found = read_own_event(text, WINDOW, BERLIN)
    # then each occurrence is keyed by its planned start, and the edits are exactly the move and the deletion
    assert found == OwnEvent("series", 3, {planned[0]: span(planned[0]), planned[1]: span(utc(1, 14, 14)),
                                           planned[3]: span(planned[3])})
    assert calendar_edits(expected, found, WINDOW) == [
        CalendarEdit(EditKind.MOVED, planned[1], span(planned[1]), span(utc(1, 14, 14))),
        CalendarEdit(EditKind.DELETED, planned[2], span(planned[2])),
    ]


def test_a_series_lockstep_wrote_with_its_own_exceptions_is_no_edit() -> None:
    # given Lockstep itself cancelled the second occurrence and moved the third
    planned = [utc(1, 7, 9) + timedelta(weeks=n) for n in range(4)]
    moved_to = span(utc(1, 21, 13))
    text = weekly_series(3, planned[0], 4, exdates=(planned[1],),
                         moved=(MovedOccurrence(planned[2], moved_to.start, moved_to.end),))
    expected = {planned[0]: span(planned[0]), planned[2]: moved_to, planned[3]: span(planned[3])}
    # then reading its own write back finds exactly that
    found = read_own_event(text, WINDOW, BERLIN)
    assert found is not None and dict(found.occurrences) == expected
    assert calendar_edits(expected, found, WINDOW) == []


def test_an_occurrence_cancelled_by_an_override_is_gone() -> None:
    text = ics(*vevent("series-3@lockstep", "DTSTART:20300107T090000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=2"),
               *vevent("series-3@lockstep", "RECURRENCE-ID:20300108T090000Z", "DTSTART:20300108T090000Z",
                       "DURATION:PT1H", "STATUS:CANCELLED"))
    found = read_own_event(text, WINDOW, BERLIN)
    assert found == OwnEvent("series", 3, {utc(1, 7, 9): span(utc(1, 7, 9))})


def test_an_occurrence_moved_out_of_the_window_is_a_move_not_a_deletion() -> None:
    window = Span(utc(1, 1, 0), utc(2, 1, 0))
    text = ics(*vevent("series-3@lockstep", "DTSTART:20300107T090000Z", "DURATION:PT1H", "RRULE:FREQ=WEEKLY;COUNT=2"),
               *vevent("series-3@lockstep", "RECURRENCE-ID:20300114T090000Z", "DTSTART:20300301T090000Z",
                       "DURATION:PT1H"))
    expected = {utc(1, 7, 9): span(utc(1, 7, 9)), utc(1, 14, 9): span(utc(1, 14, 9))}
    assert calendar_edits(expected, read_own_event(text, window, BERLIN), window) == [
        CalendarEdit(EditKind.MOVED, utc(1, 14, 9), span(utc(1, 14, 9)), span(utc(3, 1, 9)))]


def test_only_planned_occurrences_in_the_window_count_and_unplanned_ones_are_ignored() -> None:
    # given a calendar holding occurrences 1..3 plus one the staff member added (RDATE), read in January only
    window = Span(utc(1, 1, 0), utc(1, 15, 0))
    text = ics(*vevent("series-3@lockstep", "DTSTART:20300107T090000Z", "DURATION:PT1H", "RRULE:FREQ=WEEKLY;COUNT=3",
                       "RDATE:20300108T090000Z"))
    found = read_own_event(text, window, BERLIN)
    assert found is not None and sorted(found.occurrences) == [utc(1, 7, 9), utc(1, 8, 9), utc(1, 14, 9)]
    # when Lockstep expected 7, 14 and 21 January, the 21st (outside the window) is no deletion and the 8th no edit
    expected = {start: span(start) for start in (utc(1, 7, 9), utc(1, 14, 9), utc(1, 21, 9))}
    assert calendar_edits(expected, found, window) == []


def test_a_weekly_nine_oclock_series_across_the_march_change_is_not_an_edit() -> None:
    # given Lockstep planned 09:00 Berlin every week from 18 March 2030 (the clocks change on 31 March)
    planned = [utc(3, 18, 8), utc(3, 25, 8), utc(4, 1, 7), utc(4, 8, 7)]
    expected = {start: span(start) for start in planned}
    text = weekly_series(5, planned[0], 4)
    # when it is read back, then every occurrence is still at 09:00 local, i.e. one hour earlier in UTC after the change
    found = read_own_event(text, WINDOW, BERLIN)
    assert found == OwnEvent("series", 5, expected)
    assert calendar_edits(expected, found, WINDOW) == []


# Not ours ---------------------------------------------------------------------------------------------------------


def test_events_that_are_not_lockstep_s_are_none() -> None:
    base = ("DTSTART:20300107T090000Z", "DTEND:20300107T100000Z")
    assert read_own_event(ics(*vevent("e1@example.com", *base)), WINDOW, BERLIN) is None
    assert read_own_event(ics(*vevent("booking-7@lockstep.example.com", *base)), WINDOW, BERLIN) is None
    # one object mixing our UID with someone else's is not one of our events either
    mixed = ics(*vevent("booking-7@lockstep", *base), *vevent("e1@example.com", *base))
    assert read_own_event(mixed, WINDOW, BERLIN) is None
    assert read_own_event(ics(), WINDOW, BERLIN) is None
    with pytest.raises(UnreadableCalendarData):
        read_own_event("this is not iCalendar", WINDOW, BERLIN)
