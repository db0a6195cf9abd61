"""When to try a failed provider call again.

Terms: *attempt* counts failures so far (1 after the first failure); *retry after* is the provider's own request
(a Retry-After header), which is always honoured. Between those, delays grow exponentially with "equal jitter"
(half fixed, half random) so that many connections failing together do not retry in lockstep.
"""

from __future__ import annotations

import random
from datetime import timedelta

MAX_ATTEMPTS = 6
BASE_DELAY = timedelta(seconds=2)
MAX_DELAY = timedelta(minutes=15)


def retry_delay(attempt: int, retry_after: float | None = None, *, rng: random.Random | None = None) -> timedelta:
    """The wait before the next try after `attempt` failures: between half and all of BASE_DELAY * 2**(attempt-1),
    capped at MAX_DELAY, and never shorter than `retry_after` seconds."""
    ceiling = min(BASE_DELAY * 2 ** min(max(attempt - 1, 0), 20), MAX_DELAY)  # the exponent is capped to stay finite
    jittered = ceiling / 2 + ceiling / 2 * (rng or random).random()
    if retry_after is not None and retry_after > 0:
        return max(jittered, timedelta(seconds=retry_after))
    return jittered


def gives_up(attempt: int) -> bool:
    """After this many failures the item is marked failed and waits for a person to retry it."""
    return attempt >= MAX_ATTEMPTS
