"""When to try a failed provider call again, and when to stop.

Terms:
- *attempt* counts failures so far (1 after the first failure).
- *transient* failure: the provider could not be reached, timed out, answered with a server error or asked to slow
  down. It says nothing about the item, so the item is tried again on the *retry schedule* for at least
  KEEP_TRYING (a day) before it is given up; an outage must never end as a failed item by itself.
- *retry schedule*: 30 s, 1, 2, 5, 15 and 60 minutes, then hourly. Each delay gets up to JITTER more, so that many
  items failing together do not come back in lockstep.
- *retry after*: the provider's own request (a Retry-After header), which is always honoured.
A permanent refusal of the item (the provider rejects the event itself) is not retried at all; that decision is the
caller's, by the kind of error.
"""

from __future__ import annotations

import random
from datetime import timedelta

RETRY_SCHEDULE = (
    timedelta(seconds=30),
    timedelta(minutes=1),
    timedelta(minutes=2),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(minutes=60),
)
THEN_EVERY = timedelta(hours=1)
KEEP_TRYING = timedelta(hours=24)
JITTER = 0.1  # the largest share of a delay added at random


def scheduled_delay(attempt: int) -> timedelta:
    """The retry schedule's delay after `attempt` failures, before jitter."""
    if attempt <= len(RETRY_SCHEDULE):
        return RETRY_SCHEDULE[max(attempt, 1) - 1]
    return THEN_EVERY


def retry_delay(attempt: int, retry_after: float | None = None, *, rng: random.Random | None = None) -> timedelta:
    """The wait before the next try after `attempt` failures: the scheduled delay plus up to JITTER of it, and
    never shorter than `retry_after` seconds."""
    scheduled = scheduled_delay(attempt)
    delay = scheduled + scheduled * JITTER * (rng or random).random()
    if retry_after is not None and retry_after > 0:
        return max(delay, timedelta(seconds=retry_after))
    return delay


def least_time_tried(attempt: int) -> timedelta:
    """The shortest time that can have passed between the first failure and failure number `attempt`: the sum of
    the scheduled delays between them (jitter and Retry-After only make it longer)."""
    return sum((scheduled_delay(earlier) for earlier in range(1, attempt)), timedelta(0))


def gives_up(attempt: int) -> bool:
    """Whether a transiently failing item stops being retried after this many failures: only once it has been
    failing for at least KEEP_TRYING. It is then marked failed and waits for a person (or the connection's
    recovery) to send it again."""
    return least_time_tried(attempt) >= KEEP_TRYING


# The failure at which a transiently failing item is given up (30: about 24 h 24 min after the first).
MAX_ATTEMPTS = next(attempt for attempt in range(1, 10_000) if gives_up(attempt))
