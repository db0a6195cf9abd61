"""The slot cache: which range it computes, how it cuts, and that its memory stays bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.availability import SlotRules
from services.slot_cache import SlotCache, computed_range

RULES = SlotRules(duration=timedelta(minutes=30), buffer_before=timedelta(0), buffer_after=timedelta(0),
                  step=timedelta(minutes=15), minimum_notice=timedelta(hours=2), horizon=timedelta(days=7))


def t(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2030, 1, day, hour, minute, tzinfo=UTC)


def starts(count: int) -> list[datetime]:
    return [t(1) + timedelta(minutes=15 * n) for n in range(count)]


def test_the_computed_range_is_whole_days_inside_the_window() -> None:
    # given a window of 7 to 14 January and bookable starts from 09:17 on the 8th (notice) to 10:00 on the 12th
    computed = computed_range(RULES, (t(8, 9, 17), t(12, 10)), t(7), t(14))
    # then the cache computes whole UTC days: 8th 00:00 to 13th 00:00, the same all day long
    assert computed == (t(8), t(13))
    assert computed_range(RULES, (t(8, 23, 59), t(12, 23)), t(7), t(14)) == computed
    # and never more than the window
    assert computed_range(RULES, (t(7, 6), t(13, 12)), t(7, 6), t(13, 12)) == (t(7, 6), t(13, 12))


def test_a_hit_returns_what_was_put_and_counts() -> None:
    cache = SlotCache(100)
    key = cache.key(1, 7, "Europe/Berlin", RULES, (t(8), t(13)))
    assert cache.get(key) is None
    cache.put(key, starts(3))
    assert cache.get(key) == tuple(starts(3))
    assert (cache.hits, cache.misses) == (1, 1)
    # another schedule version of the same staff member is another entry
    assert cache.get(cache.key(1, 8, "Europe/Berlin", RULES, (t(8), t(13)))) is None


def test_memory_is_bounded_by_starts_held_and_the_least_recently_used_goes_first() -> None:
    cache = SlotCache(10)
    first, second, third = (cache.key(n, 0, "UTC", RULES, (t(8), t(13))) for n in (1, 2, 3))
    cache.put(first, starts(4))
    cache.put(second, starts(4))
    assert cache.get(first) is not None  # the first is now the most recently used
    cache.put(third, starts(4))  # 12 > 10: the second goes
    assert (cache.held, len(cache)) == (8, 2)
    assert cache.get(second) is None
    assert cache.get(first) == tuple(starts(4)) and cache.get(third) == tuple(starts(4))


def test_an_entry_larger_than_the_whole_cache_is_not_kept_and_an_empty_answer_takes_a_place() -> None:
    cache = SlotCache(3)
    cache.put(cache.key(1, 0, "UTC", RULES, (t(8), t(13))), starts(4))
    assert (cache.held, len(cache)) == (0, 0)
    for staff_id in range(5):
        cache.put(cache.key(staff_id, 0, "UTC", RULES, (t(8), t(13))), [])
    assert (cache.held, len(cache)) == (3, 3)


def test_putting_a_key_again_replaces_it() -> None:
    cache = SlotCache(10)
    key = cache.key(1, 0, "UTC", RULES, (t(8), t(13)))
    cache.put(key, starts(4))
    cache.put(key, starts(2))
    assert (cache.held, cache.get(key)) == (2, tuple(starts(2)))


def test_a_cache_of_size_zero_keeps_nothing() -> None:
    cache = SlotCache(0)
    key = cache.key(1, 0, "UTC", RULES, (t(8), t(13)))
    cache.put(key, starts(1))
    assert cache.get(key) is None
