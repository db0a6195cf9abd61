"""CalDAV busy semantics, one rule per example, plus a property over recurring events in many zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from domain.busy import BusyPolicy, UnreadableCalendarData, caldav_busy_spans
from domain.intervals import Span

WINDOW = Span(datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 12, 31, tzinfo=UTC))
BERLIN = BusyPolicy(zone="Europe/Berlin", own_addresses=frozenset({"sam@example.com"}))


def ics(*lines: str) -> str:
    return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", *lines, "END:VCALENDAR", ""])


def event(*lines: str, uid: str = "e1@example.com") -> list[str]:
    return ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20291201T000000Z", *lines, "END:VEVENT"]


def starts(text: str, policy: BusyPolicy = BERLIN) -> list[tuple[str, str]]:
    return [(b.span.start.isoformat(), b.span.end.isoformat()) for b in caldav_busy_spans(text, WINDOW, policy)]


def test_recurring_event_with_exdate_and_a_moved_occurrence() -> None:
    text = ics(*event("DTSTART;TZID=Europe/Berlin:20300107T090000", "DTEND;TZID=Europe/Berlin:20300107T100000",
                      "RRULE:FREQ=DAILY;COUNT=4", "EXDATE;TZID=Europe/Berlin:20300108T090000", "SUMMARY:Standup"),
               *event("RECURRENCE-ID;TZID=Europe/Berlin:20300109T090000",
                      "DTSTART;TZID=Europe/Berlin:20300109T140000", "DTEND;TZID=Europe/Berlin:20300109T150000",
                      "SUMMARY:Standup (moved)"))
    assert starts(text) == [
        ("2030-01-07T08:00:00+00:00", "2030-01-07T09:00:00+00:00"),
        ("2030-01-09T13:00:00+00:00", "2030-01-09T14:00:00+00:00"),
        ("2030-01-10T08:00:00+00:00", "2030-01-10T09:00:00+00:00"),
    ]
    keys = [b.occurrence_key for b in caldav_busy_spans(text, WINDOW, BERLIN)]
    assert keys == ["2030-01-07T09:00:00+01:00", "2030-01-09T09:00:00+01:00", "2030-01-10T09:00:00+01:00"]


def test_a_weekly_nine_oclock_stays_nine_local_across_dst() -> None:
    text = ics(*event("DTSTART;TZID=Europe/Berlin:20300318T090000", "DURATION:PT1H", "RRULE:FREQ=WEEKLY;COUNT=3"))
    assert [s for s, _ in starts(text)] == ["2030-03-18T08:00:00+00:00", "2030-03-25T08:00:00+00:00",
                                            "2030-04-01T07:00:00+00:00"]


def test_all_day_events_block_the_local_date_or_nothing() -> None:
    text = ics(*event("DTSTART;VALUE=DATE:20300107", "DTEND;VALUE=DATE:20300108", "SUMMARY:Off"))
    new_york = BusyPolicy(zone="America/New_York")
    assert starts(text, new_york) == [("2030-01-07T05:00:00+00:00", "2030-01-08T05:00:00+00:00")]
    assert starts(text, BusyPolicy(zone="America/New_York", all_day_blocks=False)) == []


def test_transparent_cancelled_and_declined_events_never_block() -> None:
    base = ("DTSTART:20300107T090000Z", "DTEND:20300107T100000Z")
    assert starts(ics(*event(*base, "TRANSP:TRANSPARENT"))) == []
    assert starts(ics(*event(*base, "STATUS:CANCELLED"))) == []
    assert starts(ics(*event(*base, "ATTENDEE;PARTSTAT=DECLINED:mailto:Sam@example.com"))) == []
    # someone else declining changes nothing
    assert len(starts(ics(*event(*base, "ATTENDEE;PARTSTAT=DECLINED:mailto:ann@example.com")))) == 1


def test_tentative_blocks_only_when_the_policy_says_so() -> None:
    base = ("DTSTART:20300107T090000Z", "DTEND:20300107T100000Z")
    for extra in ("STATUS:TENTATIVE", "ATTENDEE;PARTSTAT=TENTATIVE:mailto:sam@example.com",
                  "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:sam@example.com"):
        text = ics(*event(*base, extra))
        assert starts(text) == [], extra
        blocking = BusyPolicy(zone="UTC", own_addresses=BERLIN.own_addresses, tentative_blocks=True)
        assert len(starts(text, blocking)) == 1, extra
        # and its block says it is tentative; an accepted one's does not
        assert [busy.tentative for busy in caldav_busy_spans(text, WINDOW, blocking)] == [True], extra
    accepted = ics(*event(*base, "ATTENDEE;PARTSTAT=ACCEPTED:mailto:sam@example.com"))
    assert [busy.tentative for busy in caldav_busy_spans(accepted, WINDOW, BERLIN)] == [False]


def test_floating_times_are_read_in_the_staff_zone() -> None:
    text = ics(*event("DTSTART:20300701T090000", "DTEND:20300701T093000"))
    assert starts(text) == [("2030-07-01T07:00:00+00:00", "2030-07-01T07:30:00+00:00")]


def test_lockstep_own_events_are_never_busy_blocks() -> None:
    text = ics(*event("DTSTART:20300107T090000Z", "DTEND:20300107T100000Z", uid="booking-7@lockstep"))
    assert starts(text) == []


def test_an_instant_without_end_takes_no_time_and_garbage_is_refused() -> None:
    assert starts(ics(*event("DTSTART:20300107T090000Z"))) == []
    with pytest.raises(UnreadableCalendarData):
        caldav_busy_spans("this is not iCalendar", WINDOW, BERLIN)


ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "America/Sao_Paulo", "UTC"]


@settings(max_examples=60, deadline=None)
@given(zone=st.sampled_from(ZONES), day=st.integers(0, 360), hour=st.integers(6, 20),
       count=st.integers(1, 20), freq=st.sampled_from(["DAILY", "WEEKLY"]))
def test_every_occurrence_keeps_its_local_wall_time(zone: str, day: int, hour: int, count: int, freq: str) -> None:
    first = datetime(2030, 1, 1, hour) + timedelta(days=day)
    stamp = first.strftime("%Y%m%dT%H%M%S")
    text = ics(*event(f"DTSTART;TZID={zone}:{stamp}", "DURATION:PT45M", f"RRULE:FREQ={freq};COUNT={count}"))
    window = Span(datetime(2029, 12, 1, tzinfo=UTC), datetime(2032, 1, 1, tzinfo=UTC))
    spans = caldav_busy_spans(text, window, BusyPolicy(zone=zone))
    assert len(spans) == count
    local = ZoneInfo(zone)
    assert {b.span.start.astimezone(local).strftime("%H:%M") for b in spans} == {first.strftime("%H:%M")}
    assert all(b.span.end - b.span.start == timedelta(minutes=45) for b in spans)


def test_control_characters_in_an_imported_title_become_replacement_characters() -> None:
    # given an event whose title carries a NUL and an escape (PostgreSQL cannot store a NUL in text)
    text = ics(*event("DTSTART:20300107T090000Z", "DTEND:20300107T100000Z", "SUMMARY:Den\x00tist\x1b"))
    # then it still blocks its time, under a title that can be stored
    assert [block.title for block in caldav_busy_spans(text, WINDOW, BERLIN)] == ["Den\ufffdtist\ufffd"]
