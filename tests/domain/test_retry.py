import random
from datetime import timedelta

from hypothesis import given, strategies as st

from domain.retry import (
    JITTER,
    KEEP_TRYING,
    MAX_ATTEMPTS,
    gives_up,
    least_time_tried,
    retry_delay,
    scheduled_delay,
)


class _Fixed(random.Random):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


def minutes(delay: timedelta) -> float:
    return delay.total_seconds() / 60


def test_the_schedule_is_half_a_minute_then_one_two_five_fifteen_sixty_minutes_then_hourly() -> None:
    # given no jitter, when the first nine failures are counted
    delays = [minutes(retry_delay(attempt, rng=_Fixed(0.0))) for attempt in range(1, 10)]
    # then the waits follow the schedule and stay hourly
    assert delays == [0.5, 1, 2, 5, 15, 60, 60, 60, 60]


def test_jitter_adds_at_most_a_tenth_of_the_delay() -> None:
    assert retry_delay(1, rng=_Fixed(0.5)) == timedelta(seconds=31.5)
    assert retry_delay(6, rng=_Fixed(0.999999)) < timedelta(minutes=66)
    assert retry_delay(6, rng=_Fixed(0.999999)) > timedelta(minutes=65.99)


def test_retry_after_is_honoured_when_longer_than_the_schedule() -> None:
    assert retry_delay(1, retry_after=120, rng=_Fixed(0.0)) == timedelta(seconds=120)
    assert retry_delay(6, retry_after=120, rng=_Fixed(0.0)) == timedelta(minutes=60)


def test_a_transient_failure_is_given_up_only_after_a_day_of_trying() -> None:
    # the 29th failure comes at least 23 h 23.5 min after the first, the 30th at least 24 h 23.5 min after it
    assert least_time_tried(29) == timedelta(hours=23, minutes=23, seconds=30)
    assert least_time_tried(30) == timedelta(hours=24, minutes=23, seconds=30)
    assert [gives_up(attempt) for attempt in (1, 6, 7, 28, 29, 30, 31)] == [False] * 5 + [True, True]
    assert MAX_ATTEMPTS == 30


def test_a_10_minute_outage_is_bridged_by_the_first_five_retries() -> None:
    # 30 s + 1 + 2 + 5 min: the fifth try comes at least 8.5 minutes after the first failure, the sixth 15 later
    assert least_time_tried(5) == timedelta(minutes=8, seconds=30)
    assert least_time_tried(6) == timedelta(minutes=23, seconds=30)


@given(st.integers(1, 200), st.floats(0, 0.999999))
def test_delays_never_shrink(attempt: int, draw: float) -> None:
    assert retry_delay(attempt + 1, rng=_Fixed(draw)) >= retry_delay(attempt, rng=_Fixed(draw))
    assert scheduled_delay(attempt + 1) >= scheduled_delay(attempt)


@given(st.lists(st.tuples(st.floats(0, 0.999999), st.one_of(st.none(), st.floats(0, 7200))), min_size=40,
                max_size=40))
def test_an_item_failing_on_every_try_is_retried_for_a_day_and_then_given_up(draws: list[tuple[float, float | None]]
                                                                            ) -> None:
    # given an item that fails on every try, with any jitter and any Retry-After the provider sends
    waited, attempt = timedelta(0), 1
    while not gives_up(attempt):
        draw, retry_after = draws[attempt - 1]
        waited += retry_delay(attempt, retry_after, rng=_Fixed(draw))
        attempt += 1
    # then it is given up only once a day has passed since its first failure, and after at most 30 failures
    assert waited >= KEEP_TRYING
    assert attempt <= MAX_ATTEMPTS


@given(st.integers(1, 200), st.one_of(st.none(), st.floats(0, 100_000)), st.floats(0, 0.999999))
def test_delays_are_positive_bounded_and_respect_retry_after(attempt: int, retry_after: float | None,
                                                            draw: float) -> None:
    delay = retry_delay(attempt, retry_after, rng=_Fixed(draw))
    assert delay >= scheduled_delay(attempt) > timedelta(0)
    assert delay <= max(scheduled_delay(attempt) * (1 + JITTER), timedelta(seconds=retry_after or 0))
    if retry_after:
        assert delay >= timedelta(seconds=retry_after)
