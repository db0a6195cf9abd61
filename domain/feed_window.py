"""How much a calendar feed or an export holds: the feed's window around now, the export's longest range, and the
bookings that fit the bound of one answer.

Terms:
- *window*: from FEED_PAST before now to FEED_AHEAD after it. A feed holds the bookings that overlap it, and every
  occurrence of a series one of whose occurrences does.
- *candidate*: a booking that overlaps the window (or the export's range), in the order they are to be taken.
  A feed takes them *nearest first*: those not yet over, soonest first, then those over, latest first; so what its
  bound leaves out lies furthest from now.
- *cost*: what taking a candidate costs the bound: 1 for a single booking, and for a series (taken once, at its first
  candidate) its number of occurrences, each of which is read and may be written. The cost of an answer is the
  number of booking rows it is made from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

FEED_PAST = timedelta(days=30)
FEED_AHEAD = timedelta(days=365)
MAX_EXPORT_DAYS = 366


def feed_window(now: datetime) -> tuple[datetime, datetime]:
    """The window of a feed read at ``now``."""
    return now - FEED_PAST, now + FEED_AHEAD


@dataclass(frozen=True)
class Candidate:
    booking_id: int
    series_id: int | None = None


@dataclass(frozen=True)
class Selection:
    """What fits: the single bookings and the series taken, what they cost, and what every candidate would."""

    booking_ids: tuple[int, ...]
    series_ids: tuple[int, ...]
    cost: int
    needed: int

    @property
    def complete(self) -> bool:
        return self.cost == self.needed


def select_within(candidates: Sequence[Candidate], series_sizes: Mapping[int, int], budget: int) -> Selection:
    """The candidates taken in their order while their cost fits ``budget``; from the first that does not fit on,
    none is taken (a bound cuts the far end, never a hole in the middle). ``series_sizes`` gives each candidate
    series' number of occurrences (at least 1 is charged for one it does not know). ValueError for a negative
    budget."""
    if budget < 0:
        raise ValueError(f"budget must be at least 0, got {budget}")
    singles: list[int] = []
    series: list[int] = []
    seen: set[int] = set()
    cost = needed = 0
    full = False
    for candidate in candidates:
        if candidate.series_id is not None and candidate.series_id in seen:
            continue
        price = 1 if candidate.series_id is None else max(series_sizes.get(candidate.series_id, 1), 1)
        if candidate.series_id is not None:
            seen.add(candidate.series_id)
        needed += price
        if full or cost + price > budget:
            full = True
            continue
        cost += price
        if candidate.series_id is None:
            singles.append(candidate.booking_id)
        else:
            series.append(candidate.series_id)
    return Selection(tuple(singles), tuple(series), cost, needed)
