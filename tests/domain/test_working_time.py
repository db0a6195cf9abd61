"""Worked examples of working hours across midnight: overnight ranges, evenings that touch the next morning, and
nights on which the clocks change, with exact UTC datetimes.

Unless a test says otherwise: a 60-minute service on a 30-minute grid, no buffers, no notice, a 400-day horizon,
"now" long before. 2026-01-10 is a Saturday.
"""

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from domain.availability import StaffAvailability, Unbookable, WorkingRange, free_slots, why_unbookable
from domain.intervals import Span
from domain.working_time import day_ranges, in_working_time, stretches, working_spans
from tests.domain.test_availability import LONG_AGO, RULES, minutes, staff, starts, utc

SATURDAY = date(2026, 1, 10)
SUNDAY = date(2026, 1, 11)
WEEKEND = Span(utc(2026, 1, 10), utc(2026, 1, 12))


def clock(text: str) -> int:
    hour, minute = text.split(":")
    return int(hour) * 60 + int(minute)


def written(start: str, end: str) -> WorkingRange:
    """A range as a person writes it: an end before the start runs into the next date (22:00-06:00)."""
    first, last = clock(start), clock(end)
    return WorkingRange(first, last + 1440 if last <= first else last)


def evening_and_morning(zone: str = "UTC", *, evening: tuple[str, str] = ("20:00", "24:00"),
                        morning: tuple[str, str] = ("00:00", "04:00"), **changes: object) -> StaffAvailability:
    """Saturday evening hours and Sunday morning hours, written as two ranges of two dates."""
    member = staff(zone=zone, weekly={5: (written(*evening),), 6: (written(*morning),)})
    return replace(member, **changes)  # type: ignore[arg-type]


def half_hours(first: datetime, last: datetime) -> list[datetime]:
    found = []
    while first <= last:
        found.append(first)
        first += minutes(30)
    return found


# --- continuity at midnight --------------------------------------------------------------


def test_an_evening_and_the_next_morning_touching_at_midnight_hold_a_service_across_it() -> None:
    # given Saturday 20:00-24:00 and Sunday 00:00-04:00
    member = evening_and_morning()
    # when listing the weekend's slots
    slots = free_slots(member, RULES, WEEKEND, LONG_AGO)
    # then the hour runs straight through midnight: 23:30-00:30 is offered, as is every half hour up to 03:00
    assert starts(slots) == half_hours(utc(2026, 1, 10, 20), utc(2026, 1, 11, 3))
    assert Span(utc(2026, 1, 10, 23, 30), utc(2026, 1, 11, 0, 30)) in slots
    # and it can be booked, by a customer and by staff
    for customer_rules in (True, False):
        assert why_unbookable(member, RULES, utc(2026, 1, 10, 23, 30), LONG_AGO, customer_rules=customer_rules) is None


def test_an_overnight_range_is_the_same_as_its_two_halves() -> None:
    # given Saturday 20:00-04:00 written as one range
    overnight = staff(weekly={5: (written("20:00", "04:00"),)})
    # then it works exactly as Saturday 20:00-24:00 plus Sunday 00:00-04:00
    assert free_slots(overnight, RULES, WEEKEND, LONG_AGO) == free_slots(evening_and_morning(), RULES, WEEKEND,
                                                                          LONG_AGO)
    assert day_ranges(overnight, SATURDAY) == (WorkingRange(1200, 1440),)
    assert day_ranges(overnight, SUNDAY) == (WorkingRange(0, 240),)


def test_buffers_reach_across_midnight() -> None:
    # given 15 minutes of buffer either side
    rules = replace(RULES, buffer_before=minutes(15), buffer_after=minutes(15))
    slots = free_slots(evening_and_morning(), rules, WEEKEND, LONG_AGO)
    # then 20:00 has no room for its buffer before and 03:00 none for its buffer after; midnight is no obstacle
    assert starts(slots) == half_hours(utc(2026, 1, 10, 20, 30), utc(2026, 1, 11, 2, 30))


