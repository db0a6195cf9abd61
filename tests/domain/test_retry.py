import random
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.retry import MAX_ATTEMPTS, MAX_DELAY, gives_up, retry_delay


class _Fixed(random.Random):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


def test_delays_double_with_each_failure_between_half_and_all_of_the_ceiling() -> None:
    # given a random source at its extremes, when the first three failures are counted
    low = [retry_delay(attempt, rng=_Fixed(0.0)) for attempt in (1, 2, 3)]
    high = [retry_delay(attempt, rng=_Fixed(0.999999)).total_seconds() for attempt in (1, 2, 3)]
    # then the window is [ceiling/2, ceiling) with ceilings 2 s, 4 s, 8 s
    assert low == [timedelta(seconds=1), timedelta(seconds=2), timedelta(seconds=4)]
    assert [round(value, 3) for value in high] == [2.0, 4.0, 8.0]


def test_the_delay_is_capped_and_retry_after_is_honoured() -> None:
    assert retry_delay(30, rng=_Fixed(0.999999)) <= MAX_DELAY
    assert retry_delay(1, retry_after=120, rng=_Fixed(0.0)) == timedelta(seconds=120)


def test_gives_up_only_at_the_last_attempt() -> None:
    assert [gives_up(attempt) for attempt in range(1, MAX_ATTEMPTS + 1)] == [False] * (MAX_ATTEMPTS - 1) + [True]


@given(st.integers(1, 50), st.one_of(st.none(), st.floats(0, 10_000)), st.floats(0, 0.999999))
def test_delays_are_positive_bounded_and_respect_retry_after(attempt: int, retry_after: float | None,
                                                            draw: float) -> None:
    delay = retry_delay(attempt, retry_after, rng=_Fixed(draw))
    assert delay > timedelta(0)
    assert delay <= max(MAX_DELAY, timedelta(seconds=retry_after or 0))
    if retry_after:
        assert delay >= timedelta(seconds=retry_after)
