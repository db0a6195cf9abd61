"""Half-open time spans and a sorted index of busy time.

Every instant here is an aware ``datetime`` in UTC. A span is half-open,
``[start, end)``: a span that ends at 10:00 and one that starts at 10:00 touch
but do not overlap, which is what lets back-to-back bookings coexist.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import attrgetter


def as_utc(value: datetime) -> datetime:
    """Return the aware instant ``value`` expressed in UTC.

    Raises ValueError for a naive datetime: a naive value names no instant.
    """
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: instants must be aware (UTC)")
    return value.astimezone(UTC)


@dataclass(frozen=True, order=True)
class Span:
    """Half-open [start, end) of aware UTC datetimes; start < end (raise ValueError otherwise).

    Aware datetimes in another zone are normalised to UTC; naive ones are rejected.
    """

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        start, end = self.start, self.end
        # Fast path: the hot loops build spans from values that are already UTC.
        if start.tzinfo is not UTC or end.tzinfo is not UTC:
            start, end = as_utc(start), as_utc(end)
            object.__setattr__(self, "start", start)
            object.__setattr__(self, "end", end)
        if not start < end:
            raise ValueError(f"span must have start < end, got [{start}, {end})")

    def overlaps(self, other: Span) -> bool:
        """True when the two spans share an instant; touching (a.end == b.start) is not overlapping."""
        return self.start < other.end and other.start < self.end

    def contains(self, other: Span) -> bool:
        """True when every instant of ``other`` lies in this span (equal spans contain each other)."""
        return self.start <= other.start and other.end <= self.end

    @property
    def duration(self) -> timedelta:
        """Length of the span, ``end - start``."""
        return self.end - self.start


# Sorting on a C-level key beats the generated dataclass __lt__ by a wide margin.
_START_END = attrgetter("start", "end")


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """Sorted spans covering the same instants, with overlapping OR touching spans merged.

    The result is sorted by start and pairwise disjoint with gaps between them.
    """
    merged: list[Span] = []
    for span in sorted(spans, key=_START_END):
        if merged and span.start <= merged[-1].end:
            if span.end > merged[-1].end:
                merged[-1] = Span(merged[-1].start, span.end)
        else:
            merged.append(span)
    return merged


def covering_spans(spans: Iterable[Span], most: int) -> list[Span]:
    """At most `most` sorted, disjoint spans covering every instant of `spans`: the merged spans, or when there are
    more than `most` of them, the one span from the earliest start to the latest end. Used to say where something
    changed in a message of bounded size (an import can change thousands of blocks)."""
    merged = merge_spans(spans)
    if len(merged) <= most:
        return merged
    return [Span(merged[0].start, max(span.end for span in merged))]



class BusyIndex:
    """Sorted, merged busy spans with O(log n) 'is this span free?' via bisect.

    "Free" means overlapping no busy span; touching a busy span is free.
    """

    __slots__ = ("_ends", "_starts")

    def __init__(self, spans: Iterable[Span]) -> None:
        merged = merge_spans(spans)
        # Merged spans are disjoint, so both lists are sorted and index i of one
        # matches index i of the other.
        self._starts = [span.start for span in merged]
        self._ends = [span.end for span in merged]

    def __len__(self) -> int:
        return len(self._starts)

    @property
    def spans(self) -> list[Span]:
        """The merged busy spans, sorted."""
        return [Span(s, e) for s, e in zip(self._starts, self._ends, strict=True)]

    def is_free(self, span: Span) -> bool:
        """True when ``span`` overlaps no busy span (touching is allowed)."""
        return self.is_free_between(span.start, span.end)

    def is_free_between(self, start: datetime, end: datetime) -> bool:
        """Like ``is_free`` for ``[start, end)`` given as UTC datetimes, without building a Span."""
        # The only busy span that can overlap is the last one starting before `end`:
        # every earlier one also ends earlier, because the spans are disjoint.
        i = bisect_left(self._starts, end) - 1
        return i < 0 or self._ends[i] <= start

    def free_starts(
        self, starts: Sequence[datetime], lead: timedelta, tail: timedelta
    ) -> list[datetime]:
        """The ``s`` of sorted ``starts`` whose span ``[s - lead, s + tail)`` is free, in order.

        One merge-style sweep over the candidates and the busy spans near them,
        so a batch costs O(len(starts) + log n) instead of one bisect each.
        """
        if not starts:
            return []
        busy_starts, busy_ends = self._starts, self._ends
        k = bisect_right(busy_ends, starts[0] - lead)  # first busy span ending after the first lead
        stop = bisect_left(busy_starts, starts[-1] + tail)  # busy spans from here start too late
        if k >= stop:
            return list(starts)
        free: list[datetime] = []
        for s in starts:
            lo = s - lead
            while k < stop and busy_ends[k] <= lo:
                k += 1
            if k < stop and busy_starts[k] < s + tail:
                continue
            free.append(s)
        return free