def test_busy_time_after_midnight_takes_the_evening_slots_that_reach_it() -> None:
    # given a booking Sunday 00:15-01:00
    member = evening_and_morning(busy=(Span(utc(2026, 1, 11, 0, 15), utc(2026, 1, 11, 1)),))
    slots = free_slots(member, RULES, WEEKEND, LONG_AGO)
    # then 23:30 and 00:00 (and 00:30) overlap it; 23:00 ends at midnight and 01:00 starts as it ends
    assert starts(slots) == [*half_hours(utc(2026, 1, 10, 20), utc(2026, 1, 10, 23)),
                             *half_hours(utc(2026, 1, 11, 1), utc(2026, 1, 11, 3))]
    assert why_unbookable(member, RULES, utc(2026, 1, 10, 23, 30), LONG_AGO, customer_rules=True) == Unbookable.TAKEN


def test_an_evening_with_no_morning_after_it_ends_at_midnight() -> None:
    # given Saturday 20:00-24:00 only
    member = staff(weekly={5: (written("20:00", "24:00"),)})
    assert starts(free_slots(member, RULES, WEEKEND, LONG_AGO)) == half_hours(utc(2026, 1, 10, 20),
                                                                                utc(2026, 1, 10, 23))
    assert why_unbookable(member, RULES, utc(2026, 1, 10, 23, 30), LONG_AGO,
                          customer_rules=False) == Unbookable.OUTSIDE_WORKING_HOURS


def test_each_date_counts_its_starts_from_its_own_hours() -> None:
    # given 22:00-02:00 overnight and a 45-minute step for a 30-minute service
    member = staff(weekly={5: (written("22:00", "02:00"),)})
    rules = replace(RULES, step=minutes(45), duration=minutes(30))
    slots = free_slots(member, rules, WEEKEND, LONG_AGO)
    # then Saturday counts from 22:00 and Sunday from 00:00, where its part of the range starts
    assert starts(slots) == [utc(2026, 1, 10, 22), utc(2026, 1, 10, 22, 45), utc(2026, 1, 10, 23, 30),
                             utc(2026, 1, 11, 0), utc(2026, 1, 11, 0, 45), utc(2026, 1, 11, 1, 30)]
    # and a start off Sunday's count is off the step, even though Saturday's count would reach it
    assert why_unbookable(member, rules, utc(2026, 1, 11, 0, 15), LONG_AGO, customer_rules=True) == Unbookable.OFF_STEP


def test_sunday_night_runs_into_monday() -> None:
    member = staff(weekly={6: (written("23:00", "01:00"),)})
    window = Span(utc(2026, 1, 11), utc(2026, 1, 13))
    assert starts(free_slots(member, RULES, window, LONG_AGO)) == half_hours(utc(2026, 1, 11, 23),
                                                                               utc(2026, 1, 12, 0))


# --- overrides and overnight ranges --------------------------------------------------------


def test_an_overnight_range_belongs_to_the_date_it_starts_on() -> None:
    # given Saturday 22:00-02:00 every week, and Sunday closed by an override
    member = staff(weekly={5: (written("22:00", "02:00"),)}, overrides={SUNDAY: ()})
    # then the override closes what starts on Sunday only: Saturday's night still runs until 02:00
    assert starts(free_slots(member, RULES, WEEKEND, LONG_AGO)) == half_hours(utc(2026, 1, 10, 22),
                                                                                utc(2026, 1, 11, 1))


def test_an_override_replacing_an_overnight_range_frees_the_next_morning_too() -> None:
    # given Saturday 22:00-02:00 every week, and this Saturday's hours changed to 18:00-20:00
    member = staff(weekly={5: (written("22:00", "02:00"),)}, overrides={SATURDAY: (written("18:00", "20:00"),)})
    assert starts(free_slots(member, RULES, WEEKEND, LONG_AGO)) == [utc(2026, 1, 10, 18), utc(2026, 1, 10, 18, 30),
                                                                    utc(2026, 1, 10, 19)]
    assert day_ranges(member, SUNDAY) == ()


def test_an_override_night_and_the_next_dates_own_hours_are_joined() -> None:
    # given an override for Saturday 22:00-03:00, and Sunday's own hours 02:00-04:00 (they overlap)
    member = staff(weekly={6: (written("02:00", "04:00"),)}, overrides={SATURDAY: (written("22:00", "03:00"),)})
    # then the time is worked once: Sunday runs 00:00-04:00, one range counted from midnight
    assert day_ranges(member, SUNDAY) == (WorkingRange(0, 240),)
    assert starts(free_slots(member, RULES, WEEKEND, LONG_AGO)) == half_hours(utc(2026, 1, 10, 22),
                                                                                utc(2026, 1, 11, 3))


