"""Calendar feeds in the domain: each booking an entry with the UID and SEQUENCE of its invitation mail, a series
as invitations write it (RRULE, EXDATEs for what the feed does not show, instances for what moved or reads
differently), cancelled bookings left out, and the same bookings always the same bytes (so an ETag of the bytes is
stable). Every feed is read by icalendar and by ical, which must agree, and expanded by two calendars."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings, strategies as st

from domain.calendar_feeds import (
    BookingText,
    FeedBooking,
    FeedSeries,
    FeedView,
    entry_text,
    feed_entries,
    feed_etag,
    feed_ics,
    none_match,
)
from domain.invitations import Invitation, invitation_ics
from domain.recurrence import occurrence_starts
from domain.zones import load_zone
from tests.support.feeds import Shown, read_feed, shown_occurrences

HOST = "book.example.com"
BERLIN = load_zone("Europe/Berlin")
CHANGED = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
TEXT = BookingText("Boiler check – Cleo Customer", "Customer: Cleo Customer\nFix-It", "Main Street 1, Berlin")
WEEKLY = "FREQ=WEEKLY;COUNT=4"


def berlin(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


def booking(booking_id: int, starts_at: datetime, *, minutes: int = 60, shown: bool = True, version: int = 1,
            text: BookingText = TEXT, zone: str = "Europe/Berlin", series_id: int | None = None,
            index: int | None = None) -> FeedBooking:
    return FeedBooking(id=booking_id, starts_at=starts_at, ends_at=starts_at + timedelta(minutes=minutes),
                       time_zone=zone, version=version, changed_at=CHANGED, text=text, shown=shown,
                       series_id=series_id, occurrence_index=index)


def weekly_series(series_id: int = 7, first: datetime | None = None) -> tuple[FeedSeries, list[FeedBooking]]:
    """A weekly series of four at 09:00 Berlin from Monday 23 March 2026 (across the spring change), all shown."""
    start = first or berlin(2026, 3, 23, 9)
    planned = occurrence_starts(WEEKLY, start, "Europe/Berlin")
    rows = [booking(20 + index, at, series_id=series_id, index=index) for index, at in enumerate(planned)]
    return FeedSeries(series_id, WEEKLY, "Europe/Berlin", start), rows


def written(bookings: list[FeedBooking], series: dict[int, FeedSeries] | None = None) -> bytes:
    return feed_ics("Sam Tech – Fix-It", feed_entries(bookings, series or {}, HOST))


WHOLE_YEAR = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


def test_a_booking_is_one_event_with_the_uid_and_sequence_of_its_invitation() -> None:
    # given one booking at its third version
    start = berlin(2026, 5, 4, 10)
    # when the feed is written
    data = written([booking(42, start, version=3)])
    # then it is a published calendar with the booking as its one event, read alike by both parsers
    feed = read_feed(data)
    assert feed.name == "Sam Tech – Fix-It"
    (event,) = feed.events
    assert (event.uid, event.sequence, event.status) == ("invitation-booking-42@book.example.com", 3, "CONFIRMED")
    assert (event.starts_at, event.ends_at, event.time_zone) == (start, start + timedelta(hours=1), "Europe/Berlin")
    assert (event.summary, event.description, event.location) == (TEXT.summary, TEXT.description, TEXT.location)
    assert (event.rrule, event.exdates, event.recurrence_id) == (None, (), None)
    # and its DTSTAMP is the booking's last change, not the time of writing
    assert b"DTSTAMP:20260301T080000Z\r\n" in data
    assert b"METHOD" not in data and b"REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in data


def test_a_booking_not_shown_is_left_out_and_an_empty_feed_is_still_a_calendar() -> None:
    data = written([booking(1, berlin(2026, 5, 4, 10), shown=False)])
    assert read_feed(data).events == ()
    assert shown_occurrences(data, *WHOLE_YEAR) == []


def test_the_same_bookings_give_the_same_bytes_in_any_order() -> None:
    rows = [booking(1, berlin(2026, 5, 4, 10)), booking(2, berlin(2026, 5, 5, 11), version=2),
            booking(3, berlin(2026, 5, 3, 9))]
    data = written(rows)
    assert written(list(reversed(rows))) == data
    assert feed_etag(written(rows)) == feed_etag(data)
    # and a new version of one booking changes the bytes and the tag
    assert feed_etag(written([rows[0], replace(rows[1], version=3), rows[2]])) != feed_etag(data)


def test_a_series_is_one_event_with_its_rule_across_the_spring_change() -> None:
    series, rows = weekly_series()
    data = written(rows, {7: series})
    (event,) = read_feed(data).events
    assert (event.uid, event.sequence) == ("invitation-series-7@book.example.com", 4)
    assert (event.rrule, event.exdates) == ("FREQ=WEEKLY;COUNT=4", ())
    # and every occurrence stays at 09:00 local, before and after the clocks change on 29 March
    assert [shown.starts_at for shown in shown_occurrences(data, *WHOLE_YEAR)] == [
        berlin(2026, 3, 23, 9), berlin(2026, 3, 30, 9), berlin(2026, 4, 6, 9), berlin(2026, 4, 13, 9)]
    assert berlin(2026, 3, 30, 9) == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)


def test_occurrences_not_shown_are_exdates_and_moved_ones_are_instances() -> None:
    # given a series whose second occurrence is cancelled (not shown) and whose fourth moved two hours later
    series, rows = weekly_series()
    rows[1] = replace(rows[1], shown=False, version=2)
    rows[3] = replace(rows[3], starts_at=rows[3].starts_at + timedelta(hours=2),
                      ends_at=rows[3].ends_at + timedelta(hours=2), version=2)
    # when the feed is written
    data = written(rows, {7: series})
    # then the series carries the cancelled one's planned start as an EXDATE, the moved one as its own instance
    master, moved = read_feed(data).events
    assert (master.exdates, master.sequence) == ((berlin(2026, 3, 30, 9),), 6)
    assert (moved.uid, moved.recurrence_id, moved.starts_at, moved.sequence) == (
        master.uid, berlin(2026, 4, 13, 9), berlin(2026, 4, 13, 11), 6)
    # and a calendar shows exactly the three shown occurrences, at their times
    assert shown_occurrences(data, *WHOLE_YEAR) == [
        Shown(master.uid, berlin(2026, 3, 23, 9), berlin(2026, 3, 23, 10), TEXT.summary),
        Shown(master.uid, berlin(2026, 4, 6, 9), berlin(2026, 4, 6, 10), TEXT.summary),
        Shown(master.uid, berlin(2026, 4, 13, 11), berlin(2026, 4, 13, 12), TEXT.summary)]


def test_an_occurrence_that_reads_differently_is_an_instance_with_its_own_text() -> None:
    # given a business feed's series whose third occurrence went to another staff member at the same time
    series, rows = weekly_series()
    other = entry_text(FeedView.BUSINESS, service="Boiler check", customer="Cleo", staff="Kim", business="Fix-It",
                       address="", business_phone="")
    sam = entry_text(FeedView.BUSINESS, service="Boiler check", customer="Cleo", staff="Sam", business="Fix-It",
                     address="", business_phone="")
    rows = [replace(row, text=other if row.occurrence_index == 2 else sam) for row in rows]
    data = written(rows, {7: series})
    master, instance = read_feed(data).events
    assert (master.summary, instance.summary) == ("Boiler check – Cleo (Sam)", "Boiler check – Cleo (Kim)")
    assert (instance.recurrence_id, instance.starts_at, instance.description) == (
        berlin(2026, 4, 6, 9), berlin(2026, 4, 6, 9), "Customer: Cleo\nStaff: Kim\nFix-It")
    assert [shown.summary for shown in shown_occurrences(data, *WHOLE_YEAR)] == [
        "Boiler check – Cleo (Sam)", "Boiler check – Cleo (Sam)", "Boiler check – Cleo (Kim)",
        "Boiler check – Cleo (Sam)"]


def test_a_series_with_nothing_shown_is_left_out_and_its_first_shown_occurrence_speaks_for_it() -> None:
    series, rows = weekly_series()
    assert written([replace(row, shown=False) for row in rows], {7: series}) == written([])
    # when the first occurrence is not shown, the series still starts at its first planned start, excluded
    rows[0] = replace(rows[0], shown=False, text=BookingText("other", "", ""))
    (event,) = read_feed(written(rows, {7: series})).events
    assert (event.starts_at, event.exdates, event.summary) == (berlin(2026, 3, 23, 9), (berlin(2026, 3, 23, 9),),
                                                               TEXT.summary)


def test_each_zone_used_has_one_vtimezone_covering_its_years() -> None:
    data = written([booking(1, berlin(2026, 12, 31, 10)), booking(2, berlin(2027, 1, 4, 10)),
                    booking(3, datetime(2026, 6, 1, 4, 30, tzinfo=UTC), zone="Asia/Kolkata")])
    assert data.count(b"BEGIN:VTIMEZONE") == 2
    assert [event.time_zone for event in read_feed(data).events] == ["Europe/Berlin", "Europe/Berlin",
                                                                     "Asia/Kolkata"]
    # Berlin's VTIMEZONE reaches into 2027: both parsers read the January booking through it
    assert b"DTSTART:20271031T030000" in data


def test_the_text_of_each_view() -> None:
    facts = {"service": "Boiler check", "customer": "Cleo Customer", "staff": "Sam Tech", "business": "Fix-It",
             "address": "Main Street 1", "business_phone": "+49 30 1234"}
    assert entry_text(FeedView.STAFF, **facts) == BookingText(
        "Boiler check – Cleo Customer", "Customer: Cleo Customer\nFix-It", "Main Street 1")
    assert entry_text(FeedView.BUSINESS, **facts) == BookingText(
        "Boiler check – Cleo Customer (Sam Tech)", "Customer: Cleo Customer\nStaff: Sam Tech\nFix-It",
        "Main Street 1")
    assert entry_text(FeedView.CUSTOMER, **facts) == BookingText(
        "Boiler check at Fix-It", "Boiler check with Sam Tech\nFix-It\nPhone: +49 30 1234", "Main Street 1")
    assert entry_text(FeedView.CUSTOMER, **{**facts, "business_phone": ""}).description == (
        "Boiler check with Sam Tech\nFix-It")


def test_text_with_commas_semicolons_and_line_ends_is_escaped() -> None:
    text = BookingText("Check; boiler, gas", "Line one\r\nLine two\\", "")
    (event,) = read_feed(written([booking(1, berlin(2026, 5, 4, 10), text=text)])).events
    assert (event.summary, event.description, event.location) == ("Check; boiler, gas", "Line one\nLine two\\",
                                                                   None)


def test_an_invitation_without_its_parties_is_no_itip_message() -> None:
    start = berlin(2026, 5, 4, 10)
    invitation = Invitation(uid="invitation-booking-1@book.example.com", sequence=1, method="REQUEST", summary="s",
                            description="", location="", starts_at=start, ends_at=start + timedelta(hours=1),
                            time_zone="Europe/Berlin", organizer=None, attendee=None, stamp=CHANGED)
    with pytest.raises(ValueError, match="names its organizer and its attendee"):
        invitation_ics(invitation)


def test_an_entity_tag_is_quoted_and_follows_the_bytes() -> None:
    assert feed_etag(b"abc") == '"ba7816bf8f01cfea414140de5dae2223"'
    assert feed_etag(b"abd") != feed_etag(b"abc")


@pytest.mark.parametrize(("header", "matches"), [
    ('"abc"', True), ('W/"abc"', True), ('"x", "abc"', True), ("*", True),
    ('"abd"', False), ("", False), ('"ab"', False), ("abc", False),
])
def test_if_none_match_is_compared_weakly(header: str, matches: bool) -> None:
    assert none_match(header, '"abc"') is matches


starts = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))
singles = st.lists(st.tuples(starts.map(lambda when: when.replace(second=0, microsecond=0)),
                             st.integers(min_value=5, max_value=600), st.booleans(), st.integers(1, 9)),
                   max_size=8)
zones = st.sampled_from(["Europe/Berlin", "America/Sao_Paulo", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"])


@settings(max_examples=40, deadline=None)
@given(singles, zones, st.randoms())
def test_a_feed_of_single_bookings_shows_exactly_the_shown_ones_whatever_their_order(
        rows: list[tuple[datetime, int, bool, int]], zone: str, shuffler: random.Random) -> None:
    bookings = [booking(index + 1, start, minutes=minutes, shown=shown, version=version, zone=zone)
                for index, (start, minutes, shown, version) in enumerate(rows)]
    data = written(bookings)
    shuffled = list(bookings)
    shuffler.shuffle(shuffled)
    assert written(shuffled) == data
    expected = sorted((Shown(f"invitation-booking-{row.id}@{HOST}", row.starts_at, row.ends_at, TEXT.summary)
                       for row in bookings if row.shown), key=lambda shown: (shown.starts_at, shown.uid))
    assert shown_occurrences(data, datetime(2025, 12, 1, tzinfo=UTC), datetime(2028, 2, 1, tzinfo=UTC)) == expected
    assert [event.sequence for event in read_feed(data).events] == [
        row.version for row in sorted((row for row in bookings if row.shown),
                                      key=lambda row: f"invitation-booking-{row.id}@{HOST}")]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["shown", "hidden", "moved", "other text"]), min_size=4, max_size=4),
       st.integers(min_value=-180, max_value=180).filter(lambda minutes: minutes != 0))
def test_a_calendar_shows_exactly_the_shown_occurrences_of_a_series(fates: list[str], shift: int) -> None:
    series, rows = weekly_series()
    other = BookingText("Boiler check – Cleo (Kim)", "Staff: Kim", "")
    changed = []
    for row, fate in zip(rows, fates, strict=True):
        if fate == "hidden":
            row = replace(row, shown=False)
        elif fate == "moved":
            row = replace(row, starts_at=row.starts_at + timedelta(minutes=shift),
                          ends_at=row.ends_at + timedelta(minutes=shift))
        elif fate == "other text":
            row = replace(row, text=other)
        changed.append(row)
    data = written(changed, {7: series})
    uid = f"invitation-series-7@{HOST}"
    speaker = next((row.text for row in changed if row.shown), TEXT)
    expected = sorted((Shown(uid, row.starts_at, row.ends_at, row.text.summary) for row in changed if row.shown),
                      key=lambda shown: (shown.starts_at, shown.uid))
    assert shown_occurrences(data, *WHOLE_YEAR) == expected
    events = read_feed(data).events
    assert all(event.sequence == 4 for event in events)
    assert [event.summary for event in events if event.recurrence_id is None] == ([speaker.summary] if expected
                                                                                    else [])
