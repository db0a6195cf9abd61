"""The quick parse of a plain single event reads exactly as the general iCalendar parser does, and leaves every
other object to it."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import icalendar
import pytest
from hypothesis import given, settings, strategies as st

from domain.busy import BusyPolicy, caldav_busy_spans, parse_calendar
from domain.ical_quick import QuickCalendar, quick_calendar
from domain.intervals import Span
from domain.own_events import read_own_event
from tests.domain.test_busy import event, ics

WINDOW = Span(datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 12, 31, tzinfo=UTC))
SAM = "sam@example.com"

_STARTS = {
    "utc": ("DTSTART:20300107T{h:02d}3000Z", "DTEND:20300107T{e:02d}0000Z"),
    "zoned": ('DTSTART;TZID="America/New_York":20300107T{h:02d}3000', "DTEND;TZID=Europe/Berlin:20300107T{e:02d}0000"),
    "floating": ("DTSTART:20300107T{h:02d}3000", "DTEND:20300107T{e:02d}0000"),
    "date": ("DTSTART;VALUE=DATE:20300107", "DTEND;VALUE=DATE:2030010{d}"),
    # Contradictory forms seen in the wild: a zone beside a date, and a zone beside a UTC time.
    "zoned-date": ("DTSTART;TZID=Asia/Tokyo;VALUE=DATE:20300107", "DTEND;TZID=Asia/Tokyo;VALUE=DATE:2030010{d}"),
    "zoned-utc": ("DTSTART;TZID=Europe/Berlin:20300107T{h:02d}3000Z", "DTEND;TZID=Europe/Berlin:20300107T{e:02d}0000Z"),
}
_CONTRADICTORY = {"zoned-date", "zoned-utc"}


def fold(line: str) -> list[str]:
    """A long line folded at 20 characters, as RFC 5545 allows (continuations start with a space)."""
    return [line[:20], *(" " + line[n:n + 20] for n in range(20, len(line), 20))]


@st.composite
def single_events(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(sorted(_STARTS)))
    hour = draw(st.integers(min_value=0, max_value=23))
    start, end = _STARTS[kind]
    lines = [start.format(h=hour)]
    ending = draw(st.sampled_from(["dtend", "before", "duration", "none"]))
    if ending in ("dtend", "before"):
        lines.append(end.format(e=min(hour + 2, 23) if ending == "dtend" else max(hour - 2, 0),
                                d=9 if ending == "dtend" else 5))
    elif ending == "duration":
        lines.append(draw(st.sampled_from(["DURATION:PT10H", "DURATION:P1DT2H", "DURATION:PT45M", "DURATION:P2W",
                                           "DURATION:-PT1H"])))
    for name, values in (("STATUS", ["CONFIRMED", "TENTATIVE", "CANCELLED", "tentative"]),
                         ("TRANSP", ["OPAQUE", "TRANSPARENT"])):
        if draw(st.booleans()):
            lines.append(f"{name}:{draw(st.sampled_from(values))}")
    summary = draw(st.text(alphabet=st.sampled_from(list("ab ,;\\:\u00e9\u6771")), max_size=30))
    lines.append("SUMMARY;LANGUAGE=en:" + summary.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
                 + draw(st.sampled_from(["", "\\nsecond line", "\\N"])))
    for address in draw(st.lists(st.sampled_from([SAM, "other@example.com", "SAM@EXAMPLE.COM"]), max_size=2)):
        partstat = draw(st.sampled_from(["", ";PARTSTAT=DECLINED", ";PARTSTAT=TENTATIVE", ";PARTSTAT=ACCEPTED"]))
        lines.append(f'ATTENDEE;CN="Sam: the; tech"{partstat}:mailto:{address}')
    if draw(st.booleans()):
        lines += ["BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT15M", "DESCRIPTION:x", "END:VALARM"]
    uid = draw(st.sampled_from(["e1@example.com", "booking-7@lockstep", "series-3@lockstep"]))
    head = [draw(st.sampled_from(["X-WR-TIMEZONE:Asia/Tokyo", "X-WR-CALNAME:Work"]))] if draw(st.booleans()) else []
    folded = [part for line in event(*lines, uid=uid) for part in fold(line)]
    return ics(*head, *folded)


@settings(max_examples=300, deadline=None)
@given(text=single_events(), zone=st.sampled_from(["Europe/Berlin", "Asia/Tokyo", "America/Los_Angeles"]),
       tentative=st.booleans(), all_day=st.booleans())
def test_the_quick_parse_reads_a_single_event_exactly_as_the_general_parser(text: str, zone: str, tentative: bool,
                                                                            all_day: bool) -> None:
    # Given a plain single event, as calendar apps write them (or with a zone that contradicts its value)
    quick = quick_calendar(text)
    general = icalendar.Calendar.from_ical(text)
    # Then the quick parse takes it unless its zone contradicts its value (the general parser decides those)
    unfolded = text.replace("\r\n ", "")
    contradictory = ("TZID=Asia/Tokyo;VALUE=DATE" in unfolded
                     or re.search(r"TZID=Europe/Berlin:\d{8}T\d{6}Z", unfolded) is not None)
    assert (quick is None) == contradictory
    # and every reading of what the import parses is the same as the general parser's
    parsed = parse_calendar(text)
    policy = BusyPolicy(zone=zone, own_addresses=frozenset({SAM}), tentative_blocks=tentative, all_day_blocks=all_day)
    assert caldav_busy_spans(parsed, WINDOW, policy) == caldav_busy_spans(general, WINDOW, policy)
    assert read_own_event(parsed, WINDOW, zone) == read_own_event(general, WINDOW, zone)


@pytest.mark.parametrize("lines", [
    event("DTSTART:20300107T090000Z", "RRULE:FREQ=DAILY;COUNT=2"),
    event("DTSTART:20300107T090000Z", "RDATE:20300109T090000Z"),
    event("DTSTART:20300107T090000Z", "EXDATE:20300109T090000Z"),
    event("RECURRENCE-ID:20300107T090000Z", "DTSTART:20300107T100000Z"),
    event("DTSTART;TZID=Custom Zone:20300107T090000"),
    event("DTSTART:20300107"),
    event("DTSTART:20300230T090000Z"),
    event("DTSTART:20300107T090000Z", "DURATION:PT"),
    event("DTSTART:20300107T090000Z", "DTSTART:20300108T090000Z"),
    event("SUMMARY:no start"),
    [*event("DTSTART:20300107T090000Z"), *event("DTSTART:20300108T090000Z", uid="e2@example.com")],
    ["BEGIN:VTIMEZONE", "TZID:Custom", "END:VTIMEZONE", *event("DTSTART:20300107T090000Z")],
    ["BEGIN:VTODO", "UID:t", "END:VTODO", *event("DTSTART:20300107T090000Z")],
    event("DTSTART:20300107T090000Z", "BEGIN:VJOURNAL", "END:VJOURNAL"),
    ["X-WR-TIMEZONE:Asia/Tokyo", "X-WR-TIMEZONE:UTC", *event("DTSTART:20300107T090000")],
    event("DTSTART;TZID=Asia/Tokyo;VALUE=DATE:20300107"),
    event("DTSTART;TZID=Europe/Berlin:20300107T100000Z"),
    event("DTSTART:20300107T090000Z", "DTEND;TZID=Europe/Berlin:20300107T100000Z"),
], ids=["rrule", "rdate", "exdate", "override", "custom-tzid", "date-without-value", "no-such-day",
        "empty-duration", "twice", "no-dtstart", "two-events", "vtimezone", "vtodo", "nested", "zone-twice",
        "zoned-date", "zoned-utc", "zoned-utc-end"])
def test_anything_but_a_plain_single_event_is_left_to_the_general_parser(lines: list[str]) -> None:
    text = ics(*lines)
    assert quick_calendar(text) is None


def test_the_common_single_event_is_read_quickly() -> None:
    text = ics(*event("DTSTART:20300107T090000Z", "DTEND:20300107T100000Z", "SUMMARY:Dentist"))
    assert isinstance(parse_calendar(text), QuickCalendar)
