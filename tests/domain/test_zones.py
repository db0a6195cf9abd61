from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from domain.zones import UnknownTimeZone, is_valid_zone, load_zone, local_wall, to_utc, wall_instants

NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_load_zone_returns_cached_zoneinfo() -> None:
    zone = load_zone("Europe/Berlin")
    assert zone == ZoneInfo("Europe/Berlin")
    assert load_zone("Europe/Berlin") is zone
    assert load_zone("UTC").key == "UTC"


@pytest.mark.parametrize(
    "name",
    ["", "Mars/Base", "../etc", "../../etc/passwd", "/etc/localtime", "localtime", "posixrules",
     "Europe", "europe/berlin", "Europe/Berlin ", "Europe/Berlin\x00", None, 5, ["UTC"], "A" * 500],
)
def test_load_zone_rejects_non_zones(name: Any) -> None:
    with pytest.raises(UnknownTimeZone):
        load_zone(name)
    assert not is_valid_zone(name)


def test_unknown_time_zone_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        load_zone("Mars/Base")


def test_is_valid_zone() -> None:
    assert is_valid_zone("America/New_York")
    assert is_valid_zone("Asia/Kolkata")
    assert not is_valid_zone("Mars/Base")


def test_to_utc_plain_time() -> None:
    assert to_utc(datetime(2026, 7, 1, 9, 0), NEW_YORK) == utc(2026, 7, 1, 13, 0)
    assert to_utc(datetime(2026, 1, 5, 9, 0), ZoneInfo("Asia/Kolkata")) == utc(2026, 1, 5, 3, 30)


def test_to_utc_spring_forward_gap_uses_offset_before_gap() -> None:
    # given 02:30 on the US spring-forward day, which no clock in New York shows
    # then it reads with EST (-5): 07:30Z, which is 03:30 EDT
    instant = to_utc(datetime(2026, 3, 8, 2, 30), NEW_YORK)
    assert instant == utc(2026, 3, 8, 7, 30)
    assert instant.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2026, 3, 8, 3, 30)


def test_to_utc_fall_back_repeat_is_first_occurrence() -> None:
    # 01:30 happens twice on 2026-11-01: first in EDT (05:30Z), then in EST (06:30Z)
    assert to_utc(datetime(2026, 11, 1, 1, 30), NEW_YORK) == utc(2026, 11, 1, 5, 30)
    # even when the naive wall time carries fold=1
    assert to_utc(datetime(2026, 11, 1, 1, 30, fold=1), NEW_YORK) == utc(2026, 11, 1, 5, 30)


def test_to_utc_rejects_aware_wall_time() -> None:
    with pytest.raises(ValueError):
        to_utc(utc(2026, 1, 5, 9), NEW_YORK)


def test_wall_instants() -> None:
    assert wall_instants(datetime(2026, 7, 1, 9, 0), NEW_YORK) == (utc(2026, 7, 1, 13, 0),)
    assert wall_instants(datetime(2026, 3, 8, 2, 0), NEW_YORK) == ()
    assert wall_instants(datetime(2026, 3, 8, 2, 59), NEW_YORK) == ()
    assert wall_instants(datetime(2026, 3, 8, 3, 0), NEW_YORK) == (utc(2026, 3, 8, 7, 0),)
    assert wall_instants(datetime(2026, 11, 1, 1, 0), NEW_YORK) == (utc(2026, 11, 1, 5, 0), utc(2026, 11, 1, 6, 0))
    assert wall_instants(datetime(2026, 11, 1, 2, 0), NEW_YORK) == (utc(2026, 11, 1, 7, 0),)


def test_wall_instants_lord_howe_half_hour_shift() -> None:
    # Lord Howe moves its clocks by 30 minutes: 02:00 -> 02:30 on 2026-10-04 (UTC+10:30 -> +11)
    assert wall_instants(datetime(2026, 10, 4, 2, 15), LORD_HOWE) == ()
    assert wall_instants(datetime(2026, 10, 4, 2, 30), LORD_HOWE) == (utc(2026, 10, 3, 15, 30),)
    # and 02:00 -> 01:30 on 2026-04-05 (UTC+11 -> +10:30): 01:45 happens twice
    assert wall_instants(datetime(2026, 4, 5, 1, 45), LORD_HOWE) == (utc(2026, 4, 4, 14, 45), utc(2026, 4, 4, 15, 15))


def test_local_wall() -> None:
    assert local_wall(utc(2026, 11, 1, 6, 30), NEW_YORK) == datetime(2026, 11, 1, 1, 30)
    with pytest.raises(ValueError):
        local_wall(datetime(2026, 1, 1), NEW_YORK)


ZONE_NAMES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Pacific/Chatham",
              "America/Santiago", "Asia/Beirut", "Asia/Kolkata", "UTC"]


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(ZONE_NAMES), minutes=st.integers(0, 366 * 1440))
def test_every_instant_is_among_its_wall_times_instants(name: str, minutes: int) -> None:
    zone = load_zone(name)
    instant = utc(2026, 1, 1) + timedelta(minutes=minutes)
    wall = local_wall(instant, zone)
    instants = wall_instants(wall, zone)
    assert instant in instants
    # and to_utc picks the first of them
    assert to_utc(wall, zone) == instants[0]


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(ZONE_NAMES), minutes=st.integers(0, 366 * 1440))
def test_wall_instants_show_that_wall_time(name: str, minutes: int) -> None:
    zone = load_zone(name)
    wall = datetime(2026, 1, 1) + timedelta(minutes=minutes)
    for instant in wall_instants(wall, zone):
        assert local_wall(instant, zone) == wall