# --- clocks changing at night ---------------------------------------------------------------


def test_santiago_spring_forward_at_midnight_has_no_sunday_0000() -> None:
    # given Saturday 22:00-24:00 and Sunday 00:00-03:00 in Santiago on 5-6 September 2026, when the clock goes
    # from Saturday 24:00 (-04) straight to Sunday 01:00 (-03): Sunday's 00:00 reads as 01:00 -03, 04:00Z
    member = evening_and_morning("America/Santiago", evening=("22:00", "24:00"), morning=("00:00", "03:00"))
    window = Span(utc(2026, 9, 5), utc(2026, 9, 7))
    slots = free_slots(member, RULES, window, LONG_AGO)
    # then the evening runs into the morning: 23:30 -04 (03:30Z) ends at 01:30 -03; 00:00 and 00:30 do not exist
    assert starts(slots) == half_hours(utc(2026, 9, 6, 2), utc(2026, 9, 6, 5))
    assert stretches(member, date(2026, 9, 5), date(2026, 9, 6)) == [Span(utc(2026, 9, 6, 2), utc(2026, 9, 6, 6))]


def test_santiago_spring_forward_joins_an_evening_and_a_morning_from_0100() -> None:
    # given Saturday until 24:00 and Sunday from 01:00: no real time lies between them on that night
    member = evening_and_morning("America/Santiago", evening=("22:00", "24:00"), morning=("01:00", "03:00"))
    assert in_working_time(member, Span(utc(2026, 9, 6, 3, 30), utc(2026, 9, 6, 4, 30)))
    assert why_unbookable(member, RULES, utc(2026, 9, 6, 3, 30), LONG_AGO, customer_rules=True) is None
    # and on an ordinary night an hour lies between them
    assert not in_working_time(member, Span(utc(2026, 9, 13, 3, 30), utc(2026, 9, 13, 4, 30)))


def test_santiago_fall_back_at_midnight_repeats_saturday_2300() -> None:
    # given Saturday 22:00-24:00 and Sunday 00:00-03:00 on 4-5 April 2026, when Saturday 24:00 (-03) becomes
    # Saturday 23:00 again (-04): Saturday's evening holds three real hours, and Sunday 00:00 exists once
    member = evening_and_morning("America/Santiago", evening=("22:00", "24:00"), morning=("00:00", "03:00"))
    slots = free_slots(member, RULES, Span(utc(2026, 4, 4), utc(2026, 4, 6)), LONG_AGO)
    # then 23:00 and 23:30 are offered twice (-03 at 02:00Z and 02:30Z, -04 at 03:00Z and 03:30Z), and the
    # last evening ones run into Sunday
    assert starts(slots) == half_hours(utc(2026, 4, 5, 1), utc(2026, 4, 5, 6))


def test_havana_fall_back_repeats_sunday_0000() -> None:
    # given Saturday 22:00-24:00 and Sunday 00:00-03:00 on 31 October - 1 November 2026, when Sunday 01:00 (-04)
    # becomes Sunday 00:00 again (-05): both ranges meet at the first Sunday 00:00 (04:00Z)
    member = evening_and_morning("America/Havana", evening=("22:00", "24:00"), morning=("00:00", "03:00"))
    slots = free_slots(member, RULES, Span(utc(2026, 10, 31), utc(2026, 11, 2)), LONG_AGO)
    # then every half hour from 22:00 -04 (02:00Z) to 02:00 -05 (07:00Z) is offered: Sunday 00:00 and 00:30 twice
    assert starts(slots) == half_hours(utc(2026, 11, 1, 2), utc(2026, 11, 1, 7))


