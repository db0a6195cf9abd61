"""The DateTime and Date scalars read ISO 8601 and refuse anything else with a message a person can act on."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, strategies as st

from schema.scalars import DateScalar, DateTimeScalar, ScalarInputError, echo, parse_date, parse_date_time

DATE_TIME_HINT = "give an ISO 8601 date-time with offset, e.g. 2027-02-01T09:00:00+01:00"


def refusal(parse: object, value: object) -> tuple[str, str]:
    with pytest.raises(ScalarInputError) as refused:
        parse(value)  # type: ignore[operator]
    return refused.value.type_name, str(refused.value)


def test_a_date_time_with_its_offset_is_read_as_that_instant() -> None:
    assert parse_date_time("2027-02-01T09:00:00+01:00") == datetime(2027, 2, 1, 8, tzinfo=UTC)
    assert parse_date_time("2027-02-01T08:00:00Z") == datetime(2027, 2, 1, 8, tzinfo=UTC)
    assert parse_date("2027-02-28") == date(2027, 2, 28)


def test_text_that_is_no_date_time_says_what_to_give_instead() -> None:
    assert refusal(parse_date_time, "tomorrow") == (
        "DateTime", '"tomorrow" is not an ISO 8601 date-time with offset, e.g. 2027-02-01T09:00:00+01:00')
    assert refusal(parse_date_time, 5) == (
        "DateTime", "5 is not an ISO 8601 date-time with offset, e.g. 2027-02-01T09:00:00+01:00")
    assert refusal(parse_date, "next week") == ("Date", '"next week" is not an ISO 8601 date, e.g. 2027-02-01')
    assert refusal(parse_date, None) == ("Date", "null is not an ISO 8601 date, e.g. 2027-02-01")


def test_a_date_that_does_not_exist_says_why() -> None:
    assert refusal(parse_date, "2027-02-30") == (
        "Date", '"2027-02-30" is not a date that exists (February 2027 has 28 days); give an ISO 8601 date, '
                "e.g. 2027-02-01")
    assert refusal(parse_date, "2028-02-30")[1].startswith('"2028-02-30" is not a date that exists (February 2028 '
                                                           "has 29 days)")
    assert refusal(parse_date_time, "2027-13-01T09:00:00Z") == (
        "DateTime", f'"2027-13-01T09:00:00Z" is not a date-time that exists (there is no month 13); {DATE_TIME_HINT}')
    assert refusal(parse_date_time, "2027-04-31T09:00:00+02:00") == (
        "DateTime", f'"2027-04-31T09:00:00+02:00" is not a date-time that exists (April 2027 has 30 days); '
                    f"{DATE_TIME_HINT}")
    assert refusal(parse_date_time, "2027-02-01T25:30:00Z") == (
        "DateTime", f'"2027-02-01T25:30:00Z" is not a date-time that exists (there is no time of day 25:30:00); '
                    f"{DATE_TIME_HINT}")


def test_the_refused_value_is_repeated_cut_short_and_escaped() -> None:
    assert echo("x" * 41) == '"' + "x" * 40 + '…"'
    assert echo("a\x00b") == '"a\\u0000b"'
    assert echo({"day": 1}) == '{"day": 1}'


def test_values_are_written_back_in_iso_8601() -> None:
    berlin = timezone(timedelta(hours=1))
    write_date_time, write_date = DateTimeScalar.serialize, DateScalar.serialize
    assert write_date_time is not None and write_date is not None
    assert write_date_time(datetime(2027, 2, 1, 9, tzinfo=berlin)) == "2027-02-01T09:00:00+01:00"
    assert write_date(date(1, 1, 1)) == "0001-01-01"


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2999, 12, 31), timezones=st.just(UTC)))
def test_every_date_time_written_back_reads_as_the_same_instant(moment: datetime) -> None:
    assert parse_date_time(moment.isoformat()) == moment


@given(st.integers(1970, 2999), st.integers(0, 99), st.integers(0, 99))
def test_a_year_month_and_day_either_read_as_that_date_or_say_exactly_why_not(year: int, month: int, day: int
                                                                                ) -> None:
    text = f"{year:04d}-{month:02d}-{day:02d}"
    if not 1 <= month <= 12:
        assert refusal(parse_date, text)[1] == (f'"{text}" is not a date that exists (there is no month {month}); '
                                                "give an ISO 8601 date, e.g. 2027-02-01")
        return
    days = calendar.monthrange(year, month)[1]
    if 1 <= day <= days:
        assert parse_date(text) == date(year, month, day)
    else:
        assert refusal(parse_date, text)[1] == (f'"{text}" is not a date that exists ({calendar.month_name[month]} '
                                                f"{year} has {days} days); give an ISO 8601 date, e.g. 2027-02-01")
