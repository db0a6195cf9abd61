"""The ICS invitation: what a customer's calendar receives for a booking, read back by two independent parsers."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import icalendar
import pytest
from hypothesis import assume, given, settings, strategies as st

from domain.invitations import (
    Invitation,
    MovedOccurrence,
    Party,
    invitation_filename,
    invitation_ics,
    invitation_uid,
)
from domain.recurrence import occurrence_starts
from domain.sync import parse_marker
from domain.zones import load_zone, local_wall, to_utc
from tests.support.invitations import read_invitation

SALON = Party("Salon Süd", "hello@salon.example")
ANN = Party("Ann Lee", "ann@example.org")
STAMP = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def confirmation(**changes: object) -> Invitation:
    invitation = Invitation(
        uid=invitation_uid("booking", 42, "book.example.com"),
        sequence=1,
        method="REQUEST",
        summary="Haircut at Salon Süd",
        description="Haircut with Mia\nSalon Süd, +49 30 1234567",
        location="Hauptstraße 1, 10827 Berlin",
        starts_at=utc(2026, 6, 15, 8, 0),  # 10:00 CEST
        ends_at=utc(2026, 6, 15, 9, 0),
        time_zone="Europe/Berlin",
        organizer=SALON,
        attendee=ANN,
        stamp=STAMP,
    )
    return dataclasses.replace(invitation, **changes)  # type: ignore[arg-type]


def lines(data: bytes) -> list[str]:
    """The content lines, unfolded."""
    return data.decode().replace("\r\n ", "").split("\r\n")


def vtimezone_parts(data: bytes) -> list[tuple[str, str, str, str]]:
    """(kind, DTSTART, TZOFFSETFROM, TZOFFSETTO) of each part of the one VTIMEZONE, as written."""
    (timezone,) = icalendar.Calendar.from_ical(data).walk("VTIMEZONE")
    return [(str(part.name), _written_value(part, "DTSTART"), _written_value(part, "TZOFFSETFROM"),
             _written_value(part, "TZOFFSETTO")) for part in timezone.subcomponents]


def _written_value(part: icalendar.cal.Component, name: str) -> str:
    value = part[name].to_ical()
    return value.decode() if isinstance(value, bytes) else value


def test_a_confirmation_is_a_request_in_the_staff_members_zone() -> None:
    # given a confirmed booking at 10:00 in Berlin
    invitation = confirmation()
    # when it is written
    data = invitation_ics(invitation)
    # then it is an iTIP REQUEST whose times are Berlin wall times with a TZID
    written = lines(data)
    assert written[:4] == ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Lockstep//Invitations//EN", "METHOD:REQUEST"]
    assert "DTSTART;TZID=Europe/Berlin:20260615T100000" in written
    assert "DTEND;TZID=Europe/Berlin:20260615T110000" in written
    assert "DTSTAMP:20260601T120000Z" in written
    assert "UID:invitation-booking-42@book.example.com" in written
    assert "SEQUENCE:1" in written
    assert "STATUS:CONFIRMED" in written
    assert 'ORGANIZER;CN="Salon Süd":mailto:hello@salon.example' in written
    assert ('ATTENDEE;CN="Ann Lee";PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT;RSVP=FALSE:mailto:ann@example.org'
            in written)
    assert "LOCATION:Hauptstraße 1\\, 10827 Berlin" in written
    # and its VTIMEZONE has Berlin's real changes of 2026, each at the local time just before it
    assert vtimezone_parts(data) == [
        ("STANDARD", "20260101T000000", "+0100", "+0100"),
        ("DAYLIGHT", "20260329T020000", "+0100", "+0200"),
        ("STANDARD", "20261025T030000", "+0200", "+0100"),
    ]
    # and both parsers read the same booking from it
    read = read_invitation(data)
    assert (read.uid, read.sequence, read.method, read.status) == (invitation.uid, 1, "REQUEST", "CONFIRMED")
    assert (read.starts_at, read.ends_at, read.time_zone) == (utc(2026, 6, 15, 8), utc(2026, 6, 15, 9), "Europe/Berlin")
    assert (read.organizer_email, read.organizer_name) == ("hello@salon.example", "Salon Süd")
    assert (read.attendee_email, read.attendee_name) == ("ann@example.org", "Ann Lee")
    assert read.attendee_params == {"ROLE": "REQ-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION", "RSVP": "FALSE"}
    assert (read.summary, read.description, read.location) == (
        "Haircut at Salon Süd", "Haircut with Mia\nSalon Süd, +49 30 1234567", "Hauptstraße 1, 10827 Berlin")
    assert (read.rrule, read.exdates) == (None, ())
    assert invitation_filename(invitation) == "invite.ics"


def test_a_zone_without_dst_has_a_standard_part_only() -> None:
    # given a booking in Kolkata (no DST) and one in São Paulo (none since 2019)
    kolkata = invitation_ics(confirmation(time_zone="Asia/Kolkata"))
    sao_paulo = invitation_ics(confirmation(time_zone="America/Sao_Paulo"))
    # then each VTIMEZONE is one STANDARD part with the zone's one offset
    assert vtimezone_parts(kolkata) == [("STANDARD", "20260101T000000", "+0530", "+0530")]
    assert vtimezone_parts(sao_paulo) == [("STANDARD", "20260101T000000", "-0300", "-0300")]
    assert "DTSTART;TZID=Asia/Kolkata:20260615T133000" in lines(kolkata)
    assert "DTSTART;TZID=America/Sao_Paulo:20260615T050000" in lines(sao_paulo)
    assert read_invitation(kolkata).starts_at == read_invitation(sao_paulo).starts_at == utc(2026, 6, 15, 8)


def test_lord_howes_half_hour_changes_are_written_where_they_happen() -> None:
    # given a booking on Lord Howe Island, whose clocks move by 30 minutes
    data = invitation_ics(confirmation(time_zone="Australia/Lord_Howe"))
    # then the VTIMEZONE has summer time at New Year, the change back at 02:00 on 5 April, forward at 02:00 on 4 Oct
    assert vtimezone_parts(data) == [
        ("DAYLIGHT", "20260101T000000", "+1100", "+1100"),
        ("STANDARD", "20260405T020000", "+1100", "+1030"),
        ("DAYLIGHT", "20261004T020000", "+1030", "+1100"),
    ]
    assert "DTSTART;TZID=Australia/Lord_Howe:20260615T183000" in lines(data)


def test_the_second_reading_of_a_repeated_local_time_is_written_in_utc() -> None:
    # given two bookings at 01:45 on 5 April 2026 on Lord Howe, the first and the second time the clock shows it
    first = invitation_ics(confirmation(time_zone="Australia/Lord_Howe", starts_at=utc(2026, 4, 4, 14, 45),
                                        ends_at=utc(2026, 4, 4, 14, 55)))
    second = invitation_ics(confirmation(time_zone="Australia/Lord_Howe", starts_at=utc(2026, 4, 4, 15, 15),
                                         ends_at=utc(2026, 4, 4, 15, 25)))
    # then the first keeps its local time (a repeated local time means the first) and the second is in UTC
    assert "DTSTART;TZID=Australia/Lord_Howe:20260405T014500" in lines(first)
    assert "DTSTART:20260404T151500Z" in lines(second)
    assert read_invitation(first).starts_at == utc(2026, 4, 4, 14, 45)
    assert read_invitation(second).starts_at == utc(2026, 4, 4, 15, 15)


def test_a_reschedule_keeps_the_uid_and_raises_the_sequence() -> None:
    # given a confirmation sent at version 1
    sent = read_invitation(invitation_ics(confirmation()))
    # when the booking moves to 14:00 and its version becomes 2
    moved = read_invitation(invitation_ics(confirmation(sequence=2, starts_at=utc(2026, 6, 15, 12),
                                                        ends_at=utc(2026, 6, 15, 13), stamp=STAMP + timedelta(1))))
    # then the update names the same event, a later revision, at the new time
    assert moved.uid == sent.uid == "invitation-booking-42@book.example.com"
    assert (sent.sequence, moved.sequence) == (1, 2)
    assert (moved.method, moved.status) == ("REQUEST", "CONFIRMED")
    assert (moved.starts_at, moved.ends_at) == (utc(2026, 6, 15, 12), utc(2026, 6, 15, 13))


def test_a_cancel_is_method_cancel_and_status_cancelled() -> None:
    # given a booking confirmed at version 1 and cancelled at version 2
    invitation = confirmation(method="CANCEL", sequence=2)
    # when the cancellation is written
    data = invitation_ics(invitation)
    # then it cancels the same event, at a later revision
    assert "METHOD:CANCEL" in lines(data)
    assert "STATUS:CANCELLED" in lines(data)
    read = read_invitation(data)
    assert (read.uid, read.sequence, read.method, read.status) == (
        "invitation-booking-42@book.example.com", 2, "CANCEL", "CANCELLED")
    assert (read.starts_at, read.ends_at) == (utc(2026, 6, 15, 8), utc(2026, 6, 15, 9))
    assert invitation_filename(invitation) == "cancel.ics"


def test_a_series_carries_its_rrule_and_exdates_in_the_zone() -> None:
    # given a weekly 09:30 series in Berlin from 22 March (CET) whose 29 March and 5 April (CEST) are cancelled
    invitation = confirmation(uid=invitation_uid("series", 7, "book.example.com"), starts_at=utc(2026, 3, 22, 8, 30),
                              ends_at=utc(2026, 3, 22, 9, 15), rrule="FREQ=WEEKLY;UNTIL=20260420",
                              exdates=(utc(2026, 4, 5, 7, 30), utc(2026, 3, 29, 7, 30)))
    # when it is written
    data = invitation_ics(invitation)
    # then it is one event: local 09:30 repeated weekly, bounded in UTC, the cancelled ones excluded by local time
    written = lines(data)
    assert "DTSTART;TZID=Europe/Berlin:20260322T093000" in written
    assert "RRULE:FREQ=WEEKLY;UNTIL=20260419T073000Z" in written
    assert "EXDATE;TZID=Europe/Berlin:20260329T093000,20260405T093000" in written
    assert sum(line == "BEGIN:VEVENT" for line in written) == 1
    read = read_invitation(data)
    assert read.uid == "invitation-series-7@book.example.com"
    assert read.rrule == "FREQ=WEEKLY;UNTIL=20260419T073000Z"
    assert read.exdates == (utc(2026, 3, 29, 7, 30), utc(2026, 4, 5, 7, 30))
    assert (read.starts_at, read.ends_at) == (utc(2026, 3, 22, 8, 30), utc(2026, 3, 22, 9, 15))


def test_a_moved_occurrence_is_an_instance_of_the_series_at_its_planned_start() -> None:
    # given a weekly 09:30 Berlin series whose 29 March occurrence (CEST) moved to 14:00 on 30 March
    moved = MovedOccurrence(utc(2026, 3, 29, 7, 30), utc(2026, 3, 30, 12), utc(2026, 3, 30, 12, 45))
    invitation = confirmation(uid=invitation_uid("series", 7, "book.example.com"), sequence=4,
                              starts_at=utc(2026, 3, 22, 8, 30), ends_at=utc(2026, 3, 22, 9, 15),
                              rrule="FREQ=WEEKLY;COUNT=4", exdates=(utc(2026, 4, 5, 7, 30),), moved=(moved,))
    # when it is written
    data = invitation_ics(invitation)
    # then the series is one event and the moved occurrence a second VEVENT of its UID, at its planned local time
    written = lines(data)
    assert sum(line == "BEGIN:VEVENT" for line in written) == 2
    assert "RECURRENCE-ID;TZID=Europe/Berlin:20260329T093000" in written
    assert "DTSTART;TZID=Europe/Berlin:20260330T140000" in written
    read = read_invitation(data)
    assert read.moved == ((utc(2026, 3, 29, 7, 30), utc(2026, 3, 30, 12), utc(2026, 3, 30, 12, 45)),)
    assert read.exdates == (utc(2026, 4, 5, 7, 30),)
    assert (read.uid, read.sequence) == ("invitation-series-7@book.example.com", 4)


def test_a_count_series_across_new_year_covers_both_years() -> None:
    # given a monthly series in Sydney from December 2026 to February 2027
    data = invitation_ics(confirmation(time_zone="Australia/Sydney", starts_at=utc(2026, 12, 1, 23),
                                       ends_at=utc(2026, 12, 2, 0), rrule="FREQ=MONTHLY;COUNT=3"))
    # then its VTIMEZONE runs from the start of 2026 to the end of 2027
    parts = vtimezone_parts(data)
    assert parts[0] == ("DAYLIGHT", "20260101T000000", "+1100", "+1100")
    assert parts[-1] == ("DAYLIGHT", "20271003T020000", "+1000", "+1100")
    assert len(parts) == 5
    assert "RRULE:FREQ=MONTHLY;COUNT=3" in lines(data)
    assert read_invitation(data).starts_at == utc(2026, 12, 1, 23)


def test_text_with_commas_semicolons_newlines_and_non_ascii_survives() -> None:
    # given text full of iCalendar's special characters, several scripts and a long line
    summary = "Färben, Schneiden; \"Spezial\" — 髪のカット 💇"
    description = "Line one,\r\nline two; with \\ backslash\rline three\n" + "ß" * 80
    location = "Calle Mayor 5; 2º, Madrid"
    organizer = Party('Salon "Süd", Berlin; Mitte', "hello@salon.example")
    data = invitation_ics(confirmation(summary=summary, description=description, location=location,
                                       organizer=organizer))
    # then the escapes are RFC 5545's, the long line is folded, and both parsers read the text back
    written = lines(data)
    assert "SUMMARY:Färben\\, Schneiden\\; \"Spezial\" — 髪のカット 💇" in written
    assert "LOCATION:Calle Mayor 5\\; 2º\\, Madrid" in written
    assert any(line.startswith(b" ") for line in data.split(b"\r\n"))
    read = read_invitation(data)
    assert read.summary == summary
    assert read.description == "Line one,\nline two; with \\ backslash\nline three\n" + "ß" * 80
    assert read.location == location
    assert read.organizer_name == 'Salon "Süd", Berlin; Mitte'


def test_control_characters_are_not_written() -> None:
    # given a summary with a NUL and a bell
    data = invitation_ics(confirmation(summary="Cut\x00\x07"))
    # then they are replaced, never sent
    assert read_invitation(data).summary == "Cut\ufffd\ufffd"


def test_an_onset_written_after_the_change_is_caught_by_the_vtimezone_reading() -> None:
    # given an invitation whose VTIMEZONE puts the spring change at 03:00 (the wall time after it) instead of 02:00
    data = invitation_ics(confirmation(starts_at=utc(2026, 3, 29, 1, 30), ends_at=utc(2026, 3, 29, 2)))
    broken = data.replace(b"DTSTART:20260329T020000", b"DTSTART:20260329T030000")
    assert broken != data
    # then 03:30 cannot be read through that VTIMEZONE as the instant the zone's name gives
    assert read_invitation(data).starts_at == utc(2026, 3, 29, 1, 30)
    with pytest.raises(AssertionError, match="VTIMEZONE"):
        read_invitation(broken)


def test_invitation_uid_is_stable_and_not_a_calendar_marker() -> None:
    assert invitation_uid("booking", 42, "Book.Example.com.") == "invitation-booking-42@book.example.com"
    assert invitation_uid("booking", 42, "book.example.com") == invitation_uid("booking", 42, "book.example.com")
    assert invitation_uid("series", 42, "book.example.com") == "invitation-series-42@book.example.com"
    assert parse_marker(invitation_uid("booking", 42, "book.example.com")) is None


@pytest.mark.parametrize(("kind", "target_id", "host"), [
    ("event", 1, "book.example.com"), ("booking", -1, "book.example.com"), ("booking", True, "book.example.com"),
    ("booking", 1, ""), ("booking", 1, "book example.com"), ("booking", 1, "https://book.example.com"),
    ("booking", 1, "a@b"), ("booking", 1, "book\x00.example.com"),
])
def test_invitation_uid_refuses_what_cannot_be_one(kind: str, target_id: int, host: str) -> None:
    with pytest.raises(ValueError):
        invitation_uid(kind, target_id, host)


@pytest.mark.parametrize("changes", [
    {"method": "PUBLISH"},
    {"sequence": -1},
    {"starts_at": datetime(2026, 6, 15, 8)},
    {"stamp": datetime(2026, 6, 1)},
    {"ends_at": utc(2026, 6, 15, 8)},
    {"attendee": Party("Ann", "ann.example.org")},
    {"organizer": Party("Salon", "hello@salon.example\r\nBcc: x@y")},
    {"exdates": (utc(2026, 6, 22, 8),)},
    {"rrule": "FREQ=WEEKLY;COUNT=3", "exdates": (utc(2026, 6, 16, 8),)},
    {"uid": "two words"},
    {"moved": (MovedOccurrence(utc(2026, 6, 15, 8), utc(2026, 6, 15, 10), utc(2026, 6, 15, 11)),)},
    {"rrule": "FREQ=WEEKLY;COUNT=3",
     "moved": (MovedOccurrence(utc(2026, 6, 16, 8), utc(2026, 6, 16, 10), utc(2026, 6, 16, 11)),)},
    {"rrule": "FREQ=WEEKLY;COUNT=3", "exdates": (utc(2026, 6, 22, 8),),
     "moved": (MovedOccurrence(utc(2026, 6, 22, 8), utc(2026, 6, 22, 10), utc(2026, 6, 22, 11)),)},
    {"rrule": "FREQ=WEEKLY;COUNT=3",
     "moved": (MovedOccurrence(utc(2026, 6, 22, 8), utc(2026, 6, 22, 10), utc(2026, 6, 22, 10)),)},
    {"rrule": "FREQ=WEEKLY;COUNT=3",
     "moved": (MovedOccurrence(utc(2026, 6, 22, 8), utc(2026, 6, 22, 10), utc(2026, 6, 22, 11)),
               MovedOccurrence(utc(2026, 6, 22, 8), utc(2026, 6, 23, 10), utc(2026, 6, 23, 11)))},
])
def test_an_invitation_that_cannot_be_sent_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        invitation_ics(confirmation(**changes))


ZONES = ["Europe/Berlin", "Asia/Kolkata", "America/Sao_Paulo", "Australia/Lord_Howe", "America/New_York",
         "Pacific/Chatham", "Asia/Kathmandu", "Europe/Dublin", "UTC"]


@settings(max_examples=150, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2037, 12, 1), timezones=st.just(UTC)),
    minutes=st.integers(min_value=5, max_value=12 * 60),
    zone=st.sampled_from(ZONES),
    sequence=st.integers(min_value=0, max_value=2**31 - 1),
    method=st.sampled_from(["REQUEST", "CANCEL"]),
    booking_id=st.integers(min_value=1, max_value=10**12),
)
def test_any_invitation_reads_back_as_the_same_instants_uid_and_sequence(
        start: datetime, minutes: int, zone: str, sequence: int, method: str, booking_id: int) -> None:
    # given any booking in any of these zones, at any revision
    start = start.replace(second=0, microsecond=0)
    invitation = confirmation(uid=invitation_uid("booking", booking_id, "book.example.com"), sequence=sequence,
                              method=method, starts_at=start, ends_at=start + timedelta(minutes=minutes),
                              time_zone=zone)
    # when it is written and read back by both parsers (and through its VTIMEZONE)
    read = read_invitation(invitation_ics(invitation))
    # then they find the same event
    assert (read.uid, read.sequence, read.method) == (invitation.uid, sequence, method)
    assert (read.starts_at, read.ends_at) == (start, start + timedelta(minutes=minutes))
    assert read.status == ("CANCELLED" if method == "CANCEL" else "CONFIRMED")


@settings(max_examples=60, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 1), timezones=st.just(UTC)),
    zone=st.sampled_from(ZONES),
    rule=st.sampled_from(["FREQ=WEEKLY;COUNT=10", "FREQ=DAILY;INTERVAL=3;COUNT=20", "FREQ=MONTHLY;COUNT=14"]),
    cancelled=st.sets(st.integers(min_value=1, max_value=9), max_size=4),
    moves=st.dictionaries(st.integers(min_value=1, max_value=9), st.integers(min_value=-3000, max_value=3000),
                          max_size=3),
)
def test_any_series_reads_back_with_its_cancelled_and_moved_occurrences(
        start: datetime, zone: str, rule: str, cancelled: set[int], moves: dict[int, int]) -> None:
    # given a series with some occurrences cancelled and others moved by some minutes, whose first start is not the
    # repeat of a local hour
    start = start.replace(second=0, microsecond=0)
    assume(to_utc(local_wall(start, load_zone(zone)), load_zone(zone)) == start)
    planned = occurrence_starts(rule, start, zone)
    exdates = tuple(planned[index] for index in sorted(cancelled))
    moved = tuple(MovedOccurrence(planned[index], planned[index] + timedelta(minutes=minutes),
                                  planned[index] + timedelta(minutes=minutes + 60))
                  for index, minutes in sorted(moves.items()) if index not in cancelled and minutes)
    invitation = confirmation(uid=invitation_uid("series", 3, "book.example.com"), starts_at=start,
                              ends_at=start + timedelta(hours=1), time_zone=zone, rrule=rule, exdates=exdates,
                              moved=moved)
    # when it is written and read back
    read = read_invitation(invitation_ics(invitation))
    # then it starts when the series does, its EXDATEs are exactly the cancelled planned starts, and each moved
    # occurrence is its planned start with its new times
    assert (read.starts_at, read.ends_at) == (start, start + timedelta(hours=1))
    assert read.exdates == exdates
    assert read.moved == tuple((item.planned_start, item.starts_at, item.ends_at) for item in moved)
    assert read.rrule == rule.split(";")[0] + ";" + ";".join(sorted(rule.split(";")[1:]))