def test_asuncion_2023_spring_forward_at_midnight() -> None:
    # given Saturday 22:00-24:00 and Sunday 00:00-03:00 on 30 September - 1 October 2023, when Asuncion's clock
    # went from Saturday 24:00 (-04) to Sunday 01:00 (-03) (it has kept -03 all year since late 2024)
    member = evening_and_morning("America/Asuncion", evening=("22:00", "24:00"), morning=("00:00", "03:00"))
    slots = free_slots(member, RULES, Span(utc(2023, 9, 30), utc(2023, 10, 2)), datetime(2023, 1, 1, tzinfo=UTC))
    # then four real hours, 02:00Z to 06:00Z, with no Sunday 00:00 or 00:30 among the starts
    assert starts(slots) == half_hours(utc(2023, 10, 1, 2), utc(2023, 10, 1, 5))


def test_lord_howe_half_hour_spring_forward_in_a_night_shift() -> None:
    # given 22:00-03:00 on Saturday 3 October 2026 at Lord Howe, whose clock goes from 02:00 (+10:30) to 02:30
    # (+11): the night has four and a half real hours, 11:30Z to 16:00Z
    member = staff(zone="Australia/Lord_Howe", weekly={5: (written("22:00", "03:00"),)})
    slots = free_slots(member, RULES, Span(utc(2026, 10, 3), utc(2026, 10, 5)), LONG_AGO)
    # then the hour starting 01:30 (+10:30) ends at 03:00 (+11), and 02:00 does not exist
    assert starts(slots) == half_hours(utc(2026, 10, 3, 11, 30), utc(2026, 10, 3, 15))
    assert working_spans(member, date(2026, 10, 4)) == [(WorkingRange(0, 180),
                                                         Span(utc(2026, 10, 3, 13, 30), utc(2026, 10, 3, 16)))]


def test_london_night_shift_over_the_spring_forward() -> None:
    # given 22:00-04:00 on Saturday 28 March 2026: 01:00-02:00 on Sunday does not exist
    member = staff(zone="Europe/London", weekly={5: (written("22:00", "04:00"),)})
    slots = free_slots(member, RULES, Span(utc(2026, 3, 28), utc(2026, 3, 30)), LONG_AGO)
    # then five real hours, from 22:00 GMT to 04:00 BST (03:00Z): an hour from 00:30 GMT ends at 02:30 BST
    assert starts(slots) == half_hours(utc(2026, 3, 28, 22), utc(2026, 3, 29, 2))


def test_new_york_night_shift_over_the_fall_back() -> None:
    # given 22:00-03:00 on Saturday 31 October 2026: 01:00-02:00 on Sunday happens twice
    member = staff(zone="America/New_York", weekly={5: (written("22:00", "03:00"),)})
    slots = free_slots(member, RULES, Span(utc(2026, 10, 31), utc(2026, 11, 2)), LONG_AGO)
    # then six real hours, 02:00Z to 08:00Z, every half hour of which but the last can start an hour
    assert starts(slots) == half_hours(utc(2026, 11, 1, 2), utc(2026, 11, 1, 7))


def test_ranges_either_side_of_a_gap_within_a_day_are_joined_too() -> None:
    # given 00:00-02:00 and 03:00-05:00 on the New York spring-forward Sunday: 02:00-03:00 does not exist, so
    # 02:00 EST and 03:00 EDT are the same instant (07:00Z)
    member = staff(zone="America/New_York", weekly={6: (written("00:00", "02:00"), written("03:00", "05:00"))})
    rules = replace(RULES, step=minutes(60))
    # then an hour from 01:30 EST runs on to 03:30 EDT without a break
    assert why_unbookable(member, rules, utc(2026, 3, 8, 6, 30), LONG_AGO, customer_rules=False) is None
    assert starts(free_slots(member, rules, Span(utc(2026, 3, 8), utc(2026, 3, 9)), LONG_AGO)) == [
        utc(2026, 3, 8, 5), utc(2026, 3, 8, 6), utc(2026, 3, 8, 7), utc(2026, 3, 8, 8)]


# --- the written range ----------------------------------------------------------------------


def test_a_written_range_lasts_at_most_a_day_and_starts_before_midnight() -> None:
    assert WorkingRange(1320, 1800).is_overnight
    assert not WorkingRange(0, 1440).is_overnight
    assert WorkingRange(1439, 2879).end_minute == 2879
    for start, end in ((1320, 2761), (1440, 1500), (600, 600), (-5, 60), (700, 650)):
        with pytest.raises(ValueError):
            WorkingRange(start, end)

