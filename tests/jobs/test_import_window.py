"""The import window: every day from 30 days back to 365 ahead is always inside it, and it moves once a day, or once
a week for a provider whose cursor is bound to the window it began with (Graph)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, strategies as st

from domain.intervals import Span
from jobs.pull import import_window
from providers.registry import REGISTRY

instants = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC))


def test_the_daily_window_begins_30_days_before_todays_utc_midnight() -> None:
    assert import_window(datetime(2030, 1, 9, 15, 30, tzinfo=UTC)) == Span(
        datetime(2029, 12, 10, tzinfo=UTC), datetime(2031, 1, 9, tzinfo=UTC))


def test_the_weekly_window_begins_30_days_before_this_weeks_monday_and_reaches_a_week_further() -> None:
    # 2030-01-09 is a Wednesday; that week's Monday is 2030-01-07
    assert import_window(datetime(2030, 1, 9, 15, 30, tzinfo=UTC), 7) == Span(
        datetime(2029, 12, 8, tzinfo=UTC), datetime(2031, 1, 13, tzinfo=UTC))


@given(instants, st.sampled_from([1, 7]))
def test_every_day_from_30_back_to_365_ahead_is_inside(now: datetime, roll_days: int) -> None:
    window = import_window(now, roll_days)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    assert window.start <= midnight - timedelta(days=30)
    assert window.end >= midnight + timedelta(days=365)
    assert window.end - window.start <= timedelta(days=1825)  # Graph's longest calendar view


@given(instants)
def test_the_weekly_window_moves_only_when_a_monday_begins(now: datetime) -> None:
    later = now + timedelta(hours=1)
    moved = import_window(later, 7) != import_window(now, 7)
    assert moved == (later.weekday() == 0 and later.date() != now.date())


def test_graph_rolls_weekly_and_the_others_daily() -> None:
    assert {name: entry.window_roll_days for name, entry in REGISTRY.items()} == {
        "google": 1, "caldav": 1, "microsoft": 7, "calendly": 1}
