"""Free slot starts remembered per staff member's schedule version, so a repeated query is not recomputed.

A cached entry is keyed by everything its starts depend on: the staff member and their `booking_lock` (every
booking, cancellation, blocked time, imported busy block, working hours and override change bumps it in the same
transaction), their zone, the service's slot rules (length, buffers, step, notice, horizon), and the range of
starts computed. The range is the query's window cut to whole UTC days around the minimum-notice and horizon edges
of the moment it was computed; each answer then cuts the cached starts to the exact edges of its own `now`, so a
start that fell inside the notice period since is never shown. A whole answer (the slots of every staff member
asked for, merged over the same range) is kept too, under the keys of all its staff members, and cut the same way,
so a repeated query is neither recomputed nor merged again. Memory is bounded by the number of starts held in all (an
answer counts one per staff member listed at each slot): the least recently used entries go first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence
from datetime import datetime, timedelta
from typing import Any

from domain.availability import SlotRules

ONE_DAY = timedelta(days=1)


def computed_range(rules: SlotRules, bookable: tuple[datetime, datetime], window_start: datetime,
                   window_end: datetime) -> tuple[datetime, datetime]:
    """The range of starts to compute and cache for a query whose bookable starts are `bookable`: the bookable range
    widened to whole UTC days (never past the window), so the key changes once a day rather than every second."""
    lowest, limit = bookable
    day_start = lowest.replace(hour=0, minute=0, second=0, microsecond=0)
    day_end = limit.replace(hour=0, minute=0, second=0, microsecond=0)
    if day_end < limit:
        day_end += ONE_DAY
    return max(window_start, day_start), min(window_end, day_end)


class SlotCache:
    """Least recently used free starts (and whole answers), at most `max_starts` starts held in all (0 turns the
    cache off). An answer counts one start per staff member it lists at each slot."""

    def __init__(self, max_starts: int) -> None:
        self.max_starts = max_starts
        self.held = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[Hashable, tuple[int, tuple[Any, ...]]] = OrderedDict()

    @staticmethod
    def key(staff_id: int, schedule_version: int, zone: str, rules: SlotRules, computed: tuple[datetime, datetime]
            ) -> Hashable:
        return staff_id, schedule_version, zone, rules, computed

    def get(self, key: Hashable) -> tuple[Any, ...] | None:
        found = self._entries.get(key)
        if found is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return found[1]

    def put(self, key: Hashable, values: Sequence[Any], weight: int | None = None) -> None:
        """Keep `values` under `key`; `weight` (default: how many values) is what they count against the bound."""
        entry = tuple(values)
        weight = max(1, len(entry) if weight is None else weight)  # an empty answer still takes a place
        if weight > self.max_starts:
            return
        previous = self._entries.pop(key, None)
        if previous is not None:
            self.held -= previous[0]
        self._entries[key] = (weight, entry)
        self.held += weight
        while self.held > self.max_starts:
            _, (dropped, _) = self._entries.popitem(last=False)
            self.held -= dropped

    def __len__(self) -> int:
        return len(self._entries)
